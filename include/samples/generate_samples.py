"""Generate the committed OCR samples (documents, ID cards, ruled tables, broken inputs) with ground truth.

Run once and commit the output; tests and benchmarks never run it (they need no CJK font)::

    python include/samples/generate_samples.py [--font PATH] [--out DIR]

Everything is seeded, so a rerun with the same font reproduces the same files. All people, addresses and ID
numbers are invented. Each image ``<kind>/<stem>.<ext>`` gets ``<kind>/<stem>.json`` beside it in the format
the ``fixture`` engine reads::

    {"kind": "document"|"idcard"|"table"|"broken",
     "lines": [{"text": "...", "box": [left, top, width, height]}],
     "idcard": {"side": "front"|"back", "fields": {"姓名": {"text": "...", "box": [l, t, w, h]}, ...}},
     "tables": [{"box": [...], "cells": [{"row_start", "row_end", "col_start", "col_end", "box", "text"}]}],
     "expect_error": 216201}

Rotated documents keep their line boxes in the UNROTATED frame and say ``"rotation": 90|180`` (degrees the
content was turned counter-clockwise, i.e. Baidu's ``direction`` 1 or 2).

``documents_pdf/`` holds multi-page PDFs assembled from the documents (CJK + Latin, a rotated page, a blank
page), with per-page truth: ``{"kind": "pdf", "page_count": N, "pages": [<a document's truth>, ...]}``.
``review/faded_01.jpg`` is a document with one faded line, read with a low confidence: the confidence gate's
sample (a line's truth may carry ``prob_average``/``prob_min``, which the fixture engine answers).

``--validation`` writes a second, held-out set to ``validation/`` (the engines are never tuned on it): another
seed, another font (WenQuanYi Zen Hei, Debian ``fonts-wqy-zenhei``; the tuned set uses Micro Hei), other
table line widths/colours/layouts, and scan degradations (blur, noise, JPEG q60, skew <= 2°). Its truth
says ``"degradations": [...]``; boxes of skewed images stay in the unskewed frame.

``invoices/`` and ``validation/invoices/`` (VAT invoices: photos, PDF and OFD e-invoices, ``"kind":
"invoice"`` with Baidu's ``words_result``) are drawn by ``invoice_samples.py``; ``--invoices-only`` redraws
just them.
"""

from __future__ import annotations

import argparse
import time
import io
import json
import random
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

HERE = Path(__file__).resolve().parent
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/wqy-microhei/wqy-microhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/System/Library/Fonts/PingFang.ttc",
    "C:/Windows/Fonts/msyh.ttc",
)
VALIDATION_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
)
SEED = 20240611
VALIDATION_SEED = 77031

BoxT = list[int]


@dataclass
class Canvas:
    """A page being drawn, collecting the ground-truth lines as they are written."""

    image: Image.Image
    font_path: str
    lines: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.draw = ImageDraw.Draw(self.image)

    def font(self, size: int) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(self.font_path, size)

    def text(self, xy: tuple[int, int], text: str, size: int, fill="black", record: bool = True) -> BoxT:
        font = self.font(size)
        self.draw.text(xy, text, font=font, fill=fill)
        left, top, right, bottom = self.draw.textbbox(xy, text, font=font)
        box = [left, top, right - left, bottom - top]
        if record:
            self.lines.append({"text": text, "box": box})
        return box


def find_font(explicit: str | None, candidates: tuple[str, ...] = FONT_CANDIDATES) -> str:
    for candidate in (explicit, *candidates):
        if candidate and Path(candidate).is_file():
            return candidate
    raise SystemExit("No CJK font found: install fonts-wqy-microhei or pass --font")


def write_sample(out: Path, kind_dir: str, stem: str, data: bytes, ext: str, truth: dict) -> None:
    folder = out / kind_dir
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}.{ext}").write_bytes(data)
    (folder / f"{stem}.json").write_text(
        json.dumps(truth, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )


def encode(image: Image.Image, fmt: str, colors: int | None = None) -> bytes:
    """JPEG q85 for documents; PNG (optionally palette-reduced, like many scanner drivers) to keep samples small."""
    buf = io.BytesIO()
    if fmt == "JPEG":
        image.convert("RGB").save(buf, "JPEG", quality=85)
    else:
        if colors:
            image = image.convert("RGB").quantize(colors, dither=Image.Dither.NONE)
        image.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def add_scan_noise(image: Image.Image, rng: random.Random, strength: float) -> Image.Image:
    """Paper tint, sensor noise and a slight blur: what a cheap scanner adds."""
    arr = np.asarray(image.convert("RGB"), dtype=np.float32)
    np_rng = np.random.default_rng(rng.randrange(2**32))
    arr = arr * np.array([0.97, 0.96, 0.93]) + np_rng.normal(0, strength, arr.shape)
    noisy = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    return noisy.filter(ImageFilter.GaussianBlur(0.4)) if strength > 4 else noisy


def degrade(image: Image.Image, rng: random.Random, kinds: tuple[str, ...], fill="white") -> Image.Image:
    """The validation set's scan faults: ``blur``, ``noise``, ``skew`` (<= 2°); ``jpeg`` is applied by encode."""
    if "skew" in kinds:
        angle = rng.choice([-1, 1]) * rng.uniform(0.8, 2.0)
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=fill)
    if "noise" in kinds:
        arr = np.asarray(image.convert("RGB"), dtype=np.float32)
        arr += np.random.default_rng(rng.randrange(2**32)).normal(0, 12, arr.shape)
        image = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))
    if "blur" in kinds:
        image = image.filter(ImageFilter.GaussianBlur(1.1))
    return image


def encode_degraded(
    image: Image.Image, kinds: tuple[str, ...], colors: int | None = None
) -> tuple[bytes, str]:
    """JPEG q60 for the ``jpeg`` fault; else a palette PNG when it stays small (no noise), or JPEG q80."""
    if "jpeg" not in kinds and colors and "noise" not in kinds:
        return encode(image, "PNG", colors=colors), "png"
    buf = io.BytesIO()
    image.convert("RGB").save(buf, "JPEG", quality=60 if "jpeg" in kinds else 80)
    return buf.getvalue(), "jpg"


# ---------------------------------------------------------------- documents

COMPANIES = ["上海明远科技有限公司", "杭州青禾贸易有限公司", "北京星辰数据服务有限公司", "深圳海纳电子有限公司",
             "成都锦程物流有限公司", "南京知行文化传媒有限公司"]  # fmt: skip
ITEMS = [("办公用纸 A4", "Office paper"), ("打印机墨盒", "Ink cartridge"), ("无线鼠标", "Wireless mouse"),
         ("会议服务费", "Meeting service"), ("技术咨询费", "Consulting fee"), ("快递运费", "Courier fee"),
         ("显示器支架", "Monitor stand"), ("软件维护", "Software maintenance")]  # fmt: skip
CITIES = ["上海市浦东新区张江路88号", "杭州市西湖区文三路100号", "北京市海淀区中关村大街27号",
          "深圳市南山区科技园南路15号", "成都市武侯区天府大道北段966号", "南京市鼓楼区中山北路200号"]  # fmt: skip


def invoice_lines(rng: random.Random, n: int) -> list[str]:
    seller, buyer = rng.sample(COMPANIES, 2)
    lines = [
        "增值税普通发票 VAT Invoice",
        f"发票号码 No. {rng.randrange(10**7, 10**8)}   开票日期 2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}",
        f"购买方 Buyer: {buyer}",
        f"销售方 Seller: {seller}",
    ]
    total = 0.0
    for cn, en in rng.sample(ITEMS, n):
        qty, price = rng.randint(1, 20), rng.randint(5, 900) + rng.choice([0, 0.5, 0.8])
        total += qty * price
        lines.append(f"{cn} {en}  x{qty}  单价 {price:.2f}  金额 {qty * price:.2f}")
    lines.append(f"价税合计 Total: ¥{total:,.2f}")
    lines.append(f"地址 Address: {rng.choice(CITIES)}")
    return lines


def notice_lines(rng: random.Random, n: int) -> list[str]:
    month, day = rng.randint(1, 12), rng.randint(1, 28)
    body = [
        "为保障办公环境安全，大楼将进行消防设施检查。",
        "Please keep the corridors clear during the inspection.",
        f"检查时间为{month}月{day}日上午9:00至11:30，届时电梯暂停使用。",
        "如有疑问请联系物业服务中心 Service Center.",
        f"联系电话 Tel: 021-{rng.randrange(10**7, 10**8)}",
        "各部门请提前做好数据备份和设备断电工作。",
        "Visitors must register at the front desk with a valid ID.",
        "停车场B区将于本周五起临时关闭，请改停A区。",
        f"本通知自2024年{month}月{day}日起生效。",
    ]
    return ["通知 Notice", *body[:n], f"{rng.choice(COMPANIES)} 行政部"]


def receipt_lines(rng: random.Random, n: int) -> list[str]:
    lines = [
        f"{rng.choice(['全家便利店', '罗森超市', '美宜佳', '华联超市'])} Store #{rng.randint(100, 999)}",
        f"收银员 Cashier: {rng.randint(1000, 9999)}  时间 2024-03-{rng.randint(10, 28)} {rng.randint(8, 21)}:{rng.randint(10, 59)}",
    ]
    total = 0.0
    goods = ["矿泉水 Water", "牛奶 Milk", "面包 Bread", "咖啡 Coffee", "苹果 Apple", "饼干 Biscuits",
             "酸奶 Yogurt", "纸巾 Tissue", "橙汁 Orange juice"]  # fmt: skip
    for name in rng.sample(goods, n):
        price = rng.randint(2, 40) + rng.choice([0.0, 0.5, 0.9])
        total += price
        lines.append(f"{name}  {price:.2f}")
    lines.append(f"合计 Total  {total:.2f}")
    lines.append(f"支付方式 Payment: {rng.choice(['微信支付 WeChat', '支付宝 Alipay', '现金 Cash'])}")
    lines.append("谢谢惠顾 Thank you!")
    return lines


def make_document(out: Path, font: str, rng: random.Random, index: int, kinds: tuple[str, ...] = ()) -> None:
    builder = [invoice_lines, notice_lines, receipt_lines][index % 3]
    texts = builder(rng, rng.randint(4, 6))
    width = rng.choice([820, 960, 1100, 1240, 1400])
    size = rng.randint(24, 32)
    gap = int(size * rng.uniform(0.9, 1.3))
    height = 90 + len(texts) * (size + gap) + 60
    longest = max(ImageFont.truetype(font, size + 6).getlength(t) for t in texts)
    width = max(width, int(longest) + 140)  # never let a line run off the page
    page = Canvas(Image.new("RGB", (width, height), "white"), font)
    y = 60
    for i, text in enumerate(texts):
        line_size = size + 6 if i == 0 else size
        page.text((60 + (rng.randint(0, 20) if i else 0), y), text, line_size)
        y += line_size + gap
    rotation = {10: 90, 11: 180}.get(index, 0)
    image = add_scan_noise(page.image, rng, strength=rng.choice([0.0, 3.0, 6.0]))
    if rotation:
        image = image.rotate(rotation, expand=True)  # PIL turns counter-clockwise
    truth: dict = {"kind": "document", "lines": page.lines}
    if rotation:
        truth["rotation"] = rotation
    if kinds:
        data, ext = encode_degraded(degrade(image, rng, kinds), kinds)
        truth["degradations"] = list(kinds)
        write_sample(out, "documents", f"doc_{index + 1:02d}", data, ext, truth)
        return
    write_sample(out, "documents", f"doc_{index + 1:02d}", encode(image, "JPEG"), "jpg", truth)


# ---------------------------------------------------------------- ID cards

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国志红文"
ETHNICITIES = ["汉", "汉", "汉", "回", "满", "壮", "苗", "蒙古"]
AUTHORITIES = ["杭州市公安局西湖分局", "上海市公安局浦东分局", "北京市公安局海淀分局", "成都市公安局武侯分局",
               "南京市公安局鼓楼分局"]  # fmt: skip
ADDRESSES = [("浙江省杭州市西湖区", "330106"), ("上海市浦东新区", "310115"), ("北京市海淀区", "110108"),
             ("四川省成都市武侯区", "510107"), ("江苏省南京市鼓楼区", "320106")]  # fmt: skip
STREETS = ["文三路", "世纪大道", "学院路", "人民南路", "中山北路", "解放东路", "建设大街"]
CARD_W, CARD_H = 856, 540  # 85.6 mm x 54 mm at 10 px/mm


def gb11643_check_digit(first17: str) -> str:
    """The ISO 7064 MOD 11-2 check character of a PRC resident ID number."""
    weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
    total = sum(int(d) * w for d, w in zip(first17, weights, strict=True))
    return "10X98765432"[total % 11]


def card_background(rng: random.Random) -> Image.Image:
    """A pale blue guilloche-like background, with rounded corners on a grey desk."""
    ys, xs = np.mgrid[0:CARD_H, 0:CARD_W].astype(np.float32)
    phase = rng.uniform(0, 6.28)
    wave = (np.sin(xs / 23.0 + np.cos(ys / 31.0) * 2 + phase) + 1) * 6
    base = np.stack([236 - wave, 242 - wave * 0.6, 246 - wave * 0.3], axis=-1)
    card = Image.fromarray(np.clip(base, 0, 255).astype(np.uint8))
    desk = Image.new("RGB", (CARD_W + 60, CARD_H + 60), (120, 120, 118))
    mask = Image.new("L", (CARD_W, CARD_H), 0)
    ImageDraw.Draw(mask).rounded_rectangle([0, 0, CARD_W - 1, CARD_H - 1], radius=34, fill=255)
    desk.paste(card, (30, 30), mask)
    return desk


def spaced(text: str, gap: str = " ") -> str:
    return gap.join(text)


def make_idcard_pair(
    out: Path,
    font: str,
    rng: random.Random,
    index: int,
    valid_number: bool,
    kinds: tuple[str, ...] = (),
    ethnicities: list[str] = ETHNICITIES,
) -> None:
    name = rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, rng.choice([1, 2])))
    sex = rng.choice(["男", "女"])
    ethnicity = rng.choice(ethnicities)
    year, month, day = rng.randint(1955, 2003), rng.randint(1, 12), rng.randint(1, 28)
    region, code = ADDRESSES[index % len(ADDRESSES)]
    address = f"{region}{rng.choice(STREETS)}{rng.randint(1, 399)}号{rng.randint(1, 30)}幢{rng.randint(101, 1802)}室"
    seq = rng.randint(10, 99) * 10 + (
        rng.choice([1, 3, 5, 7, 9]) if sex == "男" else rng.choice([0, 2, 4, 6, 8])
    )
    first17 = f"{code}{year}{month:02d}{day:02d}{seq:03d}"
    check = gb11643_check_digit(first17)
    if not valid_number:
        check = "0" if check != "0" else "1"
    number = first17 + check

    ox, oy = 30, 30  # card offset on the desk
    label_color, value_color = (60, 110, 170), (20, 20, 20)
    front = Canvas(card_background(rng), font)
    fields: dict[str, dict] = {}

    def labelled(
        label: str, value: str, x: int, y: int, value_x: int, size: int = 26, key: str | None = None
    ):
        front.text((ox + x, oy + y), spaced(label) if len(label) == 2 else label, 22, fill=label_color)
        box = front.text((ox + value_x, oy + y - 3), value, size, fill=value_color)
        if key:
            fields[key] = {"text": value, "box": box}
        return box

    labelled("姓名", name, 70, 70, 170, size=30, key="姓名")
    labelled("性别", sex, 70, 140, 170, key="性别")
    labelled("民族", ethnicity, 270, 140, 370, key="民族")
    front.text((ox + 70, oy + 205), spaced("出生"), 22, fill=label_color)
    birth_box = front.text((ox + 170, oy + 202), f"{year} 年 {month} 月 {day} 日", 26, fill=value_color)
    fields["出生"] = {"text": f"{year}{month:02d}{day:02d}", "box": birth_box}
    front.text((ox + 70, oy + 270), spaced("住址"), 22, fill=label_color)
    wrap = 11
    addr_boxes = []
    for i in range(0, len(address), wrap):
        addr_boxes.append(
            front.text((ox + 170, oy + 267 + (i // wrap) * 40), address[i : i + wrap], 26, fill=value_color)
        )
    left = min(b[0] for b in addr_boxes)
    top = min(b[1] for b in addr_boxes)
    right = max(b[0] + b[2] for b in addr_boxes)
    bottom = max(b[1] + b[3] for b in addr_boxes)
    fields["住址"] = {"text": address, "box": [left, top, right - left, bottom - top]}
    front.text((ox + 70, oy + 445), "公民身份号码", 22, fill=label_color)
    number_box = front.text(
        (ox + 270, oy + 440), spaced(number, "\u2009"), 30, fill=value_color, record=False
    )
    front.lines.append({"text": number, "box": number_box})
    fields["公民身份号码"] = {"text": number, "box": number_box}
    # Photo placeholder: a grey rectangle, never a real face.
    front.draw.rectangle(
        [ox + 600, oy + 80, ox + 800, oy + 330], fill=(200, 204, 210), outline=(170, 175, 182)
    )
    front_img = add_scan_noise(front.image, rng, strength=0.8)
    truth = {"kind": "idcard", "lines": front.lines, "idcard": {"side": "front", "fields": fields}}
    write_card(out, f"idcard_{index + 1:02d}_front", front_img, truth, rng, kinds)

    back = Canvas(card_background(rng), font)
    back.draw.ellipse(
        [ox + 60, oy + 50, ox + 190, oy + 180], outline=(200, 40, 40), width=6
    )  # emblem placeholder
    back.text((ox + 260, oy + 70), spaced("中华人民共和国"), 40)
    back.text((ox + 300, oy + 150), spaced("居民身份证", "  "), 54)
    authority = rng.choice(AUTHORITIES)
    issue_year = rng.randint(2008, 2022)
    issue = f"{issue_year}.{rng.randint(1, 12):02d}.{rng.randint(1, 28):02d}"
    expiry = "长期" if index % 3 == 2 else f"{issue_year + rng.choice([10, 20])}{issue[4:]}"
    back.text((ox + 150, oy + 380), "签发机关", 24, fill=label_color)
    authority_box = back.text((ox + 290, oy + 376), authority, 28)
    back.text((ox + 150, oy + 445), "有效期限", 24, fill=label_color)
    font28 = back.font(28)
    issue_bbox = back.draw.textbbox((ox + 290, oy + 441), issue, font=font28)
    issue_box = [issue_bbox[0], issue_bbox[1], issue_bbox[2] - issue_bbox[0], issue_bbox[3] - issue_bbox[1]]
    validity_box = back.text((ox + 290, oy + 441), f"{issue}-{expiry}", 28)
    expiry_x = ox + 290 + int(back.draw.textlength(f"{issue}-", font=font28))
    expiry_bbox = back.draw.textbbox((expiry_x, oy + 441), expiry, font=font28)
    back_fields = {
        "签发机关": {"text": authority, "box": authority_box},
        "签发日期": {"text": issue.replace(".", ""), "box": issue_box},
        "失效日期": {
            "text": expiry.replace(".", ""),
            "box": [expiry_bbox[0], validity_box[1], expiry_bbox[2] - expiry_bbox[0], validity_box[3]],
        },
    }
    back_img = add_scan_noise(back.image, rng, strength=0.8)
    truth = {"kind": "idcard", "lines": back.lines, "idcard": {"side": "back", "fields": back_fields}}
    write_card(out, f"idcard_{index + 1:02d}_back", back_img, truth, rng, kinds)


def write_card(
    out: Path, stem: str, image: Image.Image, truth: dict, rng: random.Random, kinds: tuple[str, ...]
) -> None:
    if not kinds:
        write_sample(out, "idcards", stem, encode(image, "PNG", colors=32), "png", truth)
        return
    data, ext = encode_degraded(degrade(image, rng, kinds, fill=(120, 120, 118)), kinds, colors=64)
    write_sample(out, "idcards", stem, data, ext, {**truth, "degradations": list(kinds)})


# ---------------------------------------------------------------- tables


@dataclass
class TableSpec:
    title: str
    footer: str
    col_widths: list[int]
    rows: list[list[str | None]]  # None = covered by a merged cell
    merges: list[tuple[int, int, int, int]] = field(
        default_factory=list
    )  # row_start, row_end, col_start, col_end


def table_specs(rng: random.Random) -> list[TableSpec]:
    def money() -> str:
        return f"{rng.randint(10, 9999)}.{rng.randint(0, 99):02d}"

    goods = ["打印纸 Paper", "墨盒 Ink", "鼠标 Mouse", "键盘 Keyboard", "显示器 Monitor", "文件夹 Folder"]
    specs = [
        TableSpec(
            "销售清单 Sales List",
            "制表人 Prepared by: 王芳",
            [260, 120, 160, 180],
            [["品名 Item", "数量 Qty", "单价 Price", "金额 Amount"]]
            + [[g, str(rng.randint(1, 50)), money(), money()] for g in rng.sample(goods, 4)],
        ),
        TableSpec(
            "2024年季度营收 Quarterly Revenue",
            "单位 Unit: 万元",
            [200, 150, 150, 150, 150],
            [["地区 Region", "Q1", "Q2", "Q3", "Q4"]]
            + [
                [r, *(str(rng.randint(100, 999)) for _ in range(4))]
                for r in ["华东 East", "华南 South", "华北 North"]
            ],
        ),
        TableSpec(
            "员工信息表 Staff",
            "注 Note: 数据截至2024年6月",
            [140, 150, 220, 200],
            [["工号 ID", "姓名 Name", "部门 Dept", "入职日期 Joined"]]
            + [
                [str(rng.randint(10000, 99999)), n, d, f"20{rng.randint(10, 23)}-{rng.randint(1, 12):02d}-01"]
                for n, d in [("李强", "研发部 R&D"), ("陈静", "财务部 Finance"), ("赵磊", "市场部 Sales")]
            ],
        ),
        TableSpec(
            "采购汇总 Purchase Summary",
            "审核 Approved: 张伟",
            [220, 140, 140, 180],
            [
                ["类别 Category", "数量 Quantity", None, "合计 Total"],
                [None, "计划 Plan", "实际 Actual", None],
                ["办公用品 Office", str(rng.randint(10, 99)), str(rng.randint(10, 99)), money()],
                ["电子设备 Devices", str(rng.randint(10, 99)), str(rng.randint(10, 99)), money()],
                ["服务 Services", str(rng.randint(1, 9)), str(rng.randint(1, 9)), money()],
            ],
            merges=[(0, 2, 0, 1), (0, 1, 1, 3), (0, 2, 3, 4)],
        ),
        TableSpec(
            "课程安排 Timetable",
            "教务处 Academic Office",
            [160, 200, 200, 200],
            [
                ["时间 Time", "周一 Mon", "周二 Tue", "周三 Wed"],
                ["上午 AM", "数学 Math", "英语 English", "物理 Physics"],
                [None, "化学 Chemistry", "语文 Chinese", "历史 History"],
                ["下午 PM", "体育 Sports", None, "音乐 Music"],
            ],
            merges=[(1, 3, 0, 1), (3, 4, 1, 3)],
        ),
        TableSpec(
            "费用报销单 Expense Claim",
            "报销人签字 Signature: 刘洋",
            [200, 260, 180],
            [["日期 Date", "项目 Item", "金额 Amount"]]
            + [
                [f"2024-0{rng.randint(1, 9)}-{rng.randint(10, 28)}", i, money()]
                for i in ["交通 Taxi", "住宿 Hotel", "餐饮 Meals"]
            ]
            + [["合计 Total", None, money()]],
            merges=[(4, 5, 0, 2)],
        ),
    ]
    return specs


@dataclass(frozen=True)
class TableStyle:
    """How a table is ruled and laid out; the default is the tuned set's look."""

    line_width: int = 2
    line_color: tuple[int, int, int] = (40, 40, 40)
    double: bool = False  # a second rule outside the border and under the header row
    row_h: int = 56
    size: int = 22
    margin: int = 60  # left margin; also the top margin when there is no title
    title: bool = True
    footer: bool = True
    kinds: tuple[str, ...] = ()


def extra_table_specs(rng: random.Random) -> list[TableSpec]:
    """Two layouts the tuned set does not have: a wide six-column table and a key/value form."""
    names = ["螺丝 Screw", "垫片 Washer", "弹簧 Spring", "轴承 Bearing", "齿轮 Gear", "皮带 Belt"]
    return [
        TableSpec(
            "库存盘点 Stock Count",
            "仓库 Warehouse B",
            [200, 110, 110, 110, 110, 130],
            [["物料 Part", "期初", "入库 In", "出库 Out", "期末", "库位 Bin"]]
            + [
                [n, *(str(rng.randint(0, 500)) for _ in range(4)), f"B-{rng.randint(1, 40):02d}"]
                for n in rng.sample(names, 4)
            ],
        ),
        TableSpec(
            "访客登记 Visitor Form",
            "盒装礼品请寄存 Gift boxes at desk",
            [220, 380],
            [
                ["访客信息 Visitor Details", None],
                ["姓名 Name", rng.choice(["周杰", "吴敏", "郭磊", "何静"])],
                ["单位 Company", rng.choice(COMPANIES)],
                ["来访事由 Purpose", rng.choice(["设备检修 Repair", "商务洽谈 Meeting", "送货 Delivery"])],
                ["到访时间 Arrival", f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d} 09:30"],
            ],
            merges=[(0, 1, 0, 2)],
        ),
    ]


VALIDATION_TABLE_STYLES = [
    TableStyle(line_width=1, title=False, footer=False, margin=4, kinds=("jpeg",)),
    TableStyle(line_width=3, line_color=(0, 0, 0), title=False, margin=2, row_h=48, kinds=("blur",)),
    TableStyle(line_width=2, line_color=(110, 110, 110), double=True, kinds=("noise",)),
    TableStyle(line_width=4, line_color=(0, 0, 0), row_h=64, kinds=("skew",)),
    TableStyle(line_width=2, line_color=(150, 150, 150), title=False, margin=0, kinds=("jpeg", "noise")),
    TableStyle(line_width=1, line_color=(120, 120, 120), row_h=80, kinds=("skew", "jpeg")),
    TableStyle(line_width=3, line_color=(0, 0, 0), row_h=38, size=20, title=False, kinds=("blur", "jpeg")),
    TableStyle(line_width=2, double=True, kinds=("skew", "noise")),
]
# Faint and coloured rules (issue 22): light grey, and the brown, green, red-brown and light blue of invoice
# grids, thin and thick. Drawn after the tables above from a seed of their own, so those stay byte-identical.
FAINT_SEED_OFFSET = 22
BROWN, GREEN, RED_BROWN, LIGHT_BLUE = (139, 69, 19), (34, 120, 60), (165, 42, 42), (173, 216, 230)
#: (spec index in table_specs + extra_table_specs, style); the first is the plain 4 x 4 table with a title
#: that came back as one merged cell.
VALIDATION_FAINT_TABLES = [
    (2, TableStyle(line_width=1, line_color=(210, 210, 210))),
    (0, TableStyle(line_width=1, line_color=(220, 220, 220), kinds=("jpeg",))),
    (1, TableStyle(line_width=1, line_color=(200, 200, 200), title=False, kinds=("blur",))),
    (6, TableStyle(line_width=1, line_color=BROWN, kinds=("jpeg",))),
    (3, TableStyle(line_width=3, line_color=BROWN, kinds=("skew",))),
    (5, TableStyle(line_width=1, line_color=GREEN, kinds=("blur", "jpeg"))),
    (7, TableStyle(line_width=2, line_color=(0, 128, 0), double=True, kinds=("noise",))),
    (2, TableStyle(line_width=1, line_color=RED_BROWN, kinds=("skew", "jpeg"))),
    (4, TableStyle(line_width=1, line_color=LIGHT_BLUE)),
    (0, TableStyle(line_width=3, line_color=(135, 206, 235), row_h=48, kinds=("jpeg",))),
    (1, TableStyle(line_width=1, line_color=LIGHT_BLUE, kinds=("blur", "jpeg"))),
    (4, TableStyle(line_width=1, line_color=(210, 180, 140), kinds=("jpeg",))),
    (6, TableStyle(line_width=1, line_color=(144, 200, 144), kinds=("noise",))),
    (3, TableStyle(line_width=1, line_color=(220, 220, 220), kinds=("skew", "jpeg"))),
]
#: The tuned set's faint and coloured tables (other specs, shades and widths than the validation set's).
TUNED_FAINT_TABLES = [
    (0, TableStyle(line_width=1, line_color=(215, 215, 215))),
    (2, TableStyle(line_width=2, line_color=(160, 82, 45))),
    (3, TableStyle(line_width=1, line_color=(46, 139, 87))),
    (5, TableStyle(line_width=2, line_color=(178, 34, 34))),
    (1, TableStyle(line_width=1, line_color=(150, 190, 230))),
    (2, TableStyle(line_width=1, line_color=(226, 226, 226))),  # the engine tests' light grey 4 x 4 + title
    (3, TableStyle(line_width=1, line_color=(225, 185, 150), kinds=("blur",))),  # ... and pale brown grid
]


def make_faint_tables(out: Path, font: str, seed: int, styles: list, first_index: int) -> None:
    """``styles`` drawn as ``table_<first_index + 1>``..., with their own rng (``seed``)."""
    rng = random.Random(seed + FAINT_SEED_OFFSET)
    specs = table_specs(rng) + extra_table_specs(rng)
    for i, (spec_index, style) in enumerate(styles):
        make_table(out, font, rng, first_index + i, specs[spec_index], style)


def make_table(
    out: Path, font: str, rng: random.Random, index: int, spec: TableSpec, style: TableStyle = TableStyle()
) -> None:
    row_h, size, margin = style.row_h, style.size, style.margin
    lw = style.line_width
    width = max(margin, lw) * 2 + sum(spec.col_widths)  # the right rule stays on the page
    n_rows = len(spec.rows)
    top_space = margin + 40 if style.title else margin
    height = top_space + n_rows * row_h + (90 if style.footer else max(margin, 20)) + 20 * style.title
    page = Canvas(Image.new("RGB", (max(width, 700), height), "white"), font)
    if style.title:
        page.text((margin, margin - 20), spec.title, 28)
    table_left, table_top = max(margin, (lw + 1) // 2), max(top_space, (lw + 1) // 2)
    xs = [table_left]
    for w in spec.col_widths:
        xs.append(xs[-1] + w)
    ys = [table_top + r * row_h for r in range(n_rows + 1)]
    spans = {(m[0], m[2]): m for m in spec.merges}
    cells = []
    cell_lines = []
    for r, row in enumerate(spec.rows):
        for c, text in enumerate(row):
            if text is None:
                continue
            r0, r1, c0, c1 = spans.get((r, c), (r, r + 1, c, c + 1))
            box = [xs[c0], ys[r0], xs[c1] - xs[c0], ys[r1] - ys[r0]]
            cells.append(
                {"row_start": r0, "row_end": r1, "col_start": c0, "col_end": c1, "box": box, "text": text}
            )
            font_obj = page.font(size)
            tw = page.draw.textlength(text, font=font_obj)
            tx = box[0] + 12 if c0 == 0 else int(box[0] + (box[2] - tw) / 2)
            ty = box[1] + (box[3] - size) // 2 - 2
            cell_lines.append((ty, tx, text))
    # Draw ruled lines, leaving gaps inside merged cells.
    line_color = style.line_color
    covered = [[None] * len(spec.col_widths) for _ in range(n_rows)]
    for i, cell in enumerate(cells):
        for r in range(cell["row_start"], cell["row_end"]):
            for c in range(cell["col_start"], cell["col_end"]):
                covered[r][c] = i
    for r in range(n_rows + 1):
        for c in range(len(spec.col_widths)):
            if 0 < r < n_rows and covered[r - 1][c] == covered[r][c]:
                continue
            page.draw.line([(xs[c], ys[r]), (xs[c + 1], ys[r])], fill=line_color, width=lw)
    for c in range(len(spec.col_widths) + 1):
        for r in range(n_rows):
            if 0 < c < len(spec.col_widths) and covered[r][c - 1] == covered[r][c]:
                continue
            page.draw.line([(xs[c], ys[r]), (xs[c], ys[r + 1])], fill=line_color, width=lw)
    if style.double:  # accounting-style double rules: around the table and under the header row
        gap = lw + 3
        page.draw.rectangle(
            [xs[0] - gap, ys[0] - gap, xs[-1] + gap, ys[-1] + gap], outline=line_color, width=lw
        )
        page.draw.line([(xs[0], ys[1] + gap), (xs[-1], ys[1] + gap)], fill=line_color, width=lw)
    for ty, tx, text in sorted(cell_lines):
        page.text((tx, ty), text, size)
    if style.footer:
        page.text((margin, ys[-1] + 30), spec.footer, 22)
    table = {"box": [xs[0], ys[0], xs[-1] - xs[0], ys[-1] - ys[0]], "cells": cells}
    image = add_scan_noise(page.image, rng, strength=0.0).filter(ImageFilter.GaussianBlur(0.5))
    truth: dict = {"kind": "table", "lines": page.lines, "tables": [table]}
    if not style.kinds:
        write_sample(out, "tables", f"table_{index + 1:02d}", encode(image, "PNG", colors=32), "png", truth)
        return
    data, ext = encode_degraded(degrade(image, rng, style.kinds), style.kinds, colors=64)
    truth["degradations"] = list(style.kinds)
    write_sample(out, "tables", f"table_{index + 1:02d}", data, ext, truth)


# ---------------------------------------------------------------- broken inputs


def png_header_only() -> bytes:
    """A PNG signature and a valid IHDR chunk, but no image data: decoders read the size, then fail."""
    ihdr = (64).to_bytes(4, "big") + (64).to_bytes(4, "big") + bytes([8, 2, 0, 0, 0])
    chunk = len(ihdr).to_bytes(4, "big") + b"IHDR" + ihdr + zlib.crc32(b"IHDR" + ihdr).to_bytes(4, "big")
    return b"\x89PNG\r\n\x1a\n" + chunk


def make_broken(out: Path, rng: random.Random) -> None:
    samples = {
        ("truncated", "png"): (
            encode(add_scan_noise(Image.new("RGB", (400, 300), "white"), rng, 8), "PNG")[:600],
            216201,
        ),
        ("random_bytes", "jpg"): (rng.randbytes(2048), 216201),
        ("tiny_10x10", "png"): (encode(Image.new("RGB", (10, 10), "white"), "PNG"), 216202),
        ("empty", "jpg"): (b"", 216200),
        ("wide_5000x200", "png"): (encode(Image.new("L", (5000, 200), 255), "PNG"), 216202),
        ("header_only", "png"): (png_header_only(), 216201),
    }
    for (stem, ext), (data, code) in samples.items():
        write_sample(out, "broken", stem, data, ext, {"kind": "broken", "expect_error": code})


VALIDATION_ETHNICITIES = ["汉", "汉", "回", "维吾尔", "土家", "朝鲜", "哈萨克", "彝", "藏", "布依"]
DOC_FAULTS = [("blur",), ("noise",), ("jpeg",), ("skew",), ("skew", "jpeg"), ("blur", "noise")]
CARD_FAULTS = [("jpeg",), ("skew",), ("blur", "jpeg"), ("noise", "skew")]


def make_validation_set(out: Path, font: str) -> None:
    """6 documents, 4 ID card pairs and 8 tables with scan faults, from their own seed and font; then the
    faint and coloured tables (:data:`VALIDATION_FAINT_TABLES`)."""
    rng = random.Random(VALIDATION_SEED)
    for i, kinds in enumerate(DOC_FAULTS):
        make_document(out, font, rng, i, kinds)
    for i, kinds in enumerate(CARD_FAULTS):
        make_idcard_pair(
            out, font, rng, i, valid_number=True, kinds=kinds, ethnicities=VALIDATION_ETHNICITIES
        )
    specs = table_specs(rng) + extra_table_specs(rng)
    order = [0, 1, 6, 3, 4, 5, 7, 2]  # which spec each validation style draws
    for i, style in enumerate(VALIDATION_TABLE_STYLES):
        make_table(out, font, rng, i, specs[order[i]], style)
    make_faint_tables(out, font, VALIDATION_SEED, VALIDATION_FAINT_TABLES, len(VALIDATION_TABLE_STYLES))


# Multi-page PDFs assembled from the document samples: (stem, pages), a page being a document stem or None
# (a blank page). doc_11 and doc_12 are rotated scans.
PDF_DATE = time.gmtime(1704067200)  # 2024-01-01: PdfParser takes a struct_time
PDF_LAYOUTS = (("pdf_01", ("doc_01", "doc_11", None, "doc_02")), ("pdf_02", ("doc_03", "doc_04", "doc_12")))


def make_pdfs(out: Path) -> None:
    """``documents_pdf/<stem>.pdf``: scanned-looking multi-page PDFs (one image per page at 72 dpi, so a page
    renders back to its image's size) with ``{"kind": "pdf", "page_count", "pages": [<page truth>]}``, each
    page's truth being its document's (``lines`` []: the blank page)."""
    for stem, layout in PDF_LAYOUTS:
        images, pages = [], []
        for source in layout:
            if source is None:
                size = images[0].size if images else (800, 1000)
                images.append(Image.new("RGB", size, "white"))
                pages.append({"kind": "document", "lines": [], "source": None})
                continue
            image_path = out / "documents" / f"{source}.jpg"
            truth = json.loads(image_path.with_suffix(".json").read_text(encoding="utf-8"))
            with Image.open(image_path) as image:
                images.append(image.convert("RGB"))
            pages.append({**truth, "source": source})
        buf = io.BytesIO()
        images[0].save(
            buf,
            "PDF",
            save_all=True,
            append_images=images[1:],
            resolution=72.0,
            quality=90,
            creationDate=PDF_DATE,
            modDate=PDF_DATE,  # fixed: a rerun writes the same bytes
        )
        write_sample(
            out,
            "documents_pdf",
            stem,
            buf.getvalue(),
            "pdf",
            {"kind": "pdf", "page_count": len(pages), "pages": pages},
        )


# review/faded_01: doc_05 with one line faded, blurred and speckled (a printer running out of ink), so that the
# real engine reads it with a low confidence (0.86 measured, the clean samples' lowest line is 0.92) and
# misreads it: the sample the confidence gate sends to review. Its truth is doc_05's, the faded line carrying
# that measured confidence so the fixture engine answers the same.
FADED = {"source": "doc_05", "line": 3, "fade": 0.6, "blur": 2.0, "noise": 25.0, "quality": 60, "prob": 0.86}


def make_faded(out: Path) -> None:
    """``review/faded_01.jpg``: derived from a tuned document (no font needed), like the PDFs."""
    source = out / "documents" / f"{FADED['source']}.jpg"
    truth = json.loads(source.with_suffix(".json").read_text(encoding="utf-8"))
    line = truth["lines"][FADED["line"]]
    left, top, width, height = line["box"]
    box = (left - 6, top - 6, left + width + 6, top + height + 6)
    with Image.open(source) as image:
        image = image.convert("RGB")
    region = np.asarray(image.crop(box).filter(ImageFilter.GaussianBlur(FADED["blur"])), dtype=np.float32)
    region = 255 - (255 - region) * FADED["fade"]  # the ink fades toward the paper
    region += np.random.default_rng(7).normal(0, FADED["noise"], region.shape)
    image.paste(Image.fromarray(np.clip(region, 0, 255).astype(np.uint8)), box[:2])
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=FADED["quality"])
    line["prob_average"] = FADED["prob"]
    line["prob_min"] = round(FADED["prob"] - 0.3, 2)
    truth = {**truth, "source": FADED["source"], "degradations": ["faded line"]}
    write_sample(out, "review", "faded_01", buf.getvalue(), "jpg", truth)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--font", help="a TrueType/OpenType font with CJK glyphs")
    parser.add_argument("--out", type=Path, default=HERE)
    parser.add_argument("--validation", action="store_true", help="write the held-out set (see above)")
    parser.add_argument(
        "--pdfs-only",
        action="store_true",
        help="only (re)assemble documents_pdf/ and review/ from documents/",
    )
    parser.add_argument(
        "--invoices-only", action="store_true", help="only (re)draw invoices/ and validation/invoices/"
    )
    args = parser.parse_args()
    # The VAT invoices have their own module and fonts (issue 22); imported here, as it imports this one.
    from invoice_samples import make_invoices, make_validation_invoices

    if args.invoices_only:
        make_invoices(args.out)
        make_validation_invoices(args.out)
        return
    if args.pdfs_only:
        make_pdfs(args.out)
        make_faded(args.out)
        return
    if args.validation:
        make_validation_set(args.out / "validation", find_font(args.font, VALIDATION_FONTS))
        make_validation_invoices(args.out)
        return
    font = find_font(args.font)
    rng = random.Random(SEED)
    for i in range(12):
        make_document(args.out, font, rng, i)
    for i in range(5):
        make_idcard_pair(args.out, font, rng, i, valid_number=i != 3)
    for i, spec in enumerate(table_specs(rng)):
        make_table(args.out, font, rng, i, spec)
    make_faint_tables(args.out, font, SEED, TUNED_FAINT_TABLES, i + 1)
    make_broken(args.out, rng)
    make_pdfs(args.out)
    make_faded(args.out)
    make_invoices(args.out)


if __name__ == "__main__":
    main()
