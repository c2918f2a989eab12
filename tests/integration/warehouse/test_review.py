"""Reviewed documents in the warehouse: corrections stored beside the OCR's text, never overwritten by a reload,
and older warehouses gaining the new columns through ``--migrate``."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import pytest
from baidu_ocr.exceptions import ReviewsNotStored
from baidu_ocr.normalize import normalize_records
from baidu_ocr.normalize.review_gate import MAX_CORRECTION_CHARS
from baidu_ocr.warehouse import OutdatedSchema, WarehouseLoader

from tests.integration.warehouse.conftest import sqlite_conn_uri
from tests.unit.normalize.helpers import ok_record
from tests.unit.normalize.test_review_gate import lines_result

pytestmark = pytest.mark.integration
SHA = "9" * 64
WHEN = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def gated_frames(faded: str = "faded", *, run_id: str = "run-1"):
    record = ok_record(lines_result(("clear", 0.99), (faded, 0.86)), endpoint="general_basic", sha=SHA)
    record["dag_id"], record["run_id"] = "dag", run_id
    return normalize_records([record], min_confidence=0.9)


def lines(loader) -> list[tuple]:
    sql = (
        f"SELECT line_no, text, original_text, reviewed_by FROM {loader.table('ocr_lines')} ORDER BY line_no"
    )
    return [tuple(r) for r in loader.hook.get_records(sql)]


def review_state(loader) -> tuple:
    docs = loader.hook.get_records(f"SELECT review_status, reviewed_by FROM {loader.table('ocr_documents')}")
    queue = loader.hook.get_records(f"SELECT status, reviewed_by FROM {loader.table('ocr_review_queue')}")
    return tuple(docs[0]), tuple(queue[0])


def reviewer_ids(loader) -> set:
    """Every reviewer id stored, in the three tables a review writes."""
    ids = set()
    for table in ("ocr_documents", "ocr_lines", "ocr_review_queue"):
        sql = f"SELECT reviewed_by_id FROM {loader.table(table)} WHERE reviewed_by IS NOT NULL"
        ids |= {row[0] for row in loader.hook.get_records(sql)}
    return ids


def test_a_correction_is_stored_beside_the_ocr_text_and_survives_reloads(loader):
    loader.load(gated_frames())
    [item] = loader.review_queue("dag", "run-1")
    assert item["low_lines"] == [{"line_no": 1, "text": "faded", "confidence": 0.86}]
    assert item["reason"] == "low_confidence" and item["page_no"] == 0
    assert loader.review_queue("dag", "another-run") == []

    loader.apply_review(
        item, corrections={1: "fixed"}, reviewed_by="alice", reviewed_by_id="7", reviewed_at=WHEN
    )
    expected = [(0, "clear", None, None), (1, "fixed", "faded", "alice")]
    assert lines(loader) == expected
    assert review_state(loader) == (("reviewed", "alice"), ("corrected", "alice"))
    assert reviewer_ids(loader) == {"7"}  # the user id beside the display name, which can change
    assert loader.review_queue("dag", "run-1") == []  # answered: no longer open

    # A rerun reloading the same staged records, and a later reprocessing that reads differently:
    loader.load(gated_frames())
    loader.load(gated_frames("misread again", run_id="run-2"))
    assert lines(loader) == expected
    assert review_state(loader) == (("reviewed", "alice"), ("corrected", "alice"))


def test_accepting_keeps_the_text_and_marks_the_document_reviewed(loader):
    loader.load(gated_frames())
    [item] = loader.review_queue("dag", "run-1")
    loader.apply_review(item, corrections={}, reviewed_by="bob", reviewed_at=WHEN)
    assert lines(loader) == [(0, "clear", None, None), (1, "faded", None, None)]
    assert review_state(loader) == (("reviewed", "bob"), ("accepted", "bob"))


def test_an_unreviewed_document_is_reloaded_and_requeued_as_usual(loader):
    loader.load(gated_frames())
    loader.load(gated_frames("second reading", run_id="run-2"))
    assert lines(loader)[1][1] == "second reading"
    assert len(loader.review_queue("dag", "run-2")) == 1 and loader.review_queue("dag", "run-1") == []


def test_an_older_warehouse_gains_the_review_columns_with_migrate(monkeypatch, tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # ocr_documents as the DDL made it before the confidence gate
        conn.execute(
            'CREATE TABLE "ocr_documents" ("content_sha256" TEXT NOT NULL, "endpoint" TEXT NOT NULL, '
            '"options_hash" TEXT NOT NULL, "page_no" INTEGER NOT NULL, "status" TEXT, "n_lines" INTEGER, '
            'PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "page_no"))'
        )
        conn.execute("INSERT INTO ocr_documents VALUES ('e', 'general_basic', 'h', 0, 'ok', 1)")
    conn.close()
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_OLD", sqlite_conn_uri(path))
    with pytest.raises(OutdatedSchema, match=r"ocr_documents\.conf_mean.*--migrate warehouse_old"):
        WarehouseLoader("warehouse_old").ensure_schema()
    loader = WarehouseLoader("warehouse_old")
    loader.ensure_schema(migrate=True)
    rows = loader.hook.get_records(
        "SELECT content_sha256, status, conf_mean, review_status, reviewed_by_id FROM ocr_documents"
    )
    assert [tuple(r) for r in rows] == [("e", "ok", None, None, None)]
    loader.load(gated_frames())
    assert loader.row_counts()["ocr_review_queue"] == 1
    WarehouseLoader("warehouse_old").ensure_schema()  # up to date now


def test_an_older_postgres_warehouse_gains_the_review_columns_with_migrate(monkeypatch):
    import uuid

    import psycopg2

    from tests.services import require_postgres

    uri = require_postgres()
    schema = f"baidu_ocr_old_{uuid.uuid4().hex[:10]}"
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_TEST", uri)
    WarehouseLoader("warehouse_test", schema=schema).ensure_schema()
    with psycopg2.connect(uri) as conn, conn.cursor() as cur:  # as an earlier version left them
        cur.execute(f'ALTER TABLE "{schema}".ocr_documents DROP COLUMN conf_mean, DROP COLUMN review_status')
        cur.execute(f'ALTER TABLE "{schema}".ocr_lines DROP COLUMN reviewed_by_id')  # as 0.2 left it
        cur.execute(f'DROP TABLE "{schema}".ocr_review_queue')
    conn.close()
    try:
        with pytest.raises(OutdatedSchema, match=r"ocr_documents\.conf_mean, ocr_documents\.review_status"):
            WarehouseLoader("warehouse_test", schema=schema).ensure_schema()
        with pytest.raises(OutdatedSchema, match=r"ocr_lines\.reviewed_by_id"):
            WarehouseLoader("warehouse_test", schema=schema).ensure_schema()
        loader = WarehouseLoader("warehouse_test", schema=schema)
        loader.ensure_schema(migrate=True)
        loader.load(gated_frames())
        assert review_state(loader)[0] == ("needs_review", None)
        [item] = loader.review_queue("dag", "run-1")
        loader.apply_review(item, corrections={1: "x"}, reviewed_by="a", reviewed_by_id="7", reviewed_at=WHEN)
        assert reviewer_ids(loader) == {"7"}
    finally:
        with psycopg2.connect(uri) as conn, conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()


def test_the_generic_dialect_path_keeps_reviewed_rows_too(monkeypatch, tmp_path):
    """Any other DB-API database (run here on SQLite): the review is stored, a reload leaves it alone."""
    from baidu_ocr.warehouse import GENERIC

    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_GENERIC", sqlite_conn_uri(tmp_path / "g.db"))
    loader = WarehouseLoader("warehouse_generic")
    loader.ensure_schema()
    monkeypatch.setattr(loader, "dialect", GENERIC)
    loader.load(gated_frames())
    [item] = loader.review_queue("dag", "run-1")
    loader.apply_review(item, corrections={1: "fixed"}, reviewed_by="carol", reviewed_at=WHEN)
    loader.load(gated_frames("misread again", run_id="run-2"))
    assert lines(loader) == [(0, "clear", None, None), (1, "fixed", "faded", "carol")]


# -- the apply task: every answer on its own ---------------------------------------------------------------


def three_gated_documents(loader) -> list[dict]:
    records = []
    for n, sha in enumerate(("1" * 64, "2" * 64, "3" * 64)):
        record = ok_record(
            lines_result(("clear", 0.99), (f"faded {n}", 0.86)), endpoint="general_basic", sha=sha
        )
        record["dag_id"], record["run_id"] = "dag", "run-1"
        records.append(record)
    loader.load(normalize_records(records, min_confidence=0.9))
    return sorted(loader.review_queue("dag", "run-1"), key=lambda item: item["content_sha256"])


def answer(item: dict, text: str, user_id: str = "7") -> dict:
    """A review task's output (``BaiduOcrReviewOperator.execute_complete``) for a correction of line 1."""
    return {
        "document": {
            k: item[k] for k in ("content_sha256", "endpoint", "options_hash", "page_no", "source_uri")
        },
        "decision": "corrected",
        "corrections": {"1": text},
        "reviewed_by": "alice",
        "reviewed_by_id": user_id,
        "reviewed_at": WHEN.isoformat(),
    }


def apply_task(loader, responses: list[dict]):
    from baidu_ocr.operators.review import BaiduOcrApplyReviewsOperator

    task = BaiduOcrApplyReviewsOperator(task_id="apply_reviews", responses=responses)
    task.warehouse = loader  # the fixture's warehouse (a fresh PostgreSQL schema, or a SQLite file)
    return task


def corrected_lines(loader) -> dict[str, str]:
    sql = f"SELECT content_sha256, text FROM {loader.table('ocr_lines')} WHERE line_no = 1"
    return {sha[:1]: text for sha, text in loader.hook.get_records(sql)}


def test_answers_reach_the_warehouse_cleaned_and_capped_whatever_the_form_sent(loader):
    """A NUL made PostgreSQL refuse the answer; 5,000,000 characters were stored. Answers built by an older
    review task (or by hand) pass the store's own cleaning too."""
    first, second, third = three_gated_documents(loader)
    responses = [answer(first, "fixed\x00 one"), answer(second, "y" * 5_000_000), answer(third, "三\ud800")]
    assert apply_task(loader, responses).execute({}) == {"accepted": 0, "corrected": 3, "timed_out": 0}
    stored = corrected_lines(loader)
    assert stored["1"] == "fixed one" and stored["3"] == "三\ufffd"
    assert len(stored["2"]) == MAX_CORRECTION_CHARS


def test_an_answer_the_warehouse_refuses_does_not_block_the_others(loader, monkeypatch, caplog, capsys):
    first, second, third = three_gated_documents(loader)
    store = loader.apply_review

    def refuse_the_second(document, **kwargs):
        if document["content_sha256"] == second["content_sha256"]:
            raise RuntimeError("the warehouse refused it")
        store(document, **kwargs)

    monkeypatch.setattr(loader, "apply_review", refuse_the_second)
    task = apply_task(loader, [answer(first, "one"), answer(second, "two"), answer(third, "three")])
    with pytest.raises(ReviewsNotStored, match=r"1 review answer\(s\) could not be stored.*2222"):
        task.execute({})
    assert corrected_lines(loader) == {"1": "one", "2": "faded 1", "3": "three"}
    logged = caplog.text + capsys.readouterr().out  # the task logger writes through structlog
    assert "was NOT stored: RuntimeError: the warehouse refused it" in logged
    assert [item["content_sha256"][:1] for item in loader.review_queue("dag", "run-1")] == ["2"]  # still open

    monkeypatch.setattr(loader, "apply_review", store)  # the retry stores it, the others again (idempotent)
    assert apply_task(loader, [answer(first, "one"), answer(second, "two"), answer(third, "three")]).execute(
        {}
    )
    assert corrected_lines(loader) == {"1": "one", "2": "two", "3": "three"}
    assert loader.review_queue("dag", "run-1") == []
