"""The rapidocr engine on committed samples: text, direction, ID card fields, table grid.

The model is loaded once for the module; each test reads one or two images (~1 s each on a shared CPU).
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import pytest
from baidu_ocr_server.engines.base import Box, EngineCannotRecognize
from baidu_ocr_server.engines.rapidocr_engine import (
    RapidOcrEngine,
    _model_params,
    _rotate_box,
    decode_image,
    shared_rapidocr,
)
from baidu_ocr_server.evaluation import edit_distance
from baidu_ocr_server.evaluation import normalize_text as normalize

from tests.engines.test_table_variants import draw_open_table

SAMPLES = Path(__file__).resolve().parents[2] / "include" / "samples"


def truth(kind: str, stem: str) -> dict:
    return json.loads((SAMPLES / kind / f"{stem}.json").read_text(encoding="utf-8"))


def overlap(a: Box, b: list[int]) -> float:
    """Intersection over union of an engine box and a ground-truth [l, t, w, h]."""
    bl, bt, bw, bh = b
    width = min(a.left + a.width, bl + bw) - max(a.left, bl)
    height = min(a.top + a.height, bt + bh) - max(a.top, bt)
    inter = max(0, width) * max(0, height)
    return inter / (a.width * a.height + bw * bh - inter)


@pytest.fixture(scope="module")
def engine() -> RapidOcrEngine:
    return RapidOcrEngine()


def test_document_text_within_two_percent_cer_with_char_boxes(engine):
    expected = truth("documents", "doc_01")

    result = engine.recognize_lines((SAMPLES / "documents" / "doc_01.jpg").read_bytes(), chars=True)

    want = normalize("".join(line["text"] for line in expected["lines"]))
    got = normalize("".join(line.text for line in result.lines))
    assert edit_distance(want, got) / len(want) <= 0.02
    assert result.direction == 0
    for line, want_line in zip(result.lines, expected["lines"], strict=True):
        assert overlap(line.box, want_line["box"]) > 0.5
        assert 0 < line.prob_min <= line.prob_average <= 1
        assert len(line.chars) == len(line.text.replace(" ", ""))
        inside = [
            line.box.left - 2 <= c.box.left and c.box.left + c.box.width <= line.box.left + line.box.width + 2
            for c in line.chars
        ]
        assert all(inside)


@pytest.mark.parametrize(("stem", "direction"), [("doc_11", 1), ("doc_12", 2)])
def test_rotated_document_direction_and_boxes_in_the_sent_frame(engine, stem, direction):
    expected = truth("documents", stem)
    data = (SAMPLES / "documents" / f"{stem}.jpg").read_bytes()

    result = engine.recognize_lines(data, detect_direction=True)

    assert result.direction == direction == expected["rotation"] // 90
    assert [normalize(line.text) for line in result.lines] == [
        normalize(line["text"]) for line in expected["lines"]
    ]
    # Ground-truth boxes are in the unrotated frame: turn them like the image was turned, then compare.
    sent_height, sent_width = decode_image(data).shape[:2]
    width, height = (sent_height, sent_width) if direction % 2 else (sent_width, sent_height)
    for line, want in zip(result.lines, expected["lines"], strict=True):
        turned = _rotate_box(Box(*want["box"]), direction, width, height)
        assert overlap(line.box, [turned.left, turned.top, turned.width, turned.height]) > 0.5


def test_idcard_front_fields(engine):
    expected = truth("idcards", "idcard_01_front")["idcard"]

    result = engine.recognize_idcard((SAMPLES / "idcards" / "idcard_01_front.png").read_bytes(), side="front")

    assert result.image_status == "normal"
    assert {k: v.text for k, v in result.fields.items()} == {
        k: v["text"] for k, v in expected["fields"].items()
    }
    for name, field in expected["fields"].items():
        assert overlap(result.fields[name].box, field["box"]) > 0.5, name


def test_table_cell_grid_with_spans_header_and_footer(engine):
    expected = truth("tables", "table_04")

    (table,) = engine.recognize_tables((SAMPLES / "tables" / "table_04.png").read_bytes())

    got = {(c.row_start, c.row_end, c.col_start, c.col_end): normalize(c.text) for c in table.cells}
    want = {
        (c["row_start"], c["row_end"], c["col_start"], c["col_end"]): normalize(c["text"])
        for c in expected["tables"][0]["cells"]
    }
    assert got == want
    assert any(r1 - r0 == 2 for r0, r1, _, _ in got) and any(c1 - c0 == 2 for _, _, c0, c1 in got)
    assert [normalize(line.text) for line in table.header] == [normalize(expected["lines"][0]["text"])]
    assert [normalize(line.text) for line in table.footer] == [normalize(expected["lines"][-1]["text"])]


def test_undecodable_bytes_cannot_be_recognized(engine):
    with pytest.raises(EngineCannotRecognize):
        engine.recognize_lines((SAMPLES / "broken" / "random_bytes.jpg").read_bytes())


def test_rotate_box_quarter_turn_counter_clockwise():
    # In a 100 x 50 image turned 90° ccw (now 50 x 100), the top-left corner goes to the bottom-left.
    assert _rotate_box(Box(0, 0, 10, 5), 1, 100, 50) == Box(0, 90, 5, 10)
    assert _rotate_box(Box(0, 0, 10, 5), 2, 100, 50) == Box(90, 45, 10, 5)


def test_models_come_from_the_wheel_and_load_once(engine):
    import rapidocr

    wheel = Path(rapidocr.__file__).resolve().parent
    params = _model_params()
    for key in ("Det.model_path", "Cls.model_path", "Rec.model_path"):
        assert Path(params[key]).is_file() and wheel in Path(params[key]).parents, key
    assert shared_rapidocr() is shared_rapidocr()


def test_table_ruled_with_horizontal_lines_only_is_read_cell_by_cell(engine):
    ok, png = cv2.imencode(".png", draw_open_table(every_row=False))
    assert ok

    (table,) = engine.recognize_tables(png.tobytes())

    got = {(c.row_start, c.col_start): normalize(c.text) for c in table.cells}
    assert got == {
        (r, c): normalize(f"ITEM {r}{c}" if c == 0 else str(100 * r + 7 * c))
        for r in range(4)
        for c in range(4)
    }
    assert [normalize(line.text) for line in table.header] == [normalize("STOCK 2024")]
    assert [normalize(line.text) for line in table.footer] == [normalize("Total: 4 items")]
