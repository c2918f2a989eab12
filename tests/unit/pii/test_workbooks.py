"""Workbooks stored with their ID numbers masked: .xlsx rewritten part by part, .xls turned into a CSV."""

from __future__ import annotations

import csv
import io
import re
import zipfile

import pytest
from baidu_ocr.pii.workbooks import CSV_CONTENT_TYPE, XLSX_CONTENT_TYPE, protect_workbook

NUMBER = "110101199003071234"
MASKED = "110101********1234"
OTHER = "33010619900101123X"
# Any piece of either number long enough to identify someone (the masked form keeps 6 + 4 digits apart).
CLEAR = re.compile(r"1101011990|19900307|3301061990|19900101")


def _xlsx() -> bytes:
    from openpyxl import Workbook
    from openpyxl.cell.rich_text import CellRichText, TextBlock
    from openpyxl.cell.text import InlineFont

    book = Workbook()
    sheet = book.active
    sheet.title = f"s{NUMBER[:6]}"
    sheet["A1"] = f"身份证 {NUMBER}"  # a shared string
    sheet["A2"] = int(NUMBER)  # a number cell
    sheet["A3"] = "1101 0119 9003 0712 34"  # written in groups
    sheet["A4"] = CellRichText(  # one cell, the number split across two runs
        [TextBlock(InlineFont(b=True), OTHER[:9]), TextBlock(InlineFont(i=True), OTHER[9:] + " ok")]
    )
    sheet["B1"] = "no number 12345"
    sheet["B2"] = 42
    book.properties.title = f"scan of {NUMBER}"
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _members_text(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return "\n".join(archive.read(name).decode("utf-8", "replace") for name in archive.namelist())


def test_an_xlsx_is_stored_with_every_id_number_masked_and_still_opens():
    from openpyxl import load_workbook

    original = _xlsx()
    assert CLEAR.search(_members_text(original))  # the fixture holds them in clear

    stored = protect_workbook(original)

    assert stored.suffix == ".xlsx" and stored.content_type == XLSX_CONTENT_TYPE
    assert CLEAR.search(_members_text(stored.data)) is None
    sheet = load_workbook(io.BytesIO(stored.data), rich_text=True).active
    assert sheet["A1"].value == f"身份证 {MASKED}"
    # A number cell: Excel keeps 15 digits (openpyxl writes 1.101011990030712E+17); masked, it is text.
    assert sheet["A2"].value.startswith("110101********")
    assert sheet["A3"].value.replace(" ", "").startswith("110101") and "*" in sheet["A3"].value
    assert str(sheet["A4"].value) == "330106********123X ok"
    assert (sheet["B1"].value, sheet["B2"].value) == ("no number 12345", 42)


def test_a_workbook_without_id_numbers_keeps_its_xml_as_it_was():
    from openpyxl import Workbook

    book = Workbook()
    book.active["A1"] = "金额 & 税额 <合计>"
    buffer = io.BytesIO()
    book.save(buffer)
    stored = protect_workbook(buffer.getvalue())
    with zipfile.ZipFile(buffer) as before, zipfile.ZipFile(io.BytesIO(stored.data)) as after:
        assert {n: before.read(n) for n in before.namelist()} == {n: after.read(n) for n in after.namelist()}


def test_an_xls_is_stored_as_a_masked_csv():
    import xlwt

    book = xlwt.Workbook(encoding="utf-8")
    first = book.add_sheet("表一")
    first.write(0, 0, "姓名")
    first.write(0, 1, "身份证号")
    first.write(1, 0, "张三")
    first.write(1, 1, NUMBER)
    first.write(2, 1, float(NUMBER))  # stored as a float, as Excel would
    first.write(3, 0, 12.5)
    book.add_sheet("表二").write(0, 0, f"{OTHER} 签名")
    buffer = io.BytesIO()
    book.save(buffer)

    stored = protect_workbook(buffer.getvalue())

    assert stored.suffix == ".csv" and stored.content_type == CSV_CONTENT_TYPE
    text = stored.data.decode("utf-8-sig")
    assert CLEAR.search(text) is None
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == ["姓名", "身份证号"] and rows[1] == ["张三", MASKED]
    assert rows[2][1].startswith("110101********") and rows[3][0] == "12.5"
    assert rows[-2:] == [[], ["330106********123X 签名"]]


@pytest.mark.parametrize(
    "data", [b"", b"not a workbook", b"PK\x03\x04broken", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1x"]
)
def test_anything_else_is_refused(data):
    with pytest.raises(ValueError, match="workbook"):
        protect_workbook(data)
