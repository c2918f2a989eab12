"""The review task's question (body and form) and how it reads the answer, a timeout included."""

from __future__ import annotations

from datetime import UTC, datetime

from baidu_ocr.operators.review import ACCEPT, CORRECT, TIMED_OUT, BaiduOcrReviewOperator, review_body

DOCUMENT = {
    "content_sha256": "a" * 64,
    "endpoint": "general_basic",
    "options_hash": "h",
    "page_no": 0,
    "source_uri": "s3://bucket/scans/faded.jpg",
    "reason": "low_confidence",
    "min_confidence": 0.9,
    "conf_mean": 0.95,
    "conf_min": 0.86,
    "low_lines": [{"line_no": 3, "text": "会查时间为10月2", "confidence": 0.86}],
}
WHEN = datetime(2026, 1, 2, tzinfo=UTC)


def operator() -> BaiduOcrReviewOperator:
    return BaiduOcrReviewOperator(task_id="review", document=DOCUMENT, aws_conn_id=None)


def test_the_body_links_the_document_and_lists_its_low_confidence_lines():
    body = review_body(DOCUMENT, "https://s3.example/faded.jpg?signature")
    assert "[s3://bucket/scans/faded.jpg](https://s3.example/faded.jpg?signature)" in body
    assert "| 3 | 0.860 | 会查时间为10月2 |" in body
    assert "under the confidence threshold 0.90" in body
    assert "`s3://bucket/scans/faded.jpg`" in review_body(DOCUMENT, None)
    assert "no text was read" in review_body({**DOCUMENT, "reason": "no_text", "low_lines": []}, None)


def test_saved_corrections_are_the_changed_lines_with_who_and_when():
    answer = operator().execute_complete(
        {},
        {
            "chosen_options": [CORRECT],
            "params_input": {"line_3": "检查时间为10月2日"},
            "responded_by_user": {"id": "7", "name": "alice"},
            "responded_at": WHEN,
        },
    )
    assert answer["decision"] == "corrected" and answer["corrections"] == {"3": "检查时间为10月2日"}
    assert (answer["reviewed_by"], answer["reviewed_at"]) == ("alice", WHEN.isoformat())
    assert answer["document"]["content_sha256"] == "a" * 64


def test_accepting_ignores_edited_fields():
    answer = operator().execute_complete(
        {},
        {
            "chosen_options": [ACCEPT],
            "params_input": {"line_3": "edited but accepted"},
            "responded_by_user": {"id": "7", "name": "bob"},
            "responded_at": WHEN,
        },
    )
    assert (answer["decision"], answer["corrections"]) == ("accepted", {})


def test_a_timed_out_review_is_an_answer_without_a_decision_not_a_failure():
    event = {"error": "The Human-in-the-loop response timeout has passed", "error_type": "timeout"}
    answer = operator().execute_complete({}, event)
    assert answer["decision"] == TIMED_OUT and answer["reviewed_by"] is None


def test_ocr_text_cannot_break_the_table_nor_reach_jinja():
    body = review_body(
        {**DOCUMENT, "low_lines": [{"line_no": 0, "text": "a | b\nc", "confidence": 0.5}]}, None
    )
    assert "| 0 | 0.500 | a \\| b c |" in body
    assert "document" not in BaiduOcrReviewOperator.template_fields
