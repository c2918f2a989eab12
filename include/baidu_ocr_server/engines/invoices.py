"""A VAT invoice's fields from OCR lines: find the printed labels, read the values beside them.

Pure functions over :class:`Line` objects of a levelled page (the engine levels it first), so they are
tested without a model. Two layouts are read: the classic one (发票代码 + 8-digit 发票号码 top right, the
buyer block above the item grid and the seller block below it) and the 数电票 one (20-digit 发票号码, no
code, 购买方信息 and 销售方信息 side by side above the items). Item lines are cut into rows by their height
and into columns by the header labels (金额, 税额, ...) nearest to them. Values go through
``invoice_values``; a value without its shape is left ``""`` / out, never guessed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from statistics import median

from .base import Box, EngineCannotRecognize, InvoiceResult, Line
from .idcards import union_box
from .invoice_values import (
    amount_words,
    chinese,
    compact,
    digits,
    invoice_date,
    invoice_type,
    money,
    tax_id,
    tax_rate,
    valid_tax_id,
    without_echo,
)

NOT_AN_INVOICE = 282103
#: Item columns: the header label each is found by (a regex on the compacted text) and its Baidu field.
COLUMNS = (
    ("CommodityName", r"项目名称|货物或应税劳务|服务名称"),
    ("CommodityType", r"^规格型号$"),
    ("CommodityUnit", r"^单位$"),
    ("CommodityNum", r"^数量$"),
    ("CommodityPrice", r"^单价"),
    ("CommodityAmount", r"^金额$"),
    ("CommodityTaxRate", r"^税率"),
    ("CommodityTax", r"^税额$"),
)
ITEM_VALUE = {
    "CommodityNum": lambda text: text if re.fullmatch(r"\d+(\.\d+)?", text) else "",
    "CommodityPrice": lambda text: text if re.fullmatch(r"\d+(\.\d+)?", text) else "",
    "CommodityAmount": money,
    "CommodityTaxRate": tax_rate,
    "CommodityTax": money,
}
#: Labels whose presence (with a title holding 发票) says the image is an invoice.
#: 纳税人识别号 or 统一社会信用代码/纳税人识别号, with one character misread.
TAX_ID_LABEL = r"纳税人识.号|税人识别号|识别号|信用代码/?(纳税人)?"
#: A value stands at most this many line heights right of its label (else the label's value is empty).
MAX_GAP_LINES = 10
MARKERS = ("发票号码", "开票日期", "价税合计", "税额", "金额", "名称")


@dataclass
class Piece:
    """A line of text (or a character cut from a tall, stacked line), compacted for matching."""

    text: str
    box: Box
    raw: str = ""  # as read, spaces kept (规格型号 "T8 18W")

    @property
    def cx(self) -> float:
        return self.box.left + self.box.width / 2

    @property
    def cy(self) -> float:
        return self.box.top + self.box.height / 2

    @property
    def right(self) -> int:
        return self.box.left + self.box.width


def pieces_of(lines: list[Line]) -> list[Piece]:
    """Compacted lines; a line much taller than the others (a column of single characters OCR merged,
    such as units 个/箱/支 one below the other) is cut into its characters by their boxes."""
    heights = [line.box.height for line in lines if line.box.width >= line.box.height]
    typical = median(heights) if heights else 30
    pieces = []
    for line in lines:
        text = compact(line.text)
        if not text:
            continue
        if line.box.height > 1.8 * typical and len(line.chars) == len(text) > 1:
            pieces.extend(Piece(char.char, char.box, char.char) for char in line.chars)
        else:
            pieces.append(Piece(text, line.box, line.text.strip()))
    return pieces


def _find(pieces: list[Piece], pattern: str) -> list[Piece]:
    regex = re.compile(pattern)
    return [piece for piece in pieces if regex.search(piece.text)]


def _same_row(a: Piece, b: Piece) -> bool:
    return abs(a.cy - b.cy) <= max(a.box.height, b.box.height) * 0.6


def _value_beside(label: Piece, pieces: list[Piece], pattern: str) -> str:
    """The text after ``pattern`` (the label) in its own piece, else the nearest piece to its right."""
    found = re.search(pattern, label.text)
    rest = label.text[found.end() :] if found else ""
    rest = rest[1:] if rest.startswith(":") else rest
    if rest:
        return rest
    reach = label.right + MAX_GAP_LINES * label.box.height
    right = [
        p for p in pieces if p is not label and _same_row(label, p) and label.right - 4 <= p.box.left <= reach
    ]
    return min(right, key=lambda p: p.box.left).text if right else ""


def _labelled(pieces: list[Piece], pattern: str, parse) -> str:
    """The first parseable value beside a piece matching ``pattern``."""
    for label in _find(pieces, pattern):
        value = parse(_value_beside(label, pieces, pattern))
        if value:
            return value
    return ""


def _title(pieces: list[Piece]) -> str:
    titles = [p for p in pieces if "发票" in p.text and ":" not in p.text and "专用章" not in p.text]
    return chinese(max(titles, key=lambda p: p.box.height).text) if titles else ""


def _total_labels(pieces: list[Piece]) -> list[Piece]:
    """合计 (not 价税合计), also when printed spread out (合　　计) and read as two pieces."""
    found = [p for p in _find(pieces, r"^合计") if "价税" not in p.text]
    for first in _find(pieces, r"^合$"):
        rest = [
            p for p in pieces if p.text.startswith("计") and _same_row(first, p) and p.box.left > first.right
        ]
        if rest:
            last = min(rest, key=lambda p: p.box.left)
            found.append(Piece("合计", union_box([first.box, last.box]), "合计"))
    return found


def _parties(pieces: list[Piece], digital: bool, split: float) -> dict[str, str]:
    """名称 and 纳税人识别号 (or 统一社会信用代码/纳税人识别号) of each side: buyer above the items (classic)
    or on the left (数电票); ``split`` is the items header's y, or the seller label's x."""
    fields: dict[str, str] = {}

    def side(piece: Piece) -> str:
        where = piece.cx if digital else piece.cy
        return "Seller" if where > split else "Purchaser"

    for label in _find(pieces, r"称:"):
        value = without_echo(chinese(_value_beside(label, pieces, r"称:")))
        if value and "发票" not in value:
            fields.setdefault(f"{side(label)}Name", value)
    for label in _find(pieces, TAX_ID_LABEL):
        value = tax_id(_value_beside(label, pieces, TAX_ID_LABEL))
        if value:
            fields.setdefault(f"{side(label)}RegisterNum", value)
    for piece in pieces:  # a label the seal or OCR spoilt: an id proven by its checksum, on its side
        value = tax_id(piece.text)
        if len(value) == 18 and valid_tax_id(value):
            fields.setdefault(f"{side(piece)}RegisterNum", value)
    if not digital:
        for pattern, name in ((r"地址、?电话", "Address"), (r"开户行及账号", "Bank")):
            for label in _find(pieces, pattern):
                value = _value_beside(label, pieces, pattern)
                if value:
                    fields.setdefault(f"{side(label)}{name}", chinese(value))
    return fields


def _columns(pieces: list[Piece]) -> dict[str, Piece]:
    """The item table's header labels, each the one on the row of the topmost 金额 (a label's word can
    recur elsewhere on the page)."""
    amounts = _find(pieces, dict(COLUMNS)["CommodityAmount"])
    if not amounts:
        return {}
    row = min(amounts, key=lambda p: p.box.top)
    header: dict[str, Piece] = {}
    for name, pattern in COLUMNS:
        found = [p for p in _find(pieces, pattern) if _same_row(p, row)]
        if found:
            header[name] = min(found, key=lambda p: abs(p.cy - row.cy))
    return header


def _rows(pieces: list[Piece]) -> list[list[Piece]]:
    rows: list[list[Piece]] = []
    for piece in sorted(pieces, key=lambda p: p.cy):
        if rows and abs(piece.cy - median(p.cy for p in rows[-1])) <= piece.box.height * 0.5:
            rows[-1].append(piece)
        else:
            rows.append([piece])
    return rows


def _nearest_column(piece: Piece, header: dict[str, Piece]) -> str:
    return min(header, key=lambda name: abs(header[name].cx - piece.cx))


def _items(pieces: list[Piece], header: dict[str, Piece], top: float, bottom: float) -> list[dict[str, str]]:
    """One dict per item row between the header and the 合计 row; a row holding only a name continues
    the name above it (a long name wraps)."""
    inside = [p for p in pieces if top < p.cy < bottom]
    items: list[dict[str, str]] = []
    for row in _rows(inside):
        cells: dict[str, list[Piece]] = {}
        for piece in sorted(row, key=lambda p: p.box.left):
            cells.setdefault(_nearest_column(piece, header), []).append(piece)
        item = {}
        for name, parts in cells.items():
            parse = ITEM_VALUE.get(name)
            if parse:
                value = parse("".join(part.text for part in parts))
            else:  # names and specs as printed, spaces kept ("A4 70g")
                value = chinese(" ".join(part.raw for part in parts))
            if value:
                item[name] = value
        if set(item) == {"CommodityName"} and items:
            items[-1]["CommodityName"] = items[-1].get("CommodityName", "") + item["CommodityName"]
        elif item:
            items.append(item)
    return items


def _totals(pieces: list[Piece], header: dict[str, Piece], total_row: Piece) -> dict[str, str]:
    fields = {}
    for piece in pieces:
        if piece is total_row or not _same_row(piece, total_row) or piece.box.left <= total_row.right:
            continue
        column = _nearest_column(piece, header)
        target = {"CommodityAmount": "TotalAmount", "CommodityTax": "TotalTax"}.get(column)
        if target and money(piece.text):
            fields.setdefault(target, money(piece.text))
    return fields


def _amount_in_words(pieces: list[Piece]) -> dict[str, str]:
    fields = {}
    for label in _find(pieces, r"大写"):
        value = amount_words(_value_beside(label, pieces, r"大写\)?"))
        if value:
            fields["AmountInWords"] = value
            break
    figures = _labelled(pieces, r"小写\)?", money)
    if figures:
        fields["AmountInFiguers"] = figures
    return fields


def _people(pieces: list[Piece]) -> dict[str, str]:
    fields = {}
    for pattern, name in ((r"收款人:", "Payee"), (r"复核:", "Checker"), (r"开票人:", "NoteDrawer")):
        value = _labelled(
            pieces, pattern, lambda text: text if re.fullmatch(r"[\u4e00-\u9fff·]{2,5}", text) else ""
        )
        if value:
            fields[name] = value
    return fields


def _remarks(pieces: list[Piece]) -> str:
    """The text right of the 备注 label, within the label's height (it is printed one character per line)."""
    labels = [p for p in pieces if p.text.startswith("备")]
    if not labels:
        return ""
    label = labels[0]
    ends = [p for p in pieces if p.text.endswith("注") and abs(p.cx - label.cx) < 20 and p.cy >= label.cy]
    bottom = max(p.box.top + p.box.height for p in [label, *ends])
    inside = [p for p in pieces if p.box.left > label.right and label.box.top <= p.cy <= bottom]
    return chinese("".join(p.raw for p in sorted(inside, key=lambda p: (round(p.cy / 20), p.box.left))))


def is_invoice(pieces: list[Piece]) -> bool:
    texts = "".join(piece.text for piece in pieces)
    return "发票" in texts and sum(marker in texts for marker in MARKERS) >= 3


def extract_invoice(lines: list[Line]) -> InvoiceResult:
    """Read an invoice from OCR lines of a level page; 282103 when the page is not an invoice."""
    pieces = pieces_of(lines)
    if not is_invoice(pieces):
        raise EngineCannotRecognize("not a VAT invoice", code=NOT_AN_INVOICE)
    title = _title(pieces)
    fields: dict[str, str] = {}
    if title:
        fields["InvoiceTypeOrg"] = title
        fields["InvoiceType"] = invoice_type(title)
    number = _labelled(pieces, r"发票号码", lambda text: digits(text, 8, 20))
    digital = len(number) == 20 or bool(_find(pieces, r"销售方信息|统一社会信用代码"))
    fields["InvoiceNum"] = number
    if not digital:
        fields["InvoiceCode"] = _labelled(pieces, r"发票代码", lambda text: digits(text, 10, 12))
        fields["CheckCode"] = _labelled(pieces, r"校验码", lambda text: digits(text, 20))
    fields["InvoiceDate"] = _labelled(pieces, r"开票日期", invoice_date)
    header = _columns(pieces)
    totals = _total_labels(pieces)
    header_y = median(p.cy for p in header.values()) if header else 0.0
    if digital:
        sellers = _find(pieces, r"销售方")
        split = (
            min(sellers, key=lambda p: p.box.top).box.left - 5
            if sellers
            else max(p.right for p in pieces) / 2
        )
    else:
        split = header_y
    fields |= _parties(pieces, digital, split)
    items: list[dict[str, str]] = []
    if "CommodityAmount" in header and totals:
        total_row = min(totals, key=lambda p: p.box.top)
        header_bottom = max(p.box.top + p.box.height for p in header.values())
        items = _items(pieces, header, header_bottom, total_row.box.top)
        fields |= _totals(pieces, header, total_row)
    fields |= _amount_in_words(pieces)
    fields |= _people(pieces)
    fields["Remarks"] = _remarks(pieces)
    return InvoiceResult(
        fields={name: value for name, value in fields.items() if value},
        items=items,
        layout="digital" if digital else "classic",
    )
