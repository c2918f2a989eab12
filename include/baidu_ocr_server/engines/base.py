"""The one small interface behind which OCR engines are interchangeable (rapidocr, fixture).

Engines return plain dataclasses in pixel coordinates of the image they were given; the HTTP layer
(``responses``) turns them into Baidu-shaped JSON. Nothing here knows about HTTP or Baidu error codes,
except :class:`EngineCannotRecognize`, which the HTTP layer renders as Baidu's "recognize error".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Box:
    left: int
    top: int
    width: int
    height: int


@dataclass
class Char:
    char: str
    box: Box


@dataclass
class Line:
    text: str
    box: Box
    prob_average: float = 1.0
    prob_min: float = 1.0
    prob_variance: float = 0.0
    chars: list[Char] = field(default_factory=list)


@dataclass
class LinesResult:
    lines: list[Line]
    direction: int = 0  # Baidu's convention: 0 upright, 1 = 90° ccw, 2 = 180°, 3 = 270°


@dataclass
class IdCardResult:
    """Fields keyed by the card's own Chinese labels (姓名, 性别, 民族, 出生, 住址, 公民身份号码 /
    签发机关, 签发日期, 失效日期)."""

    fields: dict[str, Line]
    side: str  # "front" | "back"
    image_status: str = "normal"
    direction: int = 0


#: ``vat_invoice`` scalar fields, as Baidu names (and spells) them; each is answered, ``""`` when not read.
INVOICE_SCALARS = (
    "InvoiceType", "InvoiceTypeOrg", "InvoiceCode", "InvoiceNum", "InvoiceDate", "CheckCode", "MachineCode",
    "Password", "SheetNum", "Province", "City", "ServiceType", "Agent",
    "PurchaserName", "PurchaserRegisterNum", "PurchaserAddress", "PurchaserBank",
    "SellerName", "SellerRegisterNum", "SellerAddress", "SellerBank",
    "TotalAmount", "TotalTax", "AmountInFiguers", "AmountInWords", "Payee", "Checker", "NoteDrawer", "Remarks",
)  # fmt: skip
#: Item-line fields: arrays of ``{"row", "word"}``, a row only where the cell was read.
INVOICE_ITEMS = (
    "CommodityName", "CommodityType", "CommodityUnit", "CommodityNum", "CommodityPrice", "CommodityAmount",
    "CommodityTaxRate", "CommodityTax",
)  # fmt: skip


@dataclass
class InvoiceResult:
    """A VAT invoice as read: ``fields`` keyed by :data:`INVOICE_SCALARS` (only those read), ``items`` one
    dict per printed item line keyed by :data:`INVOICE_ITEMS` (only the cells read)."""

    fields: dict[str, str]
    items: list[dict[str, str]] = field(default_factory=list)
    layout: str = "classic"  # classic | digital (数电票)


@dataclass
class TableCell:
    row_start: int  # 0-based, *_end exclusive (Baidu table v2 convention)
    row_end: int
    col_start: int
    col_end: int
    box: Box
    text: str


@dataclass
class Table:
    box: Box
    cells: list[TableCell]
    header: list[Line] = field(default_factory=list)
    footer: list[Line] = field(default_factory=list)


class EngineCannotRecognize(Exception):
    """The image decoded but the engine found nothing it could recognize for this kind of request.

    ``code`` optionally names the Baidu error to answer (e.g. 216633 for an ID card, or a fixture's
    ``expect_error``); without it the HTTP layer picks the endpoint family's "recognize error".
    """

    def __init__(self, message: str = "", code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


class Engine(Protocol):
    name: str

    def recognize_lines(
        self, image: bytes, *, chars: bool = False, detect_direction: bool = False
    ) -> LinesResult:
        """Text lines of a decoded, validated image (bytes of a JPEG/PNG/BMP/...)."""

    def recognize_idcard(self, image: bytes, *, side: str) -> IdCardResult: ...

    def recognize_tables(self, image: bytes) -> list[Table]: ...

    def recognize_invoice(self, image: bytes, *, kind: str = "normal") -> InvoiceResult:
        """A VAT invoice's fields; :class:`EngineCannotRecognize` (282103) when the image is none."""

    def recognize_invoice_text(
        self, lines: list[Line], *, document: bytes, page_no: int, kind: str = "normal"
    ) -> InvoiceResult:
        """The same from a page's exact text layer (an OFD's ``lines``; ``document`` and ``page_no`` say
        which page it is)."""
