"""Faint and coloured rules (issue 22): found like black ones.

The rule finder on drawn colour pages (no model, milliseconds each): one 4 x 4 table with a bold title just
above it, ruled 1 px in a light grey or in a pale print of an invoice grid's colour, slightly blurred as a
scan is. Then the engine on the two committed samples that were lost whole before: a light grey 4 x 4
table with a title, and a pale brown grid.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from baidu_ocr_server.engines.tables import find_tables_in_scan
from baidu_ocr_server.evaluation import normalize_text as normalize

from .test_engine_samples import recognized  # one reading per image for both modules

SAMPLES = Path(__file__).resolve().parents[2] / "include" / "samples"
XS = [60, 240, 380, 520, 660]
YS = [90, 140, 190, 240, 290]
WANT = {(r, r + 1, c, c + 1) for r in range(4) for c in range(4)}


def faded(rgb: tuple[int, int, int], strength: float) -> tuple[int, int, int]:
    """The colour printed at ``strength`` (1 = full ink), as BGR for OpenCV."""
    r, g, b = (round(255 - (255 - v) * strength) for v in rgb)
    return (b, g, r)


#: (name, rule colour as BGR): a light grey, and pale prints of invoice grid colours.
PALE = [
    ("light grey #dedede", faded((222, 222, 222), 1.0)),
    ("brown #8b4513", faded((139, 69, 19), 0.25)),
    ("green #008000", faded((0, 128, 0), 0.25)),
    ("red-brown #a52a2a", faded((165, 42, 42), 0.25)),
]
#: Light blue this pale is barely darker than the paper in luminance; its red channel still is.
PALE_BLUE = ("light blue #add8e6", faded((173, 216, 230), 0.3))


def draw_page(rule: tuple[int, int, int]) -> np.ndarray:
    page = np.full((YS[-1] + 60, XS[-1] + 60, 3), 255, np.uint8)
    for y in YS:
        cv2.line(page, (XS[0], y), (XS[-1], y), rule, 1)
    for x in XS:
        cv2.line(page, (x, YS[0]), (x, YS[-1]), rule, 1)
    cv2.putText(page, "SALES LIST 2024", (XS[0], YS[0] - 14), cv2.FONT_HERSHEY_SIMPLEX, 1.1, (0, 0, 0), 3)
    for r in range(4):
        for c in range(4):
            cv2.putText(
                page, "TOTAL--", (XS[c] + 12, YS[r + 1] - 16), cv2.FONT_HERSHEY_SIMPLEX, 0.8, (0, 0, 0), 2
            )
    return cv2.GaussianBlur(page, (0, 0), 0.7)


def spans(page: np.ndarray) -> set[tuple[int, int, int, int]]:
    _, grids = find_tables_in_scan(page)
    assert len(grids) == 1
    return {(c.row_start, c.row_end, c.col_start, c.col_end) for c in grids[0].cells}


@pytest.mark.parametrize("rule", [c for _, c in [*PALE, PALE_BLUE]], ids=[n for n, _ in [*PALE, PALE_BLUE]])
def test_faint_or_coloured_rules_give_the_drawn_grid(rule):
    assert spans(draw_page(rule)) == WANT


@pytest.mark.parametrize("rule", [c for _, c in PALE], ids=[n for n, _ in PALE])
def test_a_grey_page_of_the_same_table_gives_the_same_grid(rule):
    """Callers that pass a grey page (the luminance) still find faint rules."""
    assert spans(cv2.cvtColor(draw_page(rule), cv2.COLOR_BGR2GRAY)) == WANT


@pytest.mark.parametrize(
    "stem",
    [
        "table_12",  # a plain 4 x 4 table with a title, ruled 1 px in #e2e2e2: no table was found
        "table_13",  # merged cells ruled 1 px in a pale brown (#e1b996), blurred: a border went missing
    ],
)
def test_faint_ruled_tables_are_read_cell_for_cell(stem):
    image = next(p for p in (SAMPLES / "tables").glob(f"{stem}.*") if p.suffix != ".json")
    truth = json.loads(image.with_suffix(".json").read_text(encoding="utf-8"))
    want = {
        (c["row_start"], c["row_end"], c["col_start"], c["col_end"]): c["text"]
        for c in truth["tables"][0]["cells"]
    }

    (table,) = recognized(image)

    got = {(c.row_start, c.row_end, c.col_start, c.col_end): c.text for c in table.cells}
    assert {span: normalize(text) for span, text in got.items()} == {
        span: normalize(text) for span, text in want.items()
    }
