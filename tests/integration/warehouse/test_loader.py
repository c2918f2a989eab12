"""Idempotent loads into PostgreSQL (COPY + ON CONFLICT) and SQLite (REPLACE INTO), one transaction each."""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal

import pandas as pd
import pytest
from baidu_ocr.normalize import DOCUMENT_TABLES, normalize_records
from baidu_ocr.pipeline.records import options_hash
from baidu_ocr.warehouse import GENERIC, WarehouseLoader

from tests.integration.warehouse.conftest import sqlite_conn_uri
from tests.unit.normalize.helpers import failed_record, ok_record

pytestmark = pytest.mark.integration


def lines_record(sha: str, texts: list[str], *, endpoint: str = "general_basic") -> dict:
    return ok_record({"words_result": [{"words": t} for t in texts]}, endpoint=endpoint, sha=sha)


def sample_frames() -> dict[str, pd.DataFrame]:
    return normalize_records(
        [
            ok_record("accurate", endpoint="accurate", sha="1" * 64),
            ok_record("idcard_front", endpoint="idcard", sha="2" * 64, options={"id_card_side": "front"}),
            ok_record("table_v2", endpoint="table", sha="3" * 64),
            ok_record("vat_invoice", endpoint="vat_invoice", sha="4" * 64),
            failed_record(endpoint="accurate", sha="5" * 64),
        ]
    )


def select(loader, sql: str) -> list[tuple]:
    return [tuple(row) for row in loader.hook.get_records(sql)]


def test_load_then_reload_the_same_frames_adds_no_row(loader):
    frames = sample_frames()
    expected = {name: len(frame) for name, frame in frames.items()}
    assert loader.load(frames) == expected
    assert loader.row_counts() == expected
    loader.load(frames)
    assert loader.row_counts() == expected


def test_reload_updates_values(loader):
    loader.load(normalize_records([lines_record("a" * 64, ["first"])]))
    changed = normalize_records([lines_record("a" * 64, ["second"])])
    changed["ocr_documents"]["source_uri"] = "s3://bucket/renamed.jpg"
    loader.load(changed)
    assert select(
        loader, "SELECT text FROM {t}('ocr_lines')".replace("{t}('ocr_lines')", loader.table("ocr_lines"))
    ) == [("second",)]
    assert select(loader, f"SELECT source_uri FROM {loader.table('ocr_documents')}") == [
        ("s3://bucket/renamed.jpg",)
    ]


def test_document_reprocessed_with_fewer_lines_keeps_no_stale_line(loader):
    loader.load(normalize_records([lines_record("a" * 64, ["one", "two", "three"])]))
    loader.load(normalize_records([lines_record("a" * 64, ["only"])]))
    assert select(loader, f"SELECT line_no, text FROM {loader.table('ocr_lines')}") == [(0, "only")]
    assert select(loader, f"SELECT n_lines FROM {loader.table('ocr_documents')}") == [(1,)]


def test_reprocessed_document_keeps_unchanged_lines_and_replaces_the_rest(loader):
    loader.load(normalize_records([lines_record("a" * 64, ["same", "old", "same too"])]))
    loader.load(normalize_records([lines_record("a" * 64, ["same", "new", "same too", "added"])]))
    assert select(loader, f"SELECT line_no, text FROM {loader.table('ocr_lines')} ORDER BY line_no") == [
        (0, "same"),
        (1, "new"),
        (2, "same too"),
        (3, "added"),
    ]
    assert select(loader, f"SELECT n_lines FROM {loader.table('ocr_documents')}") == [(4,)]


def test_child_rows_without_their_document_row_are_refused(loader):
    frames = normalize_records([lines_record("a" * 64, ["orphan"])])
    frames["ocr_documents"] = frames["ocr_documents"].iloc[0:0]
    with pytest.raises(ValueError, match="without their ocr_documents row"):
        loader.load(frames)
    assert loader.row_counts() == {name: 0 for name in DOCUMENT_TABLES}


def test_values_round_trip_with_nulls_dates_and_booleans(loader):
    loader.load(sample_frames())
    line = select(
        loader,
        f'SELECT text, prob_average, prob_min, "left" FROM {loader.table("ocr_lines")} ORDER BY line_no',
    )
    assert line == [("北京市海淀区", 0.998, 0.993, 12), ("Total 99.50", None, None, 12)]
    card = select(
        loader,
        f"SELECT birth_date, id_number_masked, id_number_valid, id_number_encrypted "
        f"FROM {loader.table('ocr_idcards')}",
    )[0]
    assert str(card[0]) == "1990-01-01"
    assert card[1] == "330106********1234"
    assert card[2] in (False, 0)
    assert card[3] is None
    failed = select(
        loader,
        f"SELECT status, error_code, n_lines, direction, log_id FROM {loader.table('ocr_documents')} "
        f"WHERE content_sha256 = '{'5' * 64}'",
    )
    assert failed == [("failed", "216201", None, None, "18446744073709551615")]


def test_text_with_tabs_newlines_and_backslashes_survives(loader):
    tricky = "tab\there\nnew line \\N back\\slash \r end"
    loader.load(normalize_records([lines_record("a" * 64, [tricky, ""])]))
    assert select(loader, f"SELECT text FROM {loader.table('ocr_lines')} ORDER BY line_no") == [
        (tricky,),
        ("",),
    ]


def test_failure_mid_load_rolls_back_the_whole_batch(loader):
    loader.load(normalize_records([lines_record("a" * 64, ["kept"])]))
    before = loader.row_counts()
    frames = normalize_records(
        [
            lines_record("a" * 64, ["replacement"]),
            ok_record("vat_invoice", endpoint="vat_invoice", sha="b" * 64),
        ]
    )
    frames["ocr_fields"].loc[len(frames["ocr_fields"]) - 1, "field"] = None  # NOT NULL key in the last table
    with pytest.raises(Exception):  # noqa: B017 - the driver's own IntegrityError class differs per database
        loader.load(frames)
    assert loader.row_counts() == before
    assert select(loader, f"SELECT text FROM {loader.table('ocr_lines')}") == [("kept",)]


def test_concurrent_loads_of_different_batches(make_loader):
    make_loader().ensure_schema()
    batches = [
        normalize_records([lines_record(f"{batch:02d}{doc:062d}", ["x"] * 5) for doc in range(20)])
        for batch in range(4)
    ]
    errors: list[BaseException] = []

    def run(frames):
        try:
            make_loader().load(frames)
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(frames,)) for frames in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors
    counts = make_loader().row_counts()
    assert (counts["ocr_documents"], counts["ocr_lines"]) == (80, 400)


def test_already_processed_counts_ok_and_bad_images_with_the_same_options(loader):
    loader.load(sample_frames())
    loader.load(
        normalize_records(
            [failed_record(endpoint="accurate", sha="7" * 64, code="282000", error_class="transient")]
        )
    )
    hashes = ["1" * 64, "5" * 64, "7" * 64, "9" * 64]
    # ok ("1") and bad_image ("5") need no new call; the transient failure ("7") is retried.
    assert loader.already_processed(hashes, "accurate", options_hash(None)) == {"1" * 64, "5" * 64}
    assert loader.already_processed(hashes, "accurate", options_hash(None), include_bad_images=False) == {
        "1" * 64
    }
    assert loader.already_processed(hashes, "accurate", options_hash({"probability": "true"})) == set()
    assert loader.already_processed(hashes, "general_basic", options_hash(None)) == set()
    assert loader.already_processed([], "accurate", options_hash(None)) == set()


def test_failed_retry_does_not_overwrite_a_paid_ok_document(loader):
    loader.load(normalize_records([lines_record("a" * 64, ["paid for"])]))
    loader.load(normalize_records([failed_record(endpoint="general_basic", sha="a" * 64)]))
    assert select(loader, f"SELECT status FROM {loader.table('ocr_documents')}") == [("ok",)]
    assert select(loader, f"SELECT text FROM {loader.table('ocr_lines')}") == [("paid for",)]


def test_empty_frames_load_nothing(loader):
    assert loader.load(normalize_records([])) == {name: 0 for name in DOCUMENT_TABLES}
    assert loader.load({}) == {name: 0 for name in DOCUMENT_TABLES}
    assert loader.row_counts() == {name: 0 for name in DOCUMENT_TABLES}


def test_generic_dialect_path_is_idempotent_too(monkeypatch, tmp_path):
    """Any other DB-API database: delete the batch's documents, then plain INSERT (run here on SQLite)."""
    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_GENERIC", sqlite_conn_uri(tmp_path / "g.db"))
    loader = WarehouseLoader("warehouse_generic")
    loader.ensure_schema()
    monkeypatch.setattr(loader, "dialect", GENERIC)
    # The generic path passes exact decimals as Decimal, as DB-API drivers of databases with NUMERIC take
    # them; the sqlite3 module standing in here needs to be told how (for this test only).
    monkeypatch.setitem(sqlite3.adapters, (Decimal, sqlite3.PrepareProtocol), str)
    frames = sample_frames()
    loader.load(frames)
    loader.load(frames)
    assert loader.row_counts() == {name: len(frame) for name, frame in frames.items()}
    assert select(loader, f"SELECT status FROM {loader.table('ocr_documents')} ORDER BY content_sha256") == [
        ("ok",)
    ] * 4 + [("failed",)]


def test_postgres_load_on_a_session_that_already_used_temporary_tables(monkeypatch):
    """temp_buffers cannot change after a session's first temporary table: the load still succeeds."""
    import uuid

    from airflow.providers.postgres.hooks.postgres import PostgresHook

    from tests.services import require_postgres

    monkeypatch.setenv("AIRFLOW_CONN_WAREHOUSE_WARM", require_postgres())

    class WarmSessionHook(PostgresHook):
        def get_conn(self):
            conn = super().get_conn()
            with conn.cursor() as cur:
                cur.execute("CREATE TEMP TABLE warm AS SELECT 1 AS x")  # local buffers in use
            conn.commit()
            return conn

    hook = WarmSessionHook(postgres_conn_id="warehouse_warm")
    loader = WarehouseLoader("warehouse_warm", schema=f"baidu_ocr_test_{uuid.uuid4().hex[:12]}", hook=hook)
    try:
        loader.ensure_schema()
        frames = sample_frames()
        loader.load(frames)
        loader.load(normalize_records([lines_record("1" * 64, ["changed"], endpoint="accurate")]))
        assert loader.row_counts()["ocr_documents"] == len(frames["ocr_documents"])
        lines = loader.table("ocr_lines")
        assert select(loader, f"SELECT text FROM {lines} WHERE content_sha256 = '{'1' * 64}'") == [
            ("changed",)
        ]
    finally:
        with loader.transaction() as cur:
            cur.execute(f'DROP SCHEMA IF EXISTS "{loader.schema}" CASCADE')
