"""Reading a VAT invoice from OCR lines (no model): labels and values by layout, strict value parsing, and
the red seal's mask."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from baidu_ocr_server.engines.base import Box, Char, EngineCannotRecognize, Line
from baidu_ocr_server.engines.invoice_values import (
    amount_words,
    digits,
    invoice_date,
    invoice_type,
    money,
    tax_id,
    without_echo,
)
from baidu_ocr_server.engines.invoices import extract_invoice
from baidu_ocr_server.engines.seals import seal_ink
from stdnum.cn import uscc

SELLER_ID = "91330106MA2B3C4D5" + uscc.calc_check_digit("91330106MA2B3C4D5")
BUYER_ID = "913101150000000" + "12" + uscc.calc_check_digit("91310115000000012")


def line(text: str, left: int, top: int, width: int | None = None, height: int = 26) -> Line:
    return Line(text=text, box=Box(left, top, width or 20 * len(text), height))


def classic_lines() -> list[Line]:
    return [
        line("浙江增值税专用发票", 480, 28, 440, 48),
        line("发票代码：3301242130", 985, 40),
        line("发票号码：01234567", 985, 72),
        line("开票日期：2025年5月15日", 985, 104),
        line("名", 98, 185, 26),
        line("称：杭州东方科技有限公司", 150, 185),
        line(f"纳税人识别号：{BUYER_ID}", 100, 214),
        line("货物或应税劳务、服务名称", 100, 315),
        *[line(text, x, 315, 50) for text, x in (("规格型号", 420), ("单位", 550), ("数量", 630))],
        *[
            line(text, x, 315, 50)
            for text, x in (("单价", 750), ("金额", 915), ("税率", 1045), ("税额", 1205))
        ],
        line("*纸制品*打印纸", 58, 353),
        line("A4 70g", 425, 353, 70),
        line("数量", 100, 700, 50),  # a header word elsewhere on the page
        line("10", 668, 353, 30),
        line("50.00", 780, 353, 60),
        line("500.00", 950, 353, 70),
        line("13%", 1050, 353, 40),
        line("65.00", 1280, 353, 60),
        line("*信息技术服务*软件维护费", 58, 389),
        line("1,000.00", 940, 389, 80),
        line("13%", 1050, 389, 40),
        line("130.00", 1275, 389, 65),
        line("合", 172, 552, 26),
        line("计", 222, 552, 26),
        line("¥1500.00", 925, 552, 100),
        line("¥195.00", 1255, 552, 90),
        line("价税合计（大写）", 62, 596, 155),
        line("⊗壹仟陆佰玖拾伍元整", 400, 596),
        line("（小写）¥1695.00", 1000, 596, 170),
        line("名称：上海长风商贸有限公司", 100, 637),
        line(f"纳税人识别号：{SELLER_ID}", 100, 666),
        line("开票人：周洋", 700, 772),
    ]


def test_classic_layout_fields_items_and_totals():
    result = extract_invoice(classic_lines())

    fields = result.fields
    assert result.layout == "classic"
    assert fields["InvoiceType"] == "专用发票" and fields["InvoiceTypeOrg"] == "浙江增值税专用发票"
    assert (fields["InvoiceCode"], fields["InvoiceNum"]) == ("3301242130", "01234567")
    assert fields["InvoiceDate"] == "2025年05月15日"
    assert (fields["PurchaserName"], fields["PurchaserRegisterNum"]) == ("杭州东方科技有限公司", BUYER_ID)
    assert (fields["SellerName"], fields["SellerRegisterNum"]) == ("上海长风商贸有限公司", SELLER_ID)
    assert (fields["TotalAmount"], fields["TotalTax"], fields["AmountInFiguers"]) == (
        "1500.00",
        "195.00",
        "1695.00",
    )
    assert fields["AmountInWords"] == "壹仟陆佰玖拾伍元整"
    assert fields["NoteDrawer"] == "周洋"
    assert "CheckCode" not in fields  # not printed: left out, answered ""
    assert result.items == [
        {"CommodityName": "*纸制品*打印纸", "CommodityType": "A4 70g", "CommodityNum": "10",
         "CommodityPrice": "50.00", "CommodityAmount": "500.00", "CommodityTaxRate": "13%",
         "CommodityTax": "65.00"},
        {"CommodityName": "*信息技术服务*软件维护费", "CommodityAmount": "1000.00", "CommodityTaxRate": "13%",
         "CommodityTax": "130.00"},
    ]  # fmt: skip


def test_digital_layout_sides_by_position_and_no_code():
    lines = [
        line("电子发票（增值税专用发票）", 465, 41, 460, 40),
        line("发票号码：25332000000012345678", 997, 45),
        line("开票日期：2025年07月22日", 997, 79),
        line("购买方信息", 53, 140, 34, 152),
        line("销售方信息", 693, 141, 33, 151),
        line("名称：南京金穗物流有限公司", 97, 173),
        line("名称：深圳长风商贸股份有限公司风商贸股份有限公", 737, 173),  # the seal's echo
        line(f"统一社会信用代码/纳税人识剂号：{BUYER_ID}", 96, 233),  # a label misread
        line("统一社会信用代码/纳税人识别号：", 735, 232, 294),
        line(SELLER_ID, 1019, 233, 219),
        line("价税合计（大写）", 59, 550, 153),
        line("（小写）¥100.00", 962, 550, 171),
    ]

    result = extract_invoice(lines)

    assert result.layout == "digital"
    assert "InvoiceCode" not in result.fields and "CheckCode" not in result.fields
    assert result.fields["InvoiceNum"] == "25332000000012345678"
    assert result.fields["InvoiceType"] == "电子发票(专用发票)"
    assert result.fields["PurchaserRegisterNum"] == BUYER_ID
    assert result.fields["SellerName"] == "深圳长风商贸股份有限公司"
    assert result.fields["SellerRegisterNum"] == SELLER_ID


def test_a_page_that_is_not_an_invoice_is_282103():
    with pytest.raises(EngineCannotRecognize) as raised:
        extract_invoice([line("会议通知 Meeting notice", 10, 10), line("时间：周五 14:00", 10, 50)])
    assert raised.value.code == 282103


def test_tall_stacked_units_are_cut_into_their_rows():
    """OCR merges single characters one below the other (个/箱) into one tall line: cut by char boxes."""
    lines = classic_lines()
    units = Line(
        "个箱",
        Box(555, 350, 30, 70),
        chars=[Char("个", Box(555, 353, 26, 26)), Char("箱", Box(555, 389, 26, 26))],
    )

    result = extract_invoice([*lines, units])

    assert [item.get("CommodityUnit") for item in result.items] == ["个", "箱"]


@pytest.mark.parametrize(
    ("text", "want"),
    [("¥1,234.56", "1234.56"), ("￥１２３４.５６", "1234.56"), ("1234.5", ""), ("12.00 13.00", ""), ("", "")],
)
def test_money_is_strict(text, want):
    assert money(text) == want


def test_values_without_their_shape_are_empty():
    assert invoice_date("2025年02月30日") == ""
    assert invoice_date("2025年2月3日") == "2025年02月03日"
    assert digits("99581 11098 85361 53235", 20) == "99581110988536153235"
    assert digits("1234567", 8, 20) == ""
    assert amount_words("⊗壹仟元整") == "壹仟元整"
    assert amount_words("⊗壹仟元整 (小写)") == ""
    assert invoice_type("电子发票（普通发票）") == "电子发票(普通发票)"
    assert invoice_type("上海增值税电子普通发票") == "电子普通发票"


def test_tax_id_letters_become_digits_only_where_no_letter_can_stand():
    assert tax_id(SELLER_ID.replace("0", "O", 1)) == SELLER_ID  # in the division code
    assert tax_id(BUYER_ID[:9] + "O" + BUYER_ID[10:]) == BUYER_ID  # O is not in the code's alphabet
    assert tax_id(SELLER_ID) == SELLER_ID  # its B and D may stand where they are: kept as read
    wrong = SELLER_ID[:-1] + ("0" if SELLER_ID[-1] != "0" else "1")
    assert tax_id(wrong) == wrong  # answered as read: the provider's check flags it


def test_without_echo_keeps_names_that_do_not_repeat():
    assert without_echo("深圳长风商贸股份有限公司风商贸股份有限公") == "深圳长风商贸股份有限公司"
    assert without_echo("上海东方餐饮管理有限责任公司") == "上海东方餐饮管理有限责任公司"


def test_seal_mask_finds_the_oval_stamp_but_not_red_print_elsewhere():
    page = np.full((400, 1000, 3), 255, np.uint8)
    cv2.ellipse(page, (700, 200), (100, 65), 0, 0, 360, (45, 45, 225), 5)  # BGR: the stamp's red
    cv2.putText(page, "SEAL", (650, 210), cv2.FONT_HERSHEY_SIMPLEX, 1, (45, 45, 225), 2)
    cv2.putText(page, "TITLE", (100, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (50, 70, 165), 3)
    cv2.line(page, (0, 300), (1000, 300), (50, 70, 165), 2)  # a red-brown rule through the page

    mask = seal_ink(page)

    assert mask[135, 700] and mask[200, 660:760].any()  # the ring and its text
    assert not mask[:100].any()  # the title
    assert not mask[300, :590].any()  # the rule away from the seal
