"""Parser records -> ocr_parsed_documents: one row per document, failed tasks included, text masked."""

from __future__ import annotations

import json

import pandas as pd
from baidu_ocr.normalize import normalize_records
from baidu_ocr.pipeline.records import OcrOutcome

from tests.unit.normalize.helpers import load_fixture, ok_record
from tests.unit.pii.test_policy import VALID as VALID_ID  # the GB 11643 standard's own example

SHA = "5" * 64


def test_a_parsed_document_is_one_row_with_markdown_layout_and_pages():
    record = ok_record("parser_result", endpoint="parser_task", sha=SHA, options={"recognize_formula": True})
    record["page_count"] = 1
    frames = normalize_records([record])
    [row] = frames["ocr_parsed_documents"].to_dict("records")
    fixture = load_fixture("parser_result")
    assert (row["content_sha256"], row["endpoint"], row["page_no"]) == (SHA, "parser_task", 0)
    assert (row["status"], row["page_count"], row["task_id"]) == ("ok", 1, fixture["task_id"])
    assert row["markdown"] == fixture["markdown"]
    assert json.loads(row["layout_json"]) == fixture["parse_result"]
    assert json.loads(row["options_json"]) == {"recognize_formula": "true"}
    [doc] = frames["ocr_documents"].to_dict("records")
    assert doc["status"] == "ok" and doc["page_count"] == 1
    # The parser's answer is not mistaken for fields or lines.
    assert frames["ocr_fields"].empty and frames["ocr_lines"].empty


def test_a_failed_task_keeps_its_task_id_and_reason():
    outcome = OcrOutcome(key="s3://b/broken.pdf", ok=False, content_sha256=SHA, attempts=1)
    outcome.fail({"error_class": "bad_image", "error_msg": "file parse failed: the PDF cannot be read"})
    outcome.result = {"task_id": "task-abc", "status": "failed", "task_error": "file parse failed"}
    frames = normalize_records([outcome.to_record(endpoint="parser_task")])
    [row] = frames["ocr_parsed_documents"].to_dict("records")
    assert (row["status"], row["task_id"], row["error_msg"]) == ("failed", "task-abc", "file parse failed")
    assert pd.isna(row["markdown"])
    assert frames["ocr_documents"].iloc[0]["error_class"] == "bad_image"


def test_ok_without_markdown_is_an_invalid_response():
    record = ok_record({"task_id": "task-x", "status": "success"}, endpoint="parser_task", sha=SHA)
    frames = normalize_records([record])
    doc = frames["ocr_documents"].iloc[0]
    assert (doc["status"], doc["error_class"]) == ("failed", "invalid_response")
    assert frames["ocr_parsed_documents"].iloc[0]["status"] == "failed"


def test_id_numbers_in_markdown_and_layout_are_masked():
    body = load_fixture("parser_result")
    body["markdown"] += f"\n身份证号 {VALID_ID}\n"
    body["parse_result"]["pages"][0]["text"] += f"\n身份证号 {VALID_ID}"
    [row] = normalize_records([ok_record(body, endpoint="parser_task", sha=SHA)])[
        "ocr_parsed_documents"
    ].to_dict("records")
    assert VALID_ID not in row["markdown"] and VALID_ID[-4:] in row["markdown"]
    assert VALID_ID not in row["layout_json"]
    json.loads(row["layout_json"])  # still JSON
