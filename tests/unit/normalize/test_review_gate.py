"""The confidence gate: per-document confidence figures, who goes to review and why."""

from __future__ import annotations

import json

import pytest
from baidu_ocr.normalize import normalize_records
from baidu_ocr.normalize.invoice_checks import CHECK_NAMES
from baidu_ocr.normalize.review_gate import (
    LOW_CONFIDENCE,
    MAX_CORRECTION_CHARS,
    NO_TEXT,
    clean_correction,
    corrections_from,
    review_reason,
)

from tests.unit.normalize.helpers import ok_record


def lines_result(*lines: tuple[str, float | None]) -> dict:
    items = []
    for text, average in lines:
        item: dict = {"words": text}
        if average is not None:
            item["probability"] = {"average": average, "min": average - 0.3, "variance": 0.01}
        items.append(item)
    return {"words_result_num": len(items), "words_result": items}


def test_documents_get_mean_and_minimum_line_confidence():
    frames = normalize_records([ok_record(lines_result(("a", 0.99), ("b", 0.93)), endpoint="general_basic")])
    doc = frames["ocr_documents"].iloc[0]
    assert doc["conf_mean"] == pytest.approx(0.96)
    assert doc["conf_min"] == pytest.approx(0.93)
    assert doc["review_status"] is pd_na()
    assert frames["ocr_review_queue"].empty  # no threshold: no gate


def pd_na():
    import pandas as pd

    return pd.NA


def test_a_line_under_the_threshold_sends_the_document_to_review_with_that_line():
    records = [
        ok_record(lines_result(("clear", 0.99), ("faded", 0.86)), endpoint="general_basic", sha="1" * 64),
        ok_record(lines_result(("clear", 0.99), ("fine", 0.95)), endpoint="general_basic", sha="2" * 64),
    ]
    frames = normalize_records(records, min_confidence=0.9)
    docs = frames["ocr_documents"].set_index("content_sha256")
    assert docs.loc["1" * 64, "review_status"] == "needs_review"
    assert docs.loc["2" * 64, "review_status"] is pd_na()
    assert len(frames["ocr_lines"]) == 4  # the gated document's rows are loaded all the same
    queue = frames["ocr_review_queue"]
    assert list(queue["content_sha256"]) == ["1" * 64]
    row = queue.iloc[0]
    assert row["reason"] == LOW_CONFIDENCE and row["status"] == "open" and row["min_confidence"] == 0.9
    assert json.loads(row["low_lines"]) == [{"line_no": 1, "text": "faded", "confidence": 0.86}]
    assert row["source_uri"] == docs.loc["1" * 64, "source_uri"]


def test_an_empty_text_result_goes_to_review_and_other_endpoints_are_not_gated():
    records = [
        ok_record(lines_result(), endpoint="general_basic", sha="1" * 64),
        ok_record("vat_invoice", endpoint="vat_invoice", sha="2" * 64),
    ]
    queue = normalize_records(records, min_confidence=0.9)["ocr_review_queue"].set_index("content_sha256")
    assert queue.loc["1" * 64, "reason"] == NO_TEXT
    # The invoice (this fixture lacks most fields) is queued by its own checks, never by the confidence gate.
    assert set(queue.loc["2" * 64, "reason"].split(",")) <= set(CHECK_NAMES)


def test_without_probabilities_only_empty_results_are_gated():
    assert review_reason([{"line_no": 0, "text": "x", "prob_average": None}], 0.9) is None
    assert review_reason([], 0.9) == (NO_TEXT, [])
    assert review_reason([], None) is None


def test_id_numbers_in_queued_lines_are_masked():
    frames = normalize_records(
        [ok_record(lines_result(("ID 110101199003070017", 0.5)), endpoint="general_basic")],
        min_confidence=0.9,
    )
    assert "199003070017" not in frames["ocr_review_queue"].iloc[0]["low_lines"]


def test_corrections_are_the_changed_form_fields_only():
    low = [
        {"line_no": 1, "text": "faded", "confidence": 0.8},
        {"line_no": 4, "text": "ok", "confidence": 0.8},
    ]
    assert corrections_from({"line_1": "fixed", "line_4": "ok"}, low) == {1: "fixed"}
    assert corrections_from({}, low) == {}


def test_a_queued_line_keeps_its_position_when_the_endpoint_returns_one():
    result = lines_result(("clear", 0.99), ("faded", 0.86))
    result["words_result"][1]["location"] = {"left": 67, "top": 273, "width": 833, "height": 31}
    frames = normalize_records([ok_record(result, endpoint="general")], min_confidence=0.9)
    [low] = json.loads(frames["ocr_review_queue"].iloc[0]["low_lines"])
    assert low == {"line_no": 1, "text": "faded", "confidence": 0.86, "box": [67, 273, 833, 31]}


def test_a_correction_is_stored_as_every_text_is_clean_masked_one_line_and_capped():
    low = [{"line_no": 1, "text": "faded", "confidence": 0.8}]
    typed = " ID 110101199003070017\x00 ok\r\nnext\x07\ud800 "
    assert corrections_from({"line_1": typed}, low) == {1: "ID 110101********0017 ok next\ufffd"}
    assert len(corrections_from({"line_1": "x" * 5_000_000}, low)[1]) == MAX_CORRECTION_CHARS
    assert clean_correction(" faded\n") == "faded"
    assert corrections_from({"line_1": " faded\n"}, low) == {}  # cleaned, it is the OCR's text: no change
