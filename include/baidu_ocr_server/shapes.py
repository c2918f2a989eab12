"""Engine results -> the JSON shapes Baidu returns, per endpoint family. Pure functions, no HTTP.

Decisions where Baidu's pages are thin (kept here so they are easy to revisit):

- ``general_basic``, ``accurate_basic`` and ``webimage`` return lines without ``location`` (Baidu sells
  ``webimage_loc`` for that); ``general``, ``accurate``, ``handwriting`` and ``numbers`` return ``location``
  per line, and ``chars`` with ``recognize_granularity=small``.
- ``probability``, ``direction`` and ``paragraphs_result`` are added only when asked for, as Baidu does.
- The sync ``form`` body items carry ``row``/``column`` as 0-based integers (the cell's first row/column),
  ``word``, ``probability``, ``vertexes_location`` (Baidu's documented field) and ``rect``.
- The async JSON result lists every row/column a cell spans, 1-based (Baidu's example starts at [1]).
- ``idcard_number_type`` is returned for the front side only: -1 no number, 1 valid (GB 11643 check
  digit and birth date agree), 0 valid checksum but inconsistent with the ``出生`` field, 2 invalid format.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date

from baidu_ocr_server.engines.base import (
    INVOICE_ITEMS,
    INVOICE_SCALARS,
    Box,
    IdCardResult,
    InvoiceResult,
    Line,
    LinesResult,
    Table,
)
from baidu_ocr_server.engines.idcard_values import gb11643_check_digit

FRONT_FIELDS = ("住址", "公民身份号码", "出生", "姓名", "性别", "民族")
BACK_FIELDS = ("失效日期", "签发机关", "签发日期")
_ID_NUMBER = re.compile(r"^\d{17}[\dX]$")


@dataclass(frozen=True)
class LineOptions:
    """The request options that change a line-family response."""

    location: bool = False
    probability: bool = False
    chars: bool = False
    detect_direction: bool = False
    paragraph: bool = False
    vertexes_location: bool = False


def location(box: Box) -> dict[str, int]:
    return {"left": box.left, "top": box.top, "width": box.width, "height": box.height}


def vertexes(box: Box) -> list[dict[str, int]]:
    """Four corners clockwise from top-left, Baidu's ``vertexes_location`` order."""
    right, bottom = box.left + box.width, box.top + box.height
    return [
        {"x": box.left, "y": box.top},
        {"x": right, "y": box.top},
        {"x": right, "y": bottom},
        {"x": box.left, "y": bottom},
    ]


def _probability(line: Line) -> dict[str, float]:
    return {"average": line.prob_average, "min": line.prob_min, "variance": line.prob_variance}


def _paragraphs(lines: list[Line]) -> list[dict[str, list[int]]]:
    """Group consecutive lines whose vertical gap is under one line height into a paragraph."""
    paragraphs: list[list[int]] = []
    previous: Line | None = None
    for index, line in enumerate(lines):
        gap_limit = previous.box.height if previous else 0
        if previous is not None and line.box.top - (previous.box.top + previous.box.height) <= gap_limit:
            paragraphs[-1].append(index)
        else:
            paragraphs.append([index])
        previous = line
    return [{"words_result_idx": indexes} for indexes in paragraphs]


def lines_payload(result: LinesResult, options: LineOptions) -> dict:
    words_result = []
    for line in result.lines:
        item: dict = {}
        if options.location:
            item["location"] = location(line.box)
        item["words"] = line.text
        if options.location and options.chars:
            item["chars"] = [{"location": location(char.box), "char": char.char} for char in line.chars]
        if options.location and options.vertexes_location:
            item["vertexes_location"] = vertexes(line.box)
        if options.probability:
            item["probability"] = _probability(line)
        words_result.append(item)
    payload: dict = {}
    if options.detect_direction:
        payload["direction"] = result.direction
    payload["words_result_num"] = len(words_result)
    payload["words_result"] = words_result
    if options.paragraph:
        paragraphs = _paragraphs(result.lines)
        payload["paragraphs_result_num"] = len(paragraphs)
        payload["paragraphs_result"] = paragraphs
    return payload


def idcard_number_type(number: str, birth: str | None = None) -> int:
    """Baidu's ``idcard_number_type`` computed from the recognized number (see the module docstring)."""
    number = (number or "").strip().upper()
    if not number:
        return -1
    if not _ID_NUMBER.match(number) or gb11643_check_digit(number[:17]) != number[17]:
        return 2
    try:
        date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        return 2
    if birth and birth.strip() and birth.strip() != number[6:14]:
        return 0
    return 1


def idcard_payload(result: IdCardResult, *, detect_direction: bool) -> dict:
    """Every label of the side is present (empty ``words`` when not found), unless it is not a card."""
    labels = FRONT_FIELDS if result.side == "front" else BACK_FIELDS
    words_result: dict[str, dict] = {}
    if result.image_status not in ("non_idcard", "unknown"):
        for label in labels:
            line = result.fields.get(label)
            box = line.box if line else Box(0, 0, 0, 0)
            words_result[label] = {"location": location(box), "words": line.text if line else ""}
    payload: dict = {}
    if detect_direction:
        payload["direction"] = result.direction
    payload["words_result"] = words_result
    payload["words_result_num"] = len(words_result)
    if result.side == "front":
        number = words_result.get("公民身份号码", {}).get("words", "")
        birth = words_result.get("出生", {}).get("words", "")
        payload["idcard_number_type"] = idcard_number_type(number, birth)
    payload["image_status"] = result.image_status
    payload["risk_type"] = "normal"
    return payload


def invoice_payload(result: InvoiceResult) -> dict:
    """``vat_invoice``: every scalar as a string (``""`` when not read), every item field as a list of
    ``{"row": "1", "word": ...}`` with rows only for the cells read; ``words_result_num`` counts the keys."""
    words_result: dict = {name: str(result.fields.get(name, "")) for name in INVOICE_SCALARS}
    for name in INVOICE_ITEMS:
        words_result[name] = [
            {"row": str(row), "word": item[name]}
            for row, item in enumerate(result.items, start=1)
            if item.get(name)
        ]
    return {"words_result_num": len(words_result), "words_result": words_result}


def _header_lines(lines: list[Line], key: str) -> list[dict]:
    return [{key: vertexes(line.box), "words": line.text} for line in lines]


def table_v2_payload(tables: list[Table]) -> dict:
    """``ocr/v1/table``: 0-based rows/columns with exclusive ends, corners as ``{x, y}`` points."""
    tables_result = []
    for table in tables:
        tables_result.append(
            {
                "table_location": vertexes(table.box),
                "header": _header_lines(table.header, "location"),
                "body": [
                    {
                        "cell_location": vertexes(cell.box),
                        "row_start": cell.row_start,
                        "row_end": cell.row_end,
                        "col_start": cell.col_start,
                        "col_end": cell.col_end,
                        "words": cell.text,
                    }
                    for cell in table.cells
                ],
                "footer": _header_lines(table.footer, "location"),
            }
        )
    return {"table_num": len(tables_result), "tables_result": tables_result}


def _form_line(line: Line) -> dict:
    return {"probability": line.prob_average, "vertexes_location": vertexes(line.box), "word": line.text}


def form_payload(tables: list[Table]) -> dict:
    """``ocr/v1/form`` (sync table, older API): ``forms_result`` with header/body/footer per table."""
    forms = []
    for table in tables:
        forms.append(
            {
                "header": [_form_line(line) for line in table.header],
                "body": [
                    {
                        "column": cell.col_start,
                        "row": cell.row_start,
                        "probability": 1.0,
                        "rect": location(cell.box),
                        "vertexes_location": vertexes(cell.box),
                        "word": cell.text,
                    }
                    for cell in table.cells
                ],
                "footer": [_form_line(line) for line in table.footer],
                "vertexes_location": vertexes(table.box),
            }
        )
    return {"forms_result_num": len(forms), "forms_result": forms}


def async_json_result(tables: list[Table]) -> str:
    """``get_request_result`` with ``result_type=json``: a JSON *string*, rows/columns listed 1-based."""

    def line(line: Line) -> dict:
        return {"rect": location(line.box), "word": line.text}

    forms = [
        {
            "header": [line(item) for item in table.header],
            "body": [
                {
                    "rect": location(cell.box),
                    "row": list(range(cell.row_start + 1, cell.row_end + 1)),
                    "column": list(range(cell.col_start + 1, cell.col_end + 1)),
                    "word": cell.text,
                }
                for cell in table.cells
            ],
            "footer": [line(item) for item in table.footer],
        }
        for table in tables
    ]
    return json.dumps({"form_num": len(forms), "forms": forms}, ensure_ascii=False)
