"""normalize_records: stable schema, failed images, duplicates, and inputs as frames or dicts."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest
from baidu_ocr.normalize import DOCUMENT_TABLES, TABLES, empty_frame, normalize_records
from baidu_ocr.pipeline.records import RAW_RECORD_COLUMNS
from baidu_ocr.warehouse import DDL_FILES, render_ddl
from baidu_ocr.warehouse.__main__ import SQL_DIR

from tests.unit.normalize.helpers import failed_record, ok_record

REPO = Path(__file__).resolve().parents[3]


def _assert_declared(frames: dict[str, pd.DataFrame]) -> None:
    assert set(frames) == set(DOCUMENT_TABLES)
    for name, frame in frames.items():
        declared = TABLES[name].columns
        assert list(frame.columns) == list(declared), name
        assert [str(t) for t in frame.dtypes] == [str(t) for t in declared.values()], name


def test_no_records_give_every_table_empty_with_declared_columns():
    frames = normalize_records([])
    _assert_declared(frames)
    assert all(frame.empty for frame in frames.values())


def test_mixed_batch_keeps_declared_columns_and_dtypes():
    frames = normalize_records(
        [
            ok_record("accurate", endpoint="accurate", sha="1" * 64),
            ok_record("idcard_back", endpoint="idcard", sha="2" * 64, options={"id_card_side": "back"}),
            ok_record("table_v2", endpoint="table", sha="3" * 64),
            ok_record("vat_invoice", endpoint="vat_invoice", sha="4" * 64),
            ok_record("parser_result", endpoint="parser_task", sha="5" * 64),
            failed_record(endpoint="accurate"),
        ],
        min_confidence=1.0,  # every line under it: the accurate fixture is queued for review
    )
    _assert_declared(frames)
    assert all(not frame.empty for frame in frames.values())


def test_failed_image_is_a_document_row_with_its_error_and_no_children():
    frames = normalize_records([failed_record(endpoint="general_basic", code="216201")])
    doc = frames["ocr_documents"].iloc[0]
    assert (doc["status"], doc["error_code"], doc["error_class"]) == ("failed", "216201", "bad_image")
    assert doc["error_msg"] == "image format error"
    assert doc["log_id"] == "18446744073709551615"
    assert pd.isna(doc["n_lines"])
    assert all(frames[name].empty for name in DOCUMENT_TABLES if name != "ocr_documents")


def test_error_body_staged_as_ok_is_stored_as_failed():
    record = ok_record(
        {"error_code": 282000, "error_msg": "internal error", "log_id": 1}, endpoint="accurate"
    )
    doc = normalize_records([record])["ocr_documents"].iloc[0]
    assert (doc["status"], doc["error_code"], doc["error_msg"]) == ("failed", "282000", "internal error")


def test_unparsable_result_is_failed_not_silently_ok():
    record = ok_record({}, endpoint="accurate") | {"result_json": "{not json"}
    doc = normalize_records([record])["ocr_documents"].iloc[0]
    assert (doc["status"], doc["error_class"]) == ("failed", "invalid_response")


def test_same_document_twice_keeps_the_latest_record():
    older = ok_record(
        {"words_result": [{"words": "old"}, {"words": "older"}]},
        endpoint="general_basic",
        processed_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    newer = ok_record(
        {"words_result": [{"words": "new"}]},
        endpoint="general_basic",
        processed_at=datetime(2024, 2, 1, tzinfo=UTC),
    )
    frames = normalize_records([newer, older])
    assert len(frames["ocr_documents"]) == 1
    assert frames["ocr_lines"]["text"].tolist() == ["new"]


def test_staged_dataframe_with_missing_values_is_accepted():
    records = pd.DataFrame(
        [ok_record("general_basic", endpoint="general_basic"), failed_record(endpoint="x")]
    )
    records = records.astype({col: dtype for col, dtype in RAW_RECORD_COLUMNS.items() if col in records})
    frames = normalize_records(records)
    assert frames["ocr_documents"]["status"].tolist() == ["ok", "failed"]
    assert frames["ocr_documents"]["processed_at"].dt.tz is not None
    assert frames["ocr_lines"]["text"].tolist() == ["TSINGTAO", "青岛啤酒"]


def test_empty_frame_matches_declaration():
    frame = empty_frame("ocr_table_cells")
    assert frame.empty and list(frame.columns) == list(TABLES["ocr_table_cells"].columns)


@pytest.mark.parametrize("dialect", sorted(DDL_FILES))
def test_committed_ddl_is_the_rendered_ddl(dialect):
    committed = (SQL_DIR / DDL_FILES[dialect]).read_text(encoding="utf-8")
    assert committed == render_ddl(dialect), "run: python -m baidu_ocr.warehouse"


@pytest.mark.parametrize("dialect", sorted(DDL_FILES))
def test_ddl_columns_and_keys_match_the_frames(dialect):
    text = (SQL_DIR / DDL_FILES[dialect]).read_text(encoding="utf-8")
    tables = dict(re.findall(r'CREATE TABLE IF NOT EXISTS "(\w+)" \((.*?)\n\);', text, flags=re.S))
    assert set(tables) == set(TABLES)
    for name, body in tables.items():
        columns = re.findall(r'^\s+"(\w+)" ', body, flags=re.M)
        assert columns == list(TABLES[name].columns), name
        primary_key = re.search(r"PRIMARY KEY \((.*?)\)", body).group(1)
        assert [c.strip('"') for c in primary_key.split(", ")] == list(TABLES[name].primary_key)
