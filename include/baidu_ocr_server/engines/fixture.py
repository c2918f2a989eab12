"""The ``fixture`` engine: answers from the ground-truth JSON beside each sample image (fast, exact).

Ground truth (the contract with the samples generator): ``<name>.json`` next to ``<name>.png|jpg`` with
``kind`` (document | idcard | table | invoice | broken), ``lines`` [{text, box: [l, t, w, h]}], ``idcard``
{side, fields: {label: {text, box}}}, ``tables`` [{box, cells: [{row_start, row_end, col_start, col_end,
box, text}]}], for invoices ``layout`` (classic | digital) and ``words_result`` (Baidu's ``vat_invoice``
answer for what is printed; fields left out are answered ``""``) and, for broken samples, ``expect_error`` (the Baidu code to answer). Samples are indexed by
the sha256 of the image file's bytes, so an image is recognized wherever it comes from (S3, a URL, a
rename). An image with no ground truth gets one deterministic line ``img-<12 hex of sha256>`` covering the
whole image, so throughput tests can use thousands of generated images.

A ``<name>.pdf`` beside ``<name>.json`` (``{"kind": "pdf", "pages": [<page truth>, ...]}``) is indexed per
page: each page is rendered as the server renders ``pdf_file`` pages, and its PNG's hash keys that page's truth.
A ``<name>.ofd`` (``{"kind": "ofd", "pages": [...]}``) is indexed by the OFD's hash and the page number.
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from pathlib import Path
from typing import Any

from PIL import Image

from baidu_ocr_server.engines.base import (
    Box,
    Char,
    EngineCannotRecognize,
    IdCardResult,
    InvoiceResult,
    Line,
    LinesResult,
    Table,
    TableCell,
)

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")
DEFAULT_SAMPLES_DIR = Path(__file__).resolve().parents[2] / "samples"


def _box(values: Any) -> Box:
    left, top, width, height = (int(round(float(value))) for value in values)
    return Box(left, top, width, height)


def _line(item: dict) -> Line:
    return Line(
        text=str(item.get("text", "")),
        box=_box(item["box"]),
        prob_average=float(item.get("prob_average", 0.99)),
        prob_min=float(item.get("prob_min", 0.98)),
        prob_variance=float(item.get("prob_variance", 0.0001)),
    )


def split_chars(line: Line) -> list[Char]:
    """Per-character boxes by dividing the line's width evenly (ground truth has line boxes only)."""
    count = len(line.text)
    if not count:
        return []
    width = line.box.width / count
    return [
        Char(
            char,
            Box(line.box.left + int(round(index * width)), line.box.top, max(1, int(width)), line.box.height),
        )
        for index, char in enumerate(line.text)
    ]


def _pdf_page_index(pdf_path: Path, truth: dict) -> dict[str, dict]:
    """Page truth keyed by the hash of the page as the server renders it (the engine sees only images)."""
    from baidu_ocr_server.documents import render_pdf_page
    from baidu_ocr_server.images import DEFAULT_LIMITS

    data = pdf_path.read_bytes()
    index = {}
    for page_no, page_truth in enumerate(truth.get("pages", []), start=1):
        rendered, _ = render_pdf_page(data, page_no, DEFAULT_LIMITS)
        index[hashlib.sha256(rendered).hexdigest()] = page_truth
    return index


class FixtureEngine:
    """Deterministic engine over a directory of samples with ground truth."""

    name = "fixture"

    def __init__(self, samples_dir: str | Path | None = None) -> None:
        self.samples_dir = Path(samples_dir) if samples_dir else DEFAULT_SAMPLES_DIR
        self._index: dict[str, dict] | None = None
        self._lock = threading.Lock()

    # -- ground truth -----------------------------------------------------------------------------------
    def _build_index(self) -> dict[str, dict]:
        index: dict[str, dict] = {}
        if not self.samples_dir.is_dir():
            return index
        for truth_path in sorted(self.samples_dir.rglob("*.json")):
            image_path = next(
                (
                    truth_path.with_suffix(suffix)
                    for suffix in IMAGE_SUFFIXES
                    if truth_path.with_suffix(suffix).is_file()
                ),
                None,
            )
            pdf_path = truth_path.with_suffix(".pdf")
            ofd_path = truth_path.with_suffix(".ofd")
            if image_path is None and ofd_path.is_file():
                pages = json.loads(truth_path.read_text(encoding="utf-8")).get("pages", [])
                digest = hashlib.sha256(ofd_path.read_bytes()).hexdigest()
                index.update({f"ofd:{digest}:{n}": page for n, page in enumerate(pages, start=1)})
            if image_path is None and pdf_path.is_file():
                index.update(_pdf_page_index(pdf_path, json.loads(truth_path.read_text(encoding="utf-8"))))
            if image_path is None:
                continue
            truth = json.loads(truth_path.read_text(encoding="utf-8"))
            index[hashlib.sha256(image_path.read_bytes()).hexdigest()] = truth
        return index

    def _truth_index(self) -> dict[str, dict]:
        """The index, built once, on first use."""
        if self._index is None:
            with self._lock:
                if self._index is None:
                    self._index = self._build_index()
        return self._index

    def truth_for(self, image: bytes) -> dict | None:
        """Ground truth of this image, or ``None``."""
        truth = self._truth_index().get(hashlib.sha256(image).hexdigest())
        if truth and truth.get("expect_error"):
            raise EngineCannotRecognize("fixture expects an error", code=int(truth["expect_error"]))
        return truth

    @staticmethod
    def _placeholder_line(image: bytes) -> Line:
        with Image.open(io.BytesIO(image)) as decoded:
            width, height = decoded.size
        return Line(text=f"img-{hashlib.sha256(image).hexdigest()[:12]}", box=Box(0, 0, width, height))

    # -- the Engine interface ---------------------------------------------------------------------------
    def recognize_lines(
        self, image: bytes, *, chars: bool = False, detect_direction: bool = False
    ) -> LinesResult:
        truth = self.truth_for(image)
        if truth is None:
            lines = [self._placeholder_line(image)]
        else:
            lines = [_line(item) for item in truth.get("lines", [])]
        if chars:
            for line in lines:
                line.chars = split_chars(line)
        return LinesResult(lines=lines, direction=int((truth or {}).get("direction", 0)))

    def recognize_idcard(self, image: bytes, *, side: str) -> IdCardResult:
        """A card shown with the other ``side`` requested is ``reversed_side``; a non-card ``non_idcard``."""
        truth = self.truth_for(image)
        card = (truth or {}).get("idcard")
        if not card:
            return IdCardResult(fields={}, side=side, image_status="non_idcard")
        fields = {label: _line(item) for label, item in card.get("fields", {}).items()}
        if card.get("side") != side:
            return IdCardResult(fields={}, side=side, image_status="reversed_side")
        return IdCardResult(fields=fields, side=side, image_status=card.get("image_status", "normal"))

    def recognize_invoice_text(
        self, lines: list[Line], *, document: bytes, page_no: int, kind: str = "normal"
    ) -> InvoiceResult:
        """An OFD sample page's truth verbatim; another OFD is read from its text layer (it is exact)."""
        truth = self._truth_index().get(f"ofd:{hashlib.sha256(document).hexdigest()}:{page_no}")
        if truth is None:
            from baidu_ocr_server.engines.invoices import extract_invoice

            return extract_invoice(lines)
        return self._invoice_from_truth(truth)

    def recognize_invoice(self, image: bytes, *, kind: str = "normal") -> InvoiceResult:
        """An invoice sample's truth verbatim; anything else (a document, an unknown image) is 282103."""
        return self._invoice_from_truth(self.truth_for(image))

    @staticmethod
    def _invoice_from_truth(truth: dict | None) -> InvoiceResult:
        if not truth or truth.get("kind") != "invoice":
            raise EngineCannotRecognize("not an invoice", code=282103)
        fields, rows = {}, {}
        for name, value in truth["words_result"].items():
            if isinstance(value, list):
                for cell in value:
                    rows.setdefault(int(cell["row"]), {})[name] = str(cell["word"])
            else:
                fields[name] = str(value)
        items = [rows.get(row, {}) for row in range(1, max(rows, default=0) + 1)]
        return InvoiceResult(fields=fields, items=items, layout=truth.get("layout", "classic"))

    def recognize_tables(self, image: bytes) -> list[Table]:
        """Ground-truth tables; an image without any answers one 1x1 table holding its placeholder line."""
        truth = self.truth_for(image)
        if truth is None or not truth.get("tables"):
            line = self._placeholder_line(image) if truth is None else None
            if line is None:
                return []
            return [Table(box=line.box, cells=[TableCell(0, 1, 0, 1, line.box, line.text)])]
        tables = []
        for table in truth["tables"]:
            cells = [
                TableCell(
                    row_start=int(cell["row_start"]),
                    row_end=int(cell["row_end"]),
                    col_start=int(cell["col_start"]),
                    col_end=int(cell["col_end"]),
                    box=_box(cell["box"]),
                    text=str(cell.get("text", "")),
                )
                for cell in table.get("cells", [])
            ]
            tables.append(
                Table(
                    box=_box(table["box"]),
                    cells=cells,
                    header=[_line(item) for item in table.get("header", [])],
                    footer=[_line(item) for item in table.get("footer", [])],
                )
            )
        return tables
