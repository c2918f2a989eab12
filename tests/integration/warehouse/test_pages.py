"""Pages of a PDF are documents of their own: keyed by page, deduplicated per page, and old warehouses
(created before pages) are refused with what to run, then migrated."""

from __future__ import annotations

import sqlite3

import pytest
from baidu_ocr.normalize import normalize_records
from baidu_ocr.pipeline.records import options_hash
from baidu_ocr.warehouse import OutdatedSchema, WarehouseLoader

from tests.integration.warehouse.conftest import sqlite_conn_uri
from tests.unit.normalize.helpers import ok_record

pytestmark = pytest.mark.integration
SHA = "d" * 64


def page_record(page_no: int, texts: list[str], *, page_count: int = 4, ok: bool = True) -> dict:
    record = ok_record({"words_result": [{"words": t} for t in texts]}, endpoint="general_basic", sha=SHA)
    record.update(page_no=page_no, page_count=page_count)
    if not ok:
        record.update(status="failed", error_class="transient", error_code="282000", result_json=None)
    return record


def test_pages_are_rows_of_their_own_with_their_lines(loader):
    loader.load(normalize_records([page_record(1, ["one"]), page_record(2, ["two", "deux"])]))
    rows = loader.hook.get_records(
        f"SELECT page_no, text FROM {loader.table('ocr_lines')} WHERE content_sha256 = '{SHA}' "
        "ORDER BY page_no, line_no"
    )
    assert [tuple(r) for r in rows] == [(1, "one"), (2, "two"), (2, "deux")]
    documents = loader.hook.get_records(
        f"SELECT page_no, page_count, n_lines FROM {loader.table('ocr_documents')} ORDER BY page_no"
    )
    assert [tuple(r) for r in documents] == [(1, 4, 1), (2, 4, 2)]


def test_done_pages_and_complete_documents(loader):
    image = ok_record({"words_result": [{"words": "img"}]}, endpoint="general_basic", sha="e" * 64)
    loader.load(
        normalize_records(
            [
                image,
                page_record(1, ["a"]),
                page_record(2, [], ok=False),
                page_record(3, ["c"]),
                page_record(4, []),
            ]
        )
    )
    opts = options_hash(None)
    done = loader.processed_pages([SHA, "e" * 64], "general_basic", opts)
    assert done[SHA].pages == {1, 3, 4} and done[SHA].page_count == 4 and not done[SHA].complete
    assert done["e" * 64].pages == {0} and done["e" * 64].complete
    assert loader.already_processed([SHA, "e" * 64], "general_basic", opts) == {"e" * 64}

    loader.load(normalize_records([page_record(2, ["b"])]))  # the rerun paid for page 2 only
    assert loader.already_processed([SHA], "general_basic", opts) == {SHA}


def test_an_old_sqlite_warehouse_is_refused_then_migrated(monkeypatch, tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:  # the tables as the DDL before pages made them
        conn.execute(
            'CREATE TABLE "ocr_documents" ("content_sha256" TEXT NOT NULL, "endpoint" TEXT NOT NULL, '
            '"options_hash" TEXT NOT NULL, "status" TEXT, "n_lines" INTEGER, '
            'PRIMARY KEY ("content_sha256", "endpoint", "options_hash"))'
        )
        conn.execute(
            'CREATE TABLE "ocr_lines" ("content_sha256" TEXT NOT NULL, "endpoint" TEXT NOT NULL, '
            '"options_hash" TEXT NOT NULL, "line_no" INTEGER NOT NULL, "text" TEXT, '
            'PRIMARY KEY ("content_sha256", "endpoint", "options_hash", "line_no"))'
        )
        conn.execute("INSERT INTO ocr_documents VALUES ('e', 'general_basic', 'h', 'ok', 1)")
        conn.execute("INSERT INTO ocr_lines VALUES ('e', 'general_basic', 'h', 0, 'kept')")
    conn.close()
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_OLD", sqlite_conn_uri(path))

    with pytest.raises(
        OutdatedSchema, match=r"page_no.*python -m baidu_ocr.warehouse --migrate warehouse_old"
    ):
        WarehouseLoader("warehouse_old").ensure_schema()

    loader = WarehouseLoader("warehouse_old")
    loader.ensure_schema(migrate=True)
    assert [
        tuple(r) for r in loader.hook.get_records("SELECT content_sha256, page_no, status FROM ocr_documents")
    ] == [("e", 0, "ok")]
    assert [tuple(r) for r in loader.hook.get_records("SELECT page_no, text FROM ocr_lines")] == [(0, "kept")]
    assert loader.already_processed(["e"], "general_basic", "h") == {"e"}
    WarehouseLoader("warehouse_old").ensure_schema()  # up to date now: no error


def test_an_old_postgres_warehouse_is_migrated(monkeypatch):
    import uuid

    import psycopg2

    from tests.services import require_postgres

    uri = require_postgres()
    schema = f"baidu_ocr_old_{uuid.uuid4().hex[:10]}"
    with psycopg2.connect(uri) as conn, conn.cursor() as cur:
        cur.execute(f'CREATE SCHEMA "{schema}"')
        cur.execute(
            f'CREATE TABLE "{schema}"."ocr_documents" (content_sha256 TEXT NOT NULL, endpoint TEXT NOT NULL, '
            "options_hash TEXT NOT NULL, status TEXT, PRIMARY KEY (content_sha256, endpoint, options_hash))"
        )
        cur.execute(f"INSERT INTO \"{schema}\".ocr_documents VALUES ('e', 'general_basic', 'h', 'ok')")
    conn.close()
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_TEST", uri)
    try:
        with pytest.raises(OutdatedSchema):
            WarehouseLoader("warehouse_test", schema=schema).ensure_schema()
        loader = WarehouseLoader("warehouse_test", schema=schema)
        loader.ensure_schema(migrate=True)
        assert loader.already_processed(["e"], "general_basic", "h") == {"e"}
        loader.load(normalize_records([page_record(1, ["p1"])]))
        assert loader.row_counts()["ocr_documents"] == 2
    finally:
        with psycopg2.connect(uri) as conn, conn.cursor() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        conn.close()
