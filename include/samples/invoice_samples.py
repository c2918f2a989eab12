"""Draw the VAT invoice samples (``invoices/`` and ``validation/invoices/``) with Baidu-shaped ground truth.

Called from ``generate_samples.py``'s main. Two layouts as issued in China: the classic one (code and
8-digit number top right, buyer block, item grid, 价税合计, seller block) and the 数电票 one (20-digit number,
buyer and seller side by side), with coloured rules (brown, green, red-brown), a red seal over the seller,
photo-like faults (paper tint, noise, rotation <= 2°, JPEG) and clean PDF e-invoices (one raster page per
invoice at 72 dpi, so a page renders back to its image's size). Truth, beside each file::

    {"kind": "invoice", "layout": "classic"|"digital", "lines": [{text, box}],
     "words_result": {<Baidu's vat_invoice words_result for what is printed>}, "demonstrates": "...",
     "degradations": [...]}

and for a PDF ``{"kind": "pdf", "page_count": N, "pages": [<invoice truth>, ...]}`` (an OFD e-invoice:
``"kind": "ofd"``, its text layer written by ``ofd_writer`` from the page's lines). Fields not printed
(MachineCode, Password, ...) are absent from the truth; the server answers them ``""``.
"""

from __future__ import annotations

import io
import random
from pathlib import Path

import numpy as np
from generate_samples import PDF_DATE, Canvas, add_scan_noise, degrade, gb11643_check_digit, write_sample
from invoice_data import Invoice, make_invoice, money
from ofd_writer import write_ofd
from PIL import Image, ImageChops

TUNED_FONTS = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc", "/usr/share/fonts/truetype/arphic/uming.ttc")
VALIDATION_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/truetype/arphic/ukai.ttc",
)
RULE_COLOURS = {"brown": (150, 95, 55), "green": (55, 125, 85), "red-brown": (165, 70, 50)}
INVOICE_SEED, VALIDATION_INVOICE_SEED = 6022, 91822
WIDTH = 1400
SEAL_RED = (225, 45, 45)
TEXT = (25, 25, 25)


def _label_colour(rule: tuple[int, int, int]) -> tuple[int, ...]:
    return tuple(int(c * 0.7) for c in rule)


def _vertical(page: Canvas, text: str, x: int, y0: int, y1: int, size: int, fill) -> None:
    """A label printed one character per line (购买方, 密码区), centred in ``y0..y1``; not recorded."""
    step = (y1 - y0) / len(text)
    for i, char in enumerate(text):
        page.text((x, int(y0 + i * step + (step - size) / 2)), char, size, fill=fill, record=False)


def _right(page: Canvas, right: int, y: int, text: str, size: int) -> None:
    if text:
        page.text((right - int(page.draw.textlength(text, font=page.font(size))), y), text, size, fill=TEXT)


def _centre(page: Canvas, left: int, right: int, y: int, text: str, size: int, fill=TEXT) -> None:
    if text:
        width = page.draw.textlength(text, font=page.font(size))
        page.text((int((left + right - width) / 2), y), text, size, fill=fill)


def _labelled(page: Canvas, x: int, y: int, label: str, value: str, size: int, label_fill) -> None:
    box = page.text((x, y), label, size, fill=label_fill)
    if value:
        page.text((box[0] + box[2] + 4, y), value, size, fill=TEXT)


def _items(page: Canvas, inv: Invoice, xs: list[int], y: int, step: int, size: int) -> None:
    """One row per item: name left, spec/unit/rate centred, numbers right-aligned in their columns."""
    for item in inv.items:
        page.text((xs[0] + 8, y), item.name, size, fill=TEXT)
        _centre(page, xs[1], xs[2], y, item.spec, size)
        _centre(page, xs[2], xs[3], y, item.unit, size)
        _right(page, xs[4] - 8, y, item.quantity, size)
        _right(page, xs[5] - 8, y, item.price, size)
        _right(page, xs[6] - 8, y, money(item.amount), size)
        _centre(page, xs[6], xs[7], y, f"{item.rate}%", size)
        _right(page, xs[8] - 8, y, money(item.tax), size)
        y += step


def _seal(image: Image.Image, font: str, inv: Invoice, centre: tuple[int, int]) -> Image.Image:
    """The seller's red oval 发票专用章, multiplied over the page (black print stays black under it)."""
    seal = Canvas(Image.new("RGB", image.size, "white"), font)
    cx, cy = centre
    seal.draw.ellipse([cx - 105, cy - 68, cx + 105, cy + 68], outline=SEAL_RED, width=5)
    _centre(seal, cx - 105, cx + 105, cy - 48, inv.seller.name[:12], 15, fill=SEAL_RED)
    _centre(seal, cx - 105, cx + 105, cy - 10, inv.seller.tax_id, 16, fill=SEAL_RED)
    _centre(seal, cx - 105, cx + 105, cy + 22, "发票专用章", 20, fill=SEAL_RED)
    return ImageChops.multiply(image, seal.image)


def draw_classic(inv: Invoice, font: str, rule: tuple[int, int, int]) -> tuple[Image.Image, list[dict]]:
    page = Canvas(Image.new("RGB", (WIDTH, 810), "white"), font)
    label, size = _label_colour(rule), 19
    draw = page.draw
    _centre(page, 0, WIDTH, 28, inv.province + inv.title, 38, fill=rule)
    draw.line([(480, 82), (920, 82)], fill=rule, width=2)
    draw.line([(480, 87), (920, 87)], fill=rule, width=2)
    _labelled(page, 985, 40, "发票代码：", inv.code, 20, label)
    _labelled(page, 985, 72, "发票号码：", inv.number, 20, label)
    _labelled(page, 985, 104, "开票日期：", inv.date, 20, label)
    if inv.check_code:
        grouped = " ".join(inv.check_code[i : i + 5] for i in range(0, 20, 5))
        _labelled(page, 985, 136, "校 验 码：", grouped, 20, label)
    x0, x1 = 50, 1350
    y_top, y_buyer, y_sum, y_words, y_bottom = 175, 305, 585, 627, 757
    xs = [50, 390, 530, 610, 700, 850, 1030, 1110, 1350]
    draw.rectangle([x0, y_top, x1, y_bottom], outline=rule, width=2)
    for y in (y_buyer, y_sum, y_words):
        draw.line([(x0, y), (x1, y)], fill=rule, width=2)
    for ya, yb, who, side in (
        (y_top, y_buyer, inv.buyer, "购买方"),
        (y_words, y_bottom, inv.seller, "销售方"),
    ):
        draw.line([(90, ya), (90, yb)], fill=rule, width=2)
        draw.line([(820, ya), (820, yb)], fill=rule, width=2)
        draw.line([(860, ya), (860, yb)], fill=rule, width=2)
        _vertical(page, side, 60, ya, yb, 22, label)
        rows = [("名　　称：", who.name), ("纳税人识别号：", who.tax_id), ("地 址、电 话：", who.address),
                ("开户行及账号：", who.bank)]  # fmt: skip
        for i, (text, value) in enumerate(rows):
            _labelled(page, 100, ya + 10 + i * 29, text, value, size, label)
    _vertical(page, "密码区", 830, y_top, y_buyer, 20, label)
    for i, cipher in enumerate(inv.cipher):
        page.text((875, y_top + 10 + i * 29), cipher, size, fill=TEXT, record=False)
    _vertical(page, "备注", 830, y_words, y_bottom, 20, label)
    if inv.remarks:
        page.text((875, y_words + 20), inv.remarks, size, fill=TEXT)
    for x in xs[1:-1]:
        draw.line([(x, y_buyer), (x, y_sum)], fill=rule, width=2)
    heads = ["货物或应税劳务、服务名称", "规格型号", "单位", "数量", "单价", "金额", "税率", "税额"]
    for i, head in enumerate(heads):
        _centre(page, xs[i], xs[i + 1], 315, head, size, fill=label)
    _items(page, inv, xs, 353, 36, size)
    _centre(page, xs[0], xs[1], 552, "合　　计", size, fill=label)
    _right(page, xs[6] - 8, 552, f"¥{money(inv.total_amount)}", size)
    _right(page, xs[8] - 8, 552, f"¥{money(inv.total_tax)}", size)
    page.text((62, 596), "价税合计（大写）", size, fill=label)
    page.text((400, 596), f"⊗{inv.amount_in_words}", size, fill=TEXT)
    _labelled(page, 1000, 596, "（小写）", f"¥{money(inv.amount_in_figures)}", size, label)
    for x, text, value in (
        (60, "收款人：", inv.payee),
        (400, "复核：", inv.checker),
        (700, "开票人：", inv.drawer),
    ):
        _labelled(page, x, 772, text, value, size, label)
    page.text((1000, 772), "销售方：（章）", size, fill=label)
    return _seal(page.image, font, inv, (700, 690)), page.lines


def draw_digital(
    inv: Invoice, font: str, rule: tuple[int, int, int], rng: random.Random
) -> tuple[Image.Image, list[dict]]:
    page = Canvas(Image.new("RGB", (WIDTH, 720), "white"), font)
    label, size = _label_colour(rule), 19
    draw = page.draw
    modules = np.array([[rng.random() < 0.5 for _ in range(21)] for _ in range(21)])
    for (row, col), dark in np.ndenumerate(modules):  # a QR-code-like square, as printed top left
        if dark:
            draw.rectangle([60 + col * 4, 30 + row * 4, 63 + col * 4, 33 + row * 4], fill=TEXT)
    _centre(page, 0, WIDTH, 40, inv.title, 36, fill=rule)
    _labelled(page, 1000, 45, "发票号码：", inv.number, 20, label)
    _labelled(page, 1000, 80, "开票日期：", inv.date, 20, label)
    x0, x1 = 50, 1350
    y_top, y_party, y_sum, y_words, y_bottom = 140, 290, 540, 585, 660
    xs = [50, 380, 520, 600, 690, 840, 1030, 1130, 1350]
    draw.rectangle([x0, y_top, x1, y_bottom], outline=rule, width=2)
    for y in (y_party, y_sum, y_words):
        draw.line([(x0, y), (x1, y)], fill=rule, width=2)
    for x in (90, 690, 730):
        draw.line([(x, y_top), (x, y_party)], fill=rule, width=2)
    for left, who, side in ((50, inv.buyer, "购买方信息"), (690, inv.seller, "销售方信息")):
        _vertical(page, side, left + 10, y_top, y_party, 20, label)
        _labelled(page, left + 50, y_top + 35, "名称：", who.name, size, label)
        _labelled(page, left + 50, y_top + 95, "统一社会信用代码/纳税人识别号：", who.tax_id, size, label)
    heads = ["项目名称", "规格型号", "单位", "数量", "单价", "金额", "税率/征收率", "税额"]
    for i, head in enumerate(heads):
        _centre(page, xs[i], xs[i + 1], 300, head, size, fill=label)
    _items(page, inv, xs, 338, 34, size)
    _centre(page, xs[0], xs[1], 505, "合　　计", size, fill=label)
    _right(page, xs[6] - 8, 505, f"¥{money(inv.total_amount)}", size)
    _right(page, xs[8] - 8, 505, f"¥{money(inv.total_tax)}", size)
    draw.line([(330, y_sum), (330, y_words)], fill=rule, width=2)
    page.text((62, 552), "价税合计（大写）", size, fill=label)
    page.text((345, 552), f"⊗{inv.amount_in_words}", size, fill=TEXT)
    _labelled(page, 960, 552, "（小写）", f"¥{money(inv.amount_in_figures)}", size, label)
    draw.line([(90, y_words), (90, y_bottom)], fill=rule, width=2)
    _vertical(page, "备注", 60, y_words, y_bottom, 20, label)
    if inv.remarks:
        page.text((100, y_words + 25), inv.remarks, size, fill=TEXT)
    _labelled(page, 60, 675, "开票人：", inv.drawer, size, label)
    return _seal(page.image, font, inv, (1080, 225)), page.lines


def render(inv: Invoice, font: str, rule: str, rng: random.Random) -> tuple[Image.Image, dict]:
    colour = RULE_COLOURS[rule]
    if inv.layout == "classic":
        image, lines = draw_classic(inv, font, colour)
    else:
        image, lines = draw_digital(inv, font, colour, rng)
    truth = {
        "kind": "invoice",
        "layout": inv.layout,
        "font": Path(font).name,
        "rules": rule,
        "lines": lines,
        "words_result": inv.words_result(),
    }
    return image, truth


def photo(
    image: Image.Image, rng: random.Random, kinds: tuple[str, ...], angle: float, noise: float
) -> Image.Image:
    """Paper tint and sensor noise, a slight turn (boxes stay in the unturned frame), then ``kinds``."""
    image = add_scan_noise(image, rng, strength=noise)
    if angle:
        image = image.rotate(angle, resample=Image.Resampling.BICUBIC, fillcolor=(246, 244, 238))
    return degrade(image, rng, tuple(k for k in kinds if k != "skew"), fill=(246, 244, 238))


def jpeg(image: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()


def pdf(images: list[Image.Image]) -> bytes:
    out = io.BytesIO()
    images[0].save(out, "PDF", save_all=True, append_images=images[1:], resolution=72.0, quality=92,
                   creationDate=PDF_DATE, modDate=PDF_DATE)  # fmt: skip
    return out.getvalue()


# (stem, layout, rule colour, output, rotation °, demonstrates); output jpg|png|pdf; ``dup_of`` draws the same
# invoice as an earlier stem; ``private`` a buyer identified by an ID number; ``tamper`` a wrong 大写.
TUNED = [
    ("inv_01_classic", "classic", "brown", "jpg", 0.0, ""),
    ("inv_02_classic", "classic", "green", "jpg", 1.4, "rotated photo"),
    ("inv_03_digital", "digital", "red-brown", "jpg", 0.0, ""),
    ("inv_04_digital", "digital", "brown", "png", 0.0, "scanner PNG"),
    ("inv_05_private_buyer", "classic", "red-brown", "jpg", -0.8, "private buyer identified by an ID number"),
    ("inv_06_duplicate_photo", "digital", "green", "jpg", 1.1, "photo of inv_07_duplicate_pdf (duplicate)"),
    ("inv_07_duplicate_pdf", "digital", "green", "pdf", 0.0, "PDF of inv_06_duplicate_photo (duplicate)"),
    ("inv_08_classic_pdf", "classic", "brown", "pdf", 0.0, "PDF e-invoice, classic layout"),
    ("inv_09_tampered_words", "classic", "green", "jpg", 0.6, "大写 disagrees with 小写 (a check fails)"),
    ("inv_10_classic", "classic", "red-brown", "jpg", -1.8, "rotated photo"),
    ("inv_11_digital", "digital", "green", "jpg", -1.5, "rotated photo"),
    ("inv_12_digital_pdf", "digital", "red-brown", "pdf", 0.0, "two-page PDF (pdf_file_num)"),
    ("inv_13_digital_ofd", "digital", "brown", "ofd", 0.0, "OFD e-invoice (ofd_file, its text layer)"),
]
#: OFD pages are in mm: an invoice drawn 1400 px wide is a 240 mm page.
PX_PER_MM = WIDTH / 240


def make_invoice_set(out: Path, seed: int, fonts: tuple[str, ...], specs: list, kinds_cycle: list) -> None:
    rng = random.Random(seed)
    folder = "invoices"
    drawn: dict[str, tuple[Invoice, str]] = {}
    for index, (stem, layout, rule, output, angle, note) in enumerate(specs):
        font = fonts[index % len(fonts)]
        if "duplicate_pdf" in stem:
            invoice, font = next(v for k, v in drawn.items() if "duplicate_photo" in k)
        else:
            invoice = make_invoice(rng, layout, gb11643_check_digit, private_buyer="private" in stem)
        if "tampered" in stem:
            invoice.words_override = make_invoice(rng, "classic", gb11643_check_digit).amount_in_words
        drawn[stem] = (invoice, font)
        image, truth = render(invoice, font, rule, rng)
        if note:
            truth["demonstrates"] = note
        if output == "ofd":
            frame = [(50, 140, 1350, 140), (1350, 140, 1350, 660), (50, 660, 1350, 660), (50, 140, 50, 660)]
            data = write_ofd([(truth["lines"], frame)], image.size, PX_PER_MM, doc_id=invoice.number)
            write_sample(out, folder, stem, data, "ofd", {"kind": "ofd", "page_count": 1, "pages": [truth]})
            continue
        if output == "pdf":
            pages = [truth]
            images = [image]
            if "two-page" in note:
                second = make_invoice(rng, layout, gb11643_check_digit)
                second_image, second_truth = render(second, font, rule, rng)
                images.append(second_image)
                pages.append(second_truth)
            document = {"kind": "pdf", "page_count": len(pages), "pages": pages}
            write_sample(out, folder, stem, pdf(images), "pdf", document)
            continue
        kinds = kinds_cycle[index % len(kinds_cycle)]
        if output == "png":  # a scanner's palette PNG: no sensor noise, no JPEG
            kinds = tuple(kind for kind in kinds if kind not in ("noise", "jpeg"))
        image = photo(image, rng, kinds, angle, noise=0.0 if output == "png" else 2.0)
        if kinds:
            truth["degradations"] = list(kinds)
        if angle:
            truth["rotation_degrees"] = angle
        if output == "png":
            buf = io.BytesIO()
            image.convert("RGB").quantize(32, dither=Image.Dither.NONE).save(buf, "PNG", optimize=True)
            write_sample(out, folder, stem, buf.getvalue(), "png", truth)
        else:
            write_sample(out, folder, stem, jpeg(image, 60 if "jpeg" in kinds else 80), "jpg", truth)


def validation_specs() -> list:
    """16 photos and scans (both layouts, every rule colour, turned up to ±2°) and two PDFs, 3 pages."""
    rules = list(RULE_COLOURS)
    specs = []
    for i in range(16):
        layout = "classic" if i % 2 == 0 else "digital"
        angle = [0.0, 1.7, -1.2, 0.9, -2.0, 0.0, 1.3, -0.7][i % 8]
        output = "png" if i % 5 == 4 else "jpg"
        stem = f"inv_v{i + 1:02d}_{layout}" + ("_private" if i == 6 else "")
        specs.append((stem, layout, rules[i % 3], output, angle, ""))
    specs.append(("inv_v17_classic_pdf", "classic", "green", "pdf", 0.0, ""))
    specs.append(("inv_v18_digital_pdf", "digital", "brown", "pdf", 0.0, "two-page PDF"))
    specs.append(("inv_v19_digital_ofd", "digital", "green", "ofd", 0.0, ""))
    return specs


VALIDATION_KINDS = [(), ("jpeg",), ("blur",), ("noise",), ("blur", "jpeg"), ("jpeg",), ("noise", "jpeg"), ()]


def make_invoices(out: Path) -> None:
    """The tuned set in ``invoices/`` (seed, Micro Hei and UMing)."""
    make_invoice_set(out, INVOICE_SEED, TUNED_FONTS, TUNED, [()])


def make_validation_invoices(out: Path) -> None:
    """The held-out set in ``validation/invoices/`` (another seed, Zen Hei and UKai, scan faults)."""
    make_invoice_set(out / "validation", VALIDATION_INVOICE_SEED, VALIDATION_FONTS, validation_specs(),
                     VALIDATION_KINDS)  # fmt: skip
