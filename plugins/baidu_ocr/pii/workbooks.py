"""Table workbooks with their ID numbers masked before they are stored (pure: bytes in, bytes out).

Baidu returns a table's workbook as it read it: a clear ID number printed in a cell is in it. The stored
copy has every ID number masked (``110101********1234``; workbooks are for people, nobody unseals them):

- ``.xlsx`` (table v2's ``excel_file``) is a zip of XML parts. Each part's text nodes and attribute values
  are masked; a cell's rich-text runs (``<si>``/``<is>`` with several ``<t>``) are masked as one text, so a
  number split across runs is found; an 18-digit number stored as a numeric cell becomes a masked inline
  string. The rest of the archive is copied byte for byte (the stdlib ``zipfile``: the provider does not
  depend on openpyxl).
- ``.xls`` (form_ocr's, BIFF8) cannot be rewritten in place: it is read with ``xlrd`` and stored as a masked
  CSV (UTF-8 with a byte-order mark, so Excel opens Chinese text right; sheets one after another, an empty
  row between). Formatting and merged cells are lost; the cells' text is what the warehouse keeps anyway.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from dataclasses import dataclass
from xml.sax.saxutils import escape, unescape

from baidu_ocr.pii.policy import find_id_numbers, mask_id_numbers_in_text
from baidu_ocr.pii.sealing import mask_id_numbers_across

XLSX_MAGIC = b"PK\x03\x04"  # a zip archive
XLS_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an OLE2 compound file (BIFF8 .xls)
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_CONTENT_TYPE = "text/csv; charset=utf-8"

# XML's character references (&#49; is "1"): unescaped before masking, so digits cannot hide in them.
_ENTITIES = {"&quot;": '"', "&apos;": "'"}
_CHAR_REF = re.compile(r"&#(x[0-9A-Fa-f]+|[0-9]+);")
_RICH_TEXT = re.compile(r"<(si|is)\b([^>]*)>(.*?)</\1>", re.DOTALL)
_RUN_TEXT = re.compile(r"(<t\b[^>]*>)(.*?)(</t>)", re.DOTALL)
_CELL = re.compile(r"<c\b([^>]*?)>(.*?)</c>", re.DOTALL)
_CELL_VALUE = re.compile(r"<v>([^<]*)</v>")
_CELL_TYPE = re.compile(r'\st="([^"]*)"')
_TEXT_NODE = re.compile(r">([^<]+)<")
_ATTRIBUTE = re.compile(r'(\s[\w:.-]+=")([^"]*)(")')


@dataclass(frozen=True)
class StoredWorkbook:
    """A workbook as it may be stored: masked bytes, the suffix and content type of what they are."""

    data: bytes
    suffix: str
    content_type: str


def protect_workbook(data: bytes) -> StoredWorkbook:
    """``data`` (an ``.xlsx`` or ``.xls`` workbook) with every ID number masked, ready to store.

    :raises ValueError: ``data`` is neither (the caller records the workbook as missing).
    """
    if data.startswith(XLSX_MAGIC):
        return StoredWorkbook(mask_xlsx(data), ".xlsx", XLSX_CONTENT_TYPE)
    if data.startswith(XLS_MAGIC):
        return StoredWorkbook(xls_to_masked_csv(data), ".csv", CSV_CONTENT_TYPE)
    raise ValueError("not an .xlsx or .xls workbook")


def mask_xlsx(data: bytes) -> bytes:
    """An ``.xlsx`` with every ID number in its XML parts masked; other members are copied as they are."""
    try:
        source = zipfile.ZipFile(io.BytesIO(data))
        members = [(info, source.read(info)) for info in source.infolist()]
    except (zipfile.BadZipFile, OSError, EOFError) as exc:
        raise ValueError(f"not a readable .xlsx workbook: {exc}") from None
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info, body in members:
            if info.filename.endswith((".xml", ".rels", ".vml")):
                body = mask_xml(body.decode("utf-8")).encode("utf-8")
            target.writestr(info, body)
    return out.getvalue()


def mask_xml(xml: str) -> str:
    """One SpreadsheetML part with its ID numbers masked (see the module's docstring)."""
    xml = _RICH_TEXT.sub(_mask_rich_text, xml)
    xml = _CELL.sub(_numbers_as_masked_text, xml)
    xml = _TEXT_NODE.sub(lambda m: f">{_masked_xml_text(m.group(1))}<", xml)
    return _ATTRIBUTE.sub(
        lambda m: f"{m.group(1)}{_masked_xml_text(m.group(2), quote=True)}{m.group(3)}", xml
    )


def _unescape(text: str) -> str:
    text = _CHAR_REF.sub(
        lambda m: chr(int(m.group(1)[1:], 16) if m.group(1)[0] == "x" else int(m.group(1))), text
    )
    return unescape(text, _ENTITIES)


def _escape(text: str, *, quote: bool = False) -> str:
    return escape(text, {'"': "&quot;"} if quote else {})


def _masked_xml_text(raw: str, *, quote: bool = False) -> str:
    """Escaped XML text with its ID numbers masked; untouched (byte for byte) when it holds none."""
    text = _unescape(raw)
    masked = mask_id_numbers_in_text(text)
    return raw if masked == text else _escape(masked, quote=quote)


def _mask_rich_text(match: re.Match[str]) -> str:
    """A shared or inline string whose runs (``<t>`` elements) are masked as one text."""
    tag, attrs, inner = match.groups()
    runs = list(_RUN_TEXT.finditer(inner))
    texts = [_unescape(run.group(2)) for run in runs]
    if not find_id_numbers("".join(texts)):
        return match.group(0)
    masked = iter(mask_id_numbers_across(texts))
    inner = _RUN_TEXT.sub(lambda m: f"{m.group(1)}{_escape(next(masked))}{m.group(3)}", inner)
    return f"<{tag}{attrs}>{inner}</{tag}>"


def _numbers_as_masked_text(match: re.Match[str]) -> str:
    """A numeric cell holding an ID-number-shaped value, as a masked inline string (a masked number is no
    number); every other cell as it is."""
    attrs, inner = match.groups()
    kind = _CELL_TYPE.search(attrs)
    value = _CELL_VALUE.search(inner)
    if (kind and kind.group(1) != "n") or not value:
        return match.group(0)
    text = _as_whole_number(_unescape(value.group(1)).strip())
    if not find_id_numbers(text):
        return match.group(0)
    attrs = _CELL_TYPE.sub("", attrs) + ' t="inlineStr"'
    return f"<c{attrs}><is><t>{_escape(mask_id_numbers_in_text(text))}</t></is></c>"


def _as_whole_number(text: str) -> str:
    """An 18-digit number written as a float (``1.10101199003071E+17``: its first 15 digits are the
    person's) as its digits, so it is masked like the number it was."""
    try:
        number = float(text)
    except ValueError:
        return text
    return str(int(number)) if 1e17 <= abs(number) < 1e18 else text


def xls_to_masked_csv(data: bytes) -> bytes:
    """A BIFF ``.xls`` workbook as CSV text (UTF-8 with BOM), every cell's ID numbers masked."""
    import xlrd  # only form_ocr's workbooks need it

    try:
        book = xlrd.open_workbook(file_contents=data, on_demand=True)
    except Exception as exc:  # xlrd fails on junk with errors of every kind: all mean unreadable
        raise ValueError(f"not a readable .xls workbook: {type(exc).__name__}") from None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for n, sheet in enumerate(book.sheets()):
        if n:
            writer.writerow([])
        for row in range(sheet.nrows):
            writer.writerow([mask_id_numbers_in_text(_cell_text(book, cell)) for cell in sheet.row(row)])
    return out.getvalue().encode("utf-8-sig")


def _cell_text(book: object, cell: object) -> str:
    """A cell's value as text: whole numbers without ``.0`` (an 18-digit number must read as one)."""
    import xlrd

    kind, value = cell.ctype, cell.value  # type: ignore[attr-defined]
    if kind == xlrd.XL_CELL_NUMBER:
        return str(int(value)) if float(value).is_integer() else repr(value)
    if kind == xlrd.XL_CELL_DATE:
        return xlrd.xldate_as_datetime(value, book.datemode).isoformat()  # type: ignore[attr-defined]
    if kind == xlrd.XL_CELL_BOOLEAN:
        return "TRUE" if value else "FALSE"
    if kind == xlrd.XL_CELL_ERROR:
        return xlrd.error_text_from_code.get(value, "#ERR")
    return "" if kind in (xlrd.XL_CELL_EMPTY, xlrd.XL_CELL_BLANK) else str(value)
