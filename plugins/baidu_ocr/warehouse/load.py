"""Idempotent loads of the normalized frames into any common-sql warehouse.

Reruns never duplicate a row: documents are upserted on (content_sha256, endpoint, options_hash, page_no)
(page_no: 0 for an image, 1..N for the pages of a PDF/OFD), and a
reloaded document's child rows (lines, chars, cells, fields, ID card) are replaced, so a document
reprocessed with fewer lines keeps no stale line, even when two loads of it run at once. One call of
:func:`load_frames` is one transaction: a failure leaves no half-loaded document. Its first step marks the
batch's duplicate invoices against what the warehouse holds (``invoice_identity``), in the same transaction.

Three paths, chosen by the hook's dialect:

- PostgreSQL (fast path): the documents are upserted first, in key order, with ``ON CONFLICT DO UPDATE
  ... WHERE`` (a failed attempt never replaces an ``ok`` row); the upsert row-locks them, which serializes
  concurrent loads of the same document. Their child rows are then replaced: new documents' rows are
  ``COPY``-ed straight into the table; for documents stored before, only rows that differ are deleted and
  inserted (``COPY`` into a temporary table, one full join). ``COPY`` data is CSV written by pyarrow.
- SQLite: ``REPLACE INTO`` (what ``DbApiHook.insert_rows(replace=True)`` sends) with ``executemany``.
- Anything else: delete the batch's documents, then plain ``INSERT`` with ``executemany``. Concurrent
  loads of the same document are serialized only as far as that database's locking goes: two inserts
  of one key fail one load (a unique violation, rolled back), they do not mix rows.

``DbApiHook.insert_rows`` itself is not called: it opens its own connection and commits per table and per
chunk, which would break "one transaction per batch". The statements are the ones it would send.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa
from pyarrow import csv as pa_csv

from baidu_ocr.normalize.review_gate import REVIEWED
from baidu_ocr.normalize.schema import DOC_KEY, DOCUMENT_TABLES, TABLES
from baidu_ocr.warehouse.connection import WarehouseConnection
from baidu_ocr.warehouse.invoice_identity import mark_duplicates
from baidu_ocr.warehouse.sql import POSTGRES, SQLITE, python_rows, quote, sql_type

log = logging.getLogger(__name__)

_WORK_MEM = "256MB"
_CHILD_TABLES = tuple(name for name, schema in TABLES.items() if schema.is_child)


def load_frames(wh: WarehouseConnection, frames: Mapping[str, pd.DataFrame]) -> dict[str, int]:
    """Upsert one batch of frames in one transaction; the rows written per table."""
    batch = {name: _conform(name, frames.get(name)) for name in DOCUMENT_TABLES}
    if len(_document_keys(batch)) > len(batch["ocr_documents"]):
        raise ValueError("child rows without their ocr_documents row in the same batch")
    with wh.transaction() as cur:
        batch = mark_duplicates(wh, cur, batch)  # before any row is locked: see invoice_identity
        if wh.dialect == POSTGRES:
            counts = _load_postgres(wh, cur, batch)
        else:
            # SQLite: BEGIN IMMEDIATE serializes writers, so this check cannot race another load.
            written = _drop_downgrades(wh, cur, batch["ocr_documents"])
            batch = {name: _rows_of(frame, written) for name, frame in batch.items()}
            _load_rows(wh, cur, batch, written[list(DOC_KEY)])
            counts = {name: len(frame) for name, frame in batch.items()}
    log.info("Loaded %d document(s) into %s: %s", counts["ocr_documents"], wh.conn_id, counts)
    return counts


def row_counts(wh: WarehouseConnection) -> dict[str, int]:
    """Rows per document table."""
    with wh.transaction() as cur:
        counts = {}
        for name in DOCUMENT_TABLES:
            cur.execute(f"SELECT COUNT(*) FROM {wh.table(name)}")
            counts[name] = int(cur.fetchone()[0])
    return counts


# ---- SQLite and every other DB-API database ------------------------------------------------------------


def _drop_downgrades(wh: WarehouseConnection, cur: Any, documents: pd.DataFrame) -> pd.DataFrame:
    """The documents to write: not a failed attempt over a stored ``ok`` row, nothing over a reviewed one."""
    if documents.empty:
        return documents
    ph = wh.placeholder
    match = " AND ".join(f"{wh.column(c)} = {ph}" for c in DOC_KEY)
    sql = f"SELECT status, review_status FROM {wh.table('ocr_documents')} WHERE {match}"
    kept, reviewed = [], 0
    for key, status in zip(
        python_rows(documents[list(DOC_KEY)], wh.dialect), documents["status"], strict=True
    ):
        cur.execute(sql, key)
        stored = cur.fetchone()
        if stored and stored[1] == REVIEWED:
            kept.append(key)
            reviewed += 1
        elif stored and stored[0] == "ok" and status != "ok":
            kept.append(key)
    if not kept:
        return documents
    log.info(
        "%d stored document(s) kept: %d reviewed, %d ok not replaced by a failed attempt",
        len(kept),
        reviewed,
        len(kept) - reviewed,
    )
    index = pd.MultiIndex.from_frame(documents[list(DOC_KEY)].astype(object))
    return documents[~index.isin(kept)].reset_index(drop=True)


def _load_rows(wh: WarehouseConnection, cur: Any, batch: dict[str, pd.DataFrame], keys: pd.DataFrame) -> None:
    if keys.empty:
        return
    ph = wh.placeholder
    match = " AND ".join(f"{wh.column(c)} = {ph}" for c in DOC_KEY)
    key_rows = python_rows(keys, wh.dialect)
    for name in _CHILD_TABLES:
        cur.executemany(f"DELETE FROM {wh.table(name)} WHERE {match}", key_rows)
    if wh.dialect != SQLITE:
        # No portable upsert: delete the batch's documents, then insert them like new ones.
        documents = batch["ocr_documents"][list(DOC_KEY)]
        cur.executemany(
            f"DELETE FROM {wh.table('ocr_documents')} WHERE {match}",
            python_rows(documents, wh.dialect),
        )
    verb = "REPLACE INTO" if wh.dialect == SQLITE else "INSERT INTO"
    for name, frame in batch.items():
        if frame.empty:
            continue
        schema = TABLES[name]
        columns = ", ".join(wh.column(c) for c in schema.columns)
        values = ", ".join([ph] * len(schema.columns))
        sql = f"{verb} {wh.table(name)} ({columns}) VALUES ({values})"
        cur.executemany(sql, python_rows(frame, wh.dialect))


# ---- PostgreSQL: COPY, then merge ------------------------------------------------------------------------


def _load_postgres(wh: WarehouseConnection, cur: Any, batch: dict[str, pd.DataFrame]) -> dict[str, int]:
    """Documents first (conditional upsert, which row-locks them), then their children under that lock.

    The parent upsert runs in key order, so two loads sharing documents queue on the first shared row
    instead of deadlocking, and the second one's child replace starts only after the first commits: in
    READ COMMITTED each later statement sees the rows the first load wrote.
    """
    documents = batch["ocr_documents"]
    if documents.empty:
        return {name: 0 for name in DOCUMENT_TABLES}
    # Staged rows and hash joins of a whole batch in memory, not in spill files; this transaction only.
    cur.execute(f"SET LOCAL work_mem = '{_WORK_MEM}'")
    # temp_buffers can only change before a session's first temporary table: a reused one refuses.
    cur.execute("SAVEPOINT temp_buffers")
    try:
        cur.execute(f"SET LOCAL temp_buffers = '{_WORK_MEM}'")
    except Exception:  # noqa: BLE001 - the driver's error class differs; the default only costs speed
        cur.execute("ROLLBACK TO SAVEPOINT temp_buffers")
    cur.execute("RELEASE SAVEPOINT temp_buffers")
    written = _upsert_documents(wh, cur, documents)
    counts = {"ocr_documents": len(written)}
    fresh = written[written["inserted"]]
    for name in _CHILD_TABLES:
        # Every document written (the usual case): no child row to drop, and no need to look.
        frame = batch[name] if len(written) == len(documents) else _rows_of(batch[name], written)
        counts[name] = len(frame)
        new_rows = _rows_of(frame, fresh) if len(fresh) < len(written) else frame
        staged = frame.iloc[0:0] if len(fresh) == len(written) else _rows_not_of(frame, fresh)
        _replace_children(wh, cur, name, staged)
        if not new_rows.empty:
            _copy(cur, wh.table(name), new_rows)
    return counts


def _upsert_documents(wh: WarehouseConnection, cur: Any, documents: pd.DataFrame) -> pd.DataFrame:
    """Upsert the document rows; return the keys actually written and whether each row is new.

    A failed attempt does not replace a stored ``ok`` row: the condition is part of the upsert, so it
    also holds against a concurrent load (a separate check would race). The row is locked either way.
    """
    schema = TABLES["ocr_documents"]
    keys = ", ".join(quote(c) for c in DOC_KEY)
    columns = ", ".join(quote(c) for c in schema.columns)
    cur.execute(f"CREATE TEMP TABLE _stage_ocr_documents (LIKE {wh.table('ocr_documents')}) ON COMMIT DROP")
    _copy(cur, "_stage_ocr_documents", documents)
    key_columns = ", ".join(f"{quote(c)} {sql_type(POSTGRES, schema.columns[c])}" for c in DOC_KEY)
    cur.execute(f"CREATE TEMP TABLE _written ({key_columns}, inserted BOOLEAN) ON COMMIT DROP")
    updates = ", ".join(f"{quote(c)} = EXCLUDED.{quote(c)}" for c in schema.columns if c not in DOC_KEY)
    returned = ", ".join(f"t.{quote(c)}" for c in DOC_KEY)
    cur.execute(
        f"WITH upserted AS (INSERT INTO {wh.table('ocr_documents')} AS t ({columns}) "
        f"SELECT {columns} FROM _stage_ocr_documents ORDER BY {keys} "
        f"ON CONFLICT ({keys}) DO UPDATE SET {updates} "
        f"WHERE t.review_status IS DISTINCT FROM '{REVIEWED}' "
        "AND (t.status IS DISTINCT FROM 'ok' OR EXCLUDED.status = 'ok') "
        # xmax = 0 on a freshly inserted row, not on an updated one (a common upsert idiom). A wrong
        # guess costs only speed: a "new" document's stored child rows are deleted before its COPY.
        f"RETURNING {returned}, t.xmax = 0) INSERT INTO _written SELECT * FROM upserted"
    )
    cur.execute("ANALYZE _written")
    cur.execute(f"SELECT {keys}, inserted FROM _written")
    written = pd.DataFrame(cur.fetchall(), columns=[*DOC_KEY, "inserted"])
    if len(written) < len(documents):
        log.info(
            "%d stored document(s) kept (reviewed, or ok and not replaced by a failed attempt)",
            len(documents) - len(written),
        )
    return written.astype({c: schema.columns[c] for c in DOC_KEY} | {"inserted": bool})


def _replace_children(wh: WarehouseConnection, cur: Any, name: str, staged: pd.DataFrame) -> None:
    """Make the written documents' rows in ``name`` equal ``staged`` (their rows that were stored before).

    Rows already stored unchanged are left alone: a rerun of the same batch rewrites nothing, and a
    reprocessed document only pays for the rows that differ. Deleting and re-inserting an unchanged row
    in one transaction is the slow case for a unique index (every new entry meets a dead twin). One
    full join of the stored rows with the staged ones finds the keys that differ.
    """
    table, schema = wh.table(name), TABLES[name]
    match = " AND ".join(f"t.{quote(c)} = k.{quote(c)}" for c in DOC_KEY)
    if staged.empty:
        cur.execute(f"DELETE FROM {table} t USING _written k WHERE {match}")
        return
    stage, diff = f"_stage_{name}", f"_diff_{name}"
    cur.execute(f"CREATE TEMP TABLE {stage} (LIKE {table}) ON COMMIT DROP")
    _copy(cur, stage, staged)
    key = [quote(c) for c in schema.primary_key]
    values = [quote(c) for c in schema.columns if c not in schema.primary_key]
    differs = f"t.{key[0]} IS NULL OR s.{key[0]} IS NULL"  # a row on one side only
    if values:
        differs += f" OR ({', '.join(f't.{c}' for c in values)}) IS DISTINCT FROM "
        differs += f"({', '.join(f's.{c}' for c in values)})"

    def same_key(left: str, right: str) -> str:
        return " AND ".join(f"{left}.{c} = {right}.{c}" for c in key)

    stored = f"(SELECT t.* FROM {table} t JOIN _written k ON {match})"
    cur.execute(
        f"CREATE TEMP TABLE {diff} ON COMMIT DROP AS "
        f"SELECT {', '.join(f'COALESCE(t.{c}, s.{c}) AS {c}' for c in key)} "
        f"FROM {stored} t FULL JOIN {stage} s ON {same_key('t', 's')} "
        f"WHERE {differs}"
    )
    if cur.rowcount == 0:  # nothing differs (a rerun)
        return
    cur.execute(f"DELETE FROM {table} t USING {diff} d WHERE {same_key('t', 'd')}")
    columns = [quote(c) for c in schema.columns]
    cur.execute(
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(f's.{c}' for c in columns)} "
        f"FROM {stage} s JOIN {diff} d ON {same_key('s', 'd')}"
    )


def _csv(frame: pd.DataFrame) -> pa.Buffer:
    """The frame as PostgreSQL ``COPY ... (FORMAT csv)`` reads it, written by pyarrow (no per-value Python).

    Strings are always quoted and NULL is an unquoted empty field, so ``""`` and NULL stay apart; quotes,
    tabs, newlines and backslashes need no escaping beyond CSV's own.
    """
    # One chunk per column: pyarrow's CSV writer turns a column whose first chunk is empty (a frame
    # concatenated onto an empty one) into NUL bytes, which COPY refuses.
    table = pa.Table.from_pandas(frame, preserve_index=False).combine_chunks()
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False, quoting_style="needed"))
    return sink.getvalue()


def _copy(cur: Any, table: str, frame: pd.DataFrame) -> None:
    columns = ", ".join(quote(c) for c in frame.columns)
    sql = f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)"
    data = _csv(frame)
    if hasattr(cur, "copy"):  # psycopg 3
        with cur.copy(sql) as copy:
            copy.write(memoryview(data))
    else:  # psycopg2
        cur.copy_expert(sql, pa.BufferReader(data), size=1 << 20)


# ---- a batch's frames ------------------------------------------------------------------------------------


def _conform(name: str, frame: pd.DataFrame | None) -> pd.DataFrame:
    schema = TABLES[name]
    if frame is None or frame.empty:
        return schema.empty()
    frame = schema.conform(frame)
    # A key twice in one statement makes ON CONFLICT fail; the last occurrence wins, as a reload would.
    return frame.drop_duplicates(subset=list(schema.primary_key), keep="last").reset_index(drop=True)


def _key_mask(frame: pd.DataFrame, keys: pd.DataFrame) -> Any:
    """Which rows of ``frame`` belong to one of the documents in ``keys``."""
    index = pd.MultiIndex.from_frame(frame[list(DOC_KEY)].astype(object))
    return index.isin(pd.MultiIndex.from_frame(keys[list(DOC_KEY)].astype(object)))


def _rows_of(frame: pd.DataFrame, keys: pd.DataFrame) -> pd.DataFrame:
    if frame.empty or keys.empty:
        return frame.iloc[0:0]
    return frame[_key_mask(frame, keys)].reset_index(drop=True)


def _rows_not_of(frame: pd.DataFrame, keys: pd.DataFrame) -> pd.DataFrame:
    if frame.empty or keys.empty:
        return frame
    return frame[~_key_mask(frame, keys)].reset_index(drop=True)


def _document_keys(batch: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Every document the batch touches: their child rows are replaced."""
    keys = [frame[list(DOC_KEY)] for frame in batch.values() if not frame.empty]
    if not keys:
        return pd.DataFrame({c: pd.Series([], dtype="string") for c in DOC_KEY})
    return pd.concat(keys, ignore_index=True).drop_duplicates().reset_index(drop=True)
