"""The real engine: PP-OCR models from the ``rapidocr`` wheel, run with onnxruntime on the CPU.

The model files ship inside the wheel (``rapidocr/models``); their paths are passed explicitly, because
rapidocr only downloads when ``model_path`` is unset. One ``RapidOCR`` instance is loaded lazily per process
and shared by every engine object; its calls are serialised with a lock, because ``RapidOCR.__call__``
mutates the instance's options (``update_params``) and the local server is threaded.

Choices, where Baidu's behaviour has to be approximated:

* Per-character boxes (``chars=True``) come from rapidocr's CTC alignment (``return_single_char_box``);
  when a line's character count does not match its text, the line box is split in equal widths.
* ``prob_*`` are the statistics of the per-character scores (the line score when there are none).
* ``detect_direction``: text-line boxes that are mostly taller than wide mean a 90/270° turn; the image
  is turned a quarter clockwise and rapidocr's 0/180° text classifier decides between the two. The lines
  are then read from the upright image and their boxes mapped back to the image as sent, in upright
  reading order. Direction codes are Baidu's: content turned 0, 90, 180, 270° counter-clockwise -> 0..3.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path
from statistics import fmean, pvariance
from typing import Any

import cv2
import numpy as np

from .base import (
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
from .idcards import extract_idcard
from .ink import text_rows
from .invoices import extract_invoice
from .seals import seal_ink
from .tables import MIN_SKEW, TableGrid, erase_rules, find_tables_in_scan, skew_angle, straighten, text_ink

_INSTANCE: Any = None
_LOAD_LOCK = threading.Lock()
_CALL_LOCK = threading.Lock()

#: Cell text rows are scaled to at least this height before recognition (the rec model reads 48 px rows).
MIN_ROW_HEIGHT = 40
CELL_PADDING = 10


def _model_params() -> dict[str, Any]:
    """Config overrides that pin every model to the files inside the installed wheel (never download)."""
    import rapidocr

    models = Path(rapidocr.__file__).resolve().parent / "models"

    def only(pattern: str) -> str:
        matches = sorted(models.glob(pattern))
        if not matches:
            raise RuntimeError(f"rapidocr wheel has no model matching {pattern} in {models}")
        return str(matches[-1])

    return {
        "Global.log_level": "error",
        "Global.model_root_dir": str(models),
        "Det.model_path": only("*det*.onnx"),
        "Cls.model_path": only("*cls*.onnx"),
        "Rec.model_path": only("*rec*.onnx"),
    }


def shared_rapidocr() -> Any:
    """The process-wide ``RapidOCR`` instance, created on first use (model load takes ~1 s)."""
    global _INSTANCE
    if _INSTANCE is None:
        with _LOAD_LOCK:
            if _INSTANCE is None:
                from rapidocr import RapidOCR

                _INSTANCE = RapidOCR(params=_model_params())
    return _INSTANCE


def decode_image(image: bytes) -> np.ndarray:
    """BGR pixels of an encoded image; the HTTP layer has validated it, but stay defensive."""
    pixels = cv2.imdecode(np.frombuffer(image, dtype=np.uint8), cv2.IMREAD_COLOR) if image else None
    if pixels is None:
        raise EngineCannotRecognize("image could not be decoded")
    return pixels


def _quad_box(quad: Any) -> Box:
    points = np.asarray(quad, dtype=np.float32).reshape(-1, 2)
    left, top = np.floor(points.min(axis=0))
    right, bottom = np.ceil(points.max(axis=0))
    return Box(int(left), int(top), int(right - left), int(bottom - top))


def _rotate_box(box: Box, quarter_turns_ccw: int, width: int, height: int) -> Box:
    """Map a box of an image of ``width`` x ``height`` into that image turned counter-clockwise."""
    left, top, right, bottom = box.left, box.top, box.left + box.width, box.top + box.height
    for _ in range(quarter_turns_ccw % 4):
        # A point (x, y) moves to (y, width - x); width and height swap.
        left, top, right, bottom = top, width - right, bottom, width - left
        width, height = height, width
    return Box(left, top, right - left, bottom - top)


def _upright(pixels: np.ndarray, direction: int) -> np.ndarray:
    """Undo Baidu ``direction`` (content turned direction x 90° ccw) by turning clockwise."""
    return np.ascontiguousarray(np.rot90(pixels, k=-direction)) if direction else pixels


class RapidOcrEngine:
    """Baidu-like results from rapidocr; see the module docstring for how Baidu's options are approximated."""

    name = "rapidocr"

    # ---------------------------------------------------------------- model calls (serialised)

    def _run(self, pixels: np.ndarray, *, det: bool = True, cls: bool = True, rec: bool = True) -> Any:
        ocr = shared_rapidocr()
        with _CALL_LOCK:
            return ocr(
                pixels, use_det=det, use_cls=cls, use_rec=rec, return_word_box=rec, return_single_char_box=rec
            )

    def _read_rows(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """Recognise single text rows (no detection): one batched call for all table cells."""
        if not crops:
            return []
        ocr = shared_rapidocr()
        with _CALL_LOCK:
            result = ocr.recognize_txt(crops)
        return list(zip(result.txts, result.scores, strict=True))

    def _lines(self, pixels: np.ndarray, *, cls: bool = True) -> list[Line]:
        result = self._run(pixels, cls=cls)
        if result.txts is None or result.boxes is None or len(result.txts) == 0:
            return []
        words = (
            result.word_results if len(result.word_results) == len(result.txts) else [()] * len(result.txts)
        )
        lines = []
        for quad, text, score, word in zip(result.boxes, result.txts, result.scores, words, strict=True):
            chars = [Char(ch, _quad_box(q)) for ch, _, q in word if q is not None and ch.strip()]
            scores = [float(s) for ch, s, _ in word if ch.strip()] or [float(score)]
            if len(chars) != len(re.sub(r"\s+", "", text)):
                chars = []
            lines.append(
                Line(
                    text=text,
                    box=_quad_box(quad),
                    prob_average=round(fmean(scores), 5),
                    prob_min=round(min(scores), 5),
                    prob_variance=round(pvariance(scores), 6),
                    chars=chars,
                )
            )
        return lines

    # ---------------------------------------------------------------- direction

    def _detect_direction(self, pixels: np.ndarray) -> int:
        detected = self._run(pixels, cls=False, rec=False)
        boxes = [_quad_box(q) for q in (detected.boxes if detected.boxes is not None else [])]
        elongated = [b for b in boxes if max(b.width, b.height) >= 2 * min(b.width, b.height)]
        if not elongated:
            return 0
        sideways = sum(b.height > b.width for b in elongated) > len(elongated) / 2
        horizontal = _upright(pixels, 1) if sideways else pixels
        if sideways:
            detected = self._run(horizontal, cls=False, rec=False)
        if detected.boxes is None or len(detected.boxes) == 0:
            return 1 if sideways else 0
        ocr = shared_rapidocr()
        with _CALL_LOCK:
            crops = ocr.crop_text_regions(horizontal, detected.boxes)
            labels = ocr.cls_and_rotate(crops)[1].cls_res
        weights = [crop.shape[1] for crop in crops]
        flipped = sum(w * s for (label, s), w in zip(labels, weights, strict=True) if label == "180")
        upright = sum(w * s for (label, s), w in zip(labels, weights, strict=True) if label != "180")
        turned = flipped > upright
        if sideways:
            return 3 if turned else 1
        return 2 if turned else 0

    # ---------------------------------------------------------------- Engine protocol

    def recognize_lines(
        self, image: bytes, *, chars: bool = False, detect_direction: bool = False
    ) -> LinesResult:
        pixels = decode_image(image)
        direction = self._detect_direction(pixels) if detect_direction else 0
        upright = _upright(pixels, direction)
        lines = self._lines(upright)
        height, width = upright.shape[:2]
        for line in lines:
            if direction:
                line.box = _rotate_box(line.box, direction, width, height)
                for char in line.chars:
                    char.box = _rotate_box(char.box, direction, width, height)
            if not chars:
                line.chars = []
        return LinesResult(lines=lines, direction=direction)

    def recognize_idcard(self, image: bytes, *, side: str) -> IdCardResult:
        result = self.recognize_lines(image, chars=True)
        if not result.lines:
            raise EngineCannotRecognize("no text found on the image")
        return extract_idcard(result.lines, side)

    def recognize_invoice(self, image: bytes, *, kind: str = "normal") -> InvoiceResult:
        """Read the invoice on a page without its seal and colours, levelled: the seal's red ink is dropped
        (``seals``), so its text neither hides nor joins the seller's; each pixel's brightest channel pales
        the brown/green print while black print stays black; a level page keeps each printed row on one
        line."""
        pixels = decode_image(image)
        brightest = pixels.max(axis=2)
        paper = int(np.percentile(brightest, 90))
        brightest[seal_ink(pixels)] = paper
        angle = skew_angle(brightest)
        if abs(angle) >= MIN_SKEW:
            brightest = straighten(brightest, angle, paper=paper).pixels
        # Upright once levelled: the 0/180° classifier would only turn short cells over ("9%" -> "%6").
        lines = self._lines(cv2.cvtColor(brightest, cv2.COLOR_GRAY2BGR), cls=False)
        return extract_invoice(lines)

    def recognize_invoice_text(
        self, lines: list[Line], *, document: bytes, page_no: int, kind: str = "normal"
    ) -> InvoiceResult:
        """An OFD page's text layer is exact: no model, the same label/value reading."""
        return extract_invoice(lines)

    def recognize_tables(self, image: bytes) -> list[Table]:
        """Level the page, find ruled grids, erase the rules, read each cell; boxes are mapped back."""
        pixels = decode_image(image)
        page, grids = find_tables_in_scan(pixels)  # in colour: brown, green and light blue rules are found
        if not grids:
            return []
        texts = self._cell_texts(erase_rules(page.pixels, grids), grids)
        tables = []
        for i, grid in enumerate(grids):
            cells = [
                TableCell(c.row_start, c.row_end, c.col_start, c.col_end, page.to_sent(c.box), texts[(i, j)])
                for j, c in enumerate(grid.cells)
            ]
            tables.append(Table(box=page.to_sent(grid.box), cells=cells))
        outside = pixels.copy()
        for table in tables:
            b = table.box
            outside[max(0, b.top - 4) : b.top + b.height + 5, max(0, b.left - 4) : b.left + b.width + 5] = 255
        for line in self._lines(outside):
            middle = line.box.top + line.box.height / 2
            below = [t for t in tables if t.box.top + t.box.height <= middle]
            above = [t for t in tables if t.box.top >= middle]
            if above:
                above[0].header.append(line)  # tables are sorted top to bottom
            elif below:
                below[-1].footer.append(line)
        return tables

    def _cell_texts(self, clean: np.ndarray, grids: list[TableGrid]) -> dict[tuple[int, int], str]:
        """Read every cell of a page whose rules are erased: cut it into text rows by ink projection, pad
        each row with paper on all sides (no stroke may touch the crop edge), recognise all in one batch."""
        ink = text_ink(clean)
        paper = int(np.percentile(clean, 90))
        regions = {}
        for i, grid in enumerate(grids):
            for j, cell in enumerate(grid.cells):
                top = grid.y_bands[cell.row_start][1] + 2
                bottom = grid.y_bands[cell.row_end][0] - 1
                left = grid.x_bands[cell.col_start][1] + 2
                right = grid.x_bands[cell.col_end][0] - 1
                if bottom - top > 4 and right - left > 4:
                    regions[(i, j)] = (top, bottom, left, right)
        all_rows = [
            row_bottom - row_top
            for top, bottom, left, right in regions.values()
            for row_top, row_bottom in text_rows(ink[top:bottom, left:right])
        ]
        line_height = float(np.median(all_rows)) if all_rows else None
        crops, owners = [], []
        for owner, (top, bottom, left, right) in regions.items():
            cell_ink = ink[top:bottom, left:right]
            for row_top, row_bottom in text_rows(cell_ink, line_height=line_height):
                columns = np.flatnonzero(cell_ink[row_top:row_bottom].any(axis=0))
                if columns.size == 0:
                    continue
                y0, y1 = max(0, row_top - 4), min(cell_ink.shape[0], row_bottom + 4)
                x0, x1 = max(0, columns[0] - 4), min(cell_ink.shape[1], columns[-1] + 5)
                row = clean[top + y0 : top + y1, left + x0 : left + x1]
                crops.append(self._prepare_row(row, paper))
                owners.append(owner)
        texts: dict[tuple[int, int], list[str]] = {
            (i, j): [] for i, grid in enumerate(grids) for j in range(len(grid.cells))
        }
        for owner, (text, _score) in zip(owners, self._read_rows(crops), strict=True):
            if text.strip():
                texts[owner].append(text.strip())
        return {key: join_rows(parts) for key, parts in texts.items()}

    @staticmethod
    def _prepare_row(row: np.ndarray, paper: int = 255) -> np.ndarray:
        """Pad with paper and scale small rows up: the recogniser was trained on roomy 48 px lines."""
        padded = cv2.copyMakeBorder(row, CELL_PADDING, CELL_PADDING, CELL_PADDING, CELL_PADDING,
                                    cv2.BORDER_CONSTANT, value=paper)  # fmt: skip
        if padded.shape[0] < MIN_ROW_HEIGHT:
            scale = MIN_ROW_HEIGHT / padded.shape[0]
            padded = cv2.resize(padded, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
        return cv2.cvtColor(padded, cv2.COLOR_GRAY2BGR)


def join_rows(parts: list[str]) -> str:
    """Join a cell's text rows: no separator inside Chinese text, a space between Latin words."""
    joined = ""
    for part in parts:
        if (
            joined
            and joined[-1].isascii()
            and joined[-1].isalnum()
            and part[0].isascii()
            and part[0].isalnum()
        ):
            joined += " "
        joined += part
    return joined
