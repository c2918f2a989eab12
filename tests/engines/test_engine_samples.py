"""The rapidocr engine on every committed table sample (tuned and held-out validation) and on degraded
validation ID cards: the grid found, the grid reported identically by both table APIs, the text read.

Each table image is recognised once per module (~1-2 s each on a shared CPU) and reused by the tests.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import pytest
from baidu_ocr_server.engines.base import Table
from baidu_ocr_server.engines.rapidocr_engine import RapidOcrEngine
from baidu_ocr_server.evaluation import normalize_text as normalize
from baidu_ocr_server.shapes import async_json_result, table_v2_payload

SAMPLES = Path(__file__).resolve().parents[2] / "include" / "samples"
TABLES = sorted(
    p for folder in (SAMPLES / "tables", SAMPLES / "validation" / "tables") for p in folder.iterdir()
    if p.suffix in (".png", ".jpg")
)  # fmt: skip
IDS = [str(p.relative_to(SAMPLES)) for p in TABLES]

Span = tuple[int, int, int, int]


def truth(image: Path) -> dict:
    return json.loads(image.with_suffix(".json").read_text(encoding="utf-8"))


@cache
def recognized(image: Path) -> tuple[Table, ...]:
    return tuple(RapidOcrEngine().recognize_tables(image.read_bytes()))


def truth_cells(image: Path) -> dict[Span, str]:
    return {
        (c["row_start"], c["row_end"], c["col_start"], c["col_end"]): c["text"]
        for table in truth(image)["tables"]
        for c in table["cells"]
    }


def v2_grid(payload: dict) -> list[dict]:
    """Sync ``table`` v2 body: 0-based, exclusive ends; box from the four corners."""
    return [
        {
            cell_span(c["row_start"], c["row_end"], c["col_start"], c["col_end"]): (
                c["words"],
                (
                    c["cell_location"][0]["x"],
                    c["cell_location"][0]["y"],
                    c["cell_location"][2]["x"],
                    c["cell_location"][2]["y"],
                ),
            )  # fmt: skip
            for c in table["body"]
        }
        for table in payload["tables_result"]
    ]


def async_grid(result: str) -> list[dict]:
    """Async ``form_ocr`` JSON: every row/column a cell covers, 1-based; box as a rect."""
    forms = json.loads(result)["forms"]
    return [
        {
            cell_span(c["row"][0] - 1, c["row"][-1], c["column"][0] - 1, c["column"][-1]): (
                c["word"],
                (
                    c["rect"]["left"],
                    c["rect"]["top"],
                    c["rect"]["left"] + c["rect"]["width"],
                    c["rect"]["top"] + c["rect"]["height"],
                ),
            )  # fmt: skip
            for c in form["body"]
        }
        for form in forms
    ]


def cell_span(r0: int, r1: int, c0: int, c1: int) -> Span:
    return (r0, r1, c0, c1)


@pytest.mark.parametrize("image", TABLES, ids=IDS)
def test_both_table_apis_report_the_drawn_grid(image):
    tables = list(recognized(image))

    v2 = v2_grid(table_v2_payload(tables))
    asynchronous = async_grid(async_json_result(tables))

    assert v2 == asynchronous
    assert len(v2) == len(truth(image)["tables"]) == 1
    assert set(v2[0]) == set(truth_cells(image))


def test_validation_tables_cells_read_exactly():
    exact = total = 0
    for image in (p for p in TABLES if "validation" in p.parts):
        got = {
            (c.row_start, c.row_end, c.col_start, c.col_end): c.text
            for t in recognized(image)
            for c in t.cells
        }
        for span, text in truth_cells(image).items():
            exact += normalize(got.get(span, "")) == normalize(text)
            total += 1
    assert total >= 80
    assert exact / total >= 0.95


def test_no_cell_text_is_cut_at_a_rule():
    """Tuned samples are read without a single character lost, with their header and footer lines."""
    for image in (p for p in TABLES if "validation" not in p.parts):
        (table,) = recognized(image)
        got = {(c.row_start, c.row_end, c.col_start, c.col_end): normalize(c.text) for c in table.cells}
        assert got == {span: normalize(text) for span, text in truth_cells(image).items()}, image.name


@pytest.mark.parametrize("stem", ["idcard_02_front", "idcard_04_front", "idcard_04_back"])
def test_degraded_validation_id_card_fields_exact(stem):
    image = next((SAMPLES / "validation" / "idcards").glob(f"{stem}.*[gG]"))
    card = truth(image)["idcard"]

    result = RapidOcrEngine().recognize_idcard(image.read_bytes(), side=card["side"])

    assert {k: v.text for k, v in result.fields.items()} == {k: v["text"] for k, v in card["fields"].items()}
