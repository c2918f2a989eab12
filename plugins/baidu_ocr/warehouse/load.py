"""Idempotent loads of the normalized frames into any common-sql warehouse.

Reruns never duplicate a row: documents are upserted on (content_sha256, endpoint, options_hash, page_no)
(page_no: 0 for an image, 1..N for the pages of a PDF/OFD), and a
reloaded document's child rows (lines, chars, cells, fields, ID card) are replaced, so a document
reprocessed with fewer lines keeps no stale line, even when two loads of it run at once. One call of :meth:`WarehouseLoader.load` is
one transaction: a failure leaves no half-loaded document.

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

DDL: rendered from ``baidu_ocr.normalize.TABLES`` (:func:`render_ddl`), so it ships with the package and
cannot drift from the frames. ``sql/postgres.sql`` and ``sql/sqlite.sql`` (shipped in the wheel) are the
same text for DBAs and reviews; regenerate them with ``python -m baidu_ocr.warehouse`` (a test
fails when they differ). :meth:`WarehouseLoader.ensure_schema` applies it with ``CREATE TABLE IF NOT EXISTS``.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
from pyarrow import csv as pa_csv

from baidu_ocr.normalize.review_gate import REVIEWED
from baidu_ocr.normalize.schema import DATE, DOC_KEY, DOCUMENT_TABLES, TABLES, TIMESTAMP_UTC

log = logging.getLogger(__name__)

POSTGRES = "postgresql"
SQLITE = "sqlite"
GENERIC = "generic"
DDL_FILES = {POSTGRES: "postgres.sql", SQLITE: "sqlite.sql"}

# pandas dtype -> SQL type per dialect. SQLite has no DATE/TIMESTAMP/BOOLEAN: ISO-8601 text and 0/1.
_SQL_TYPES: dict[str, dict[str, str]] = {
    POSTGRES: {
        "string": "TEXT",
        "Int64": "BIGINT",
        "Float64": "DOUBLE PRECISION",
        "boolean": "BOOLEAN",
        str(DATE): "DATE",
        TIMESTAMP_UTC: "TIMESTAMPTZ",
    },
    SQLITE: {
        "string": "TEXT",
        "Int64": "INTEGER",
        "Float64": "REAL",
        "boolean": "INTEGER",
        str(DATE): "TEXT",
        TIMESTAMP_UTC: "TEXT",
    },
    GENERIC: {
        "string": "VARCHAR(1024)",
        "Int64": "BIGINT",
        "Float64": "DOUBLE PRECISION",
        "boolean": "BOOLEAN",
        str(DATE): "DATE",
        TIMESTAMP_UTC: "TIMESTAMP",
    },
}
_IN_CHUNK = 500  # hashes per IN (...) query: well below SQLite's parameter limit
_WORK_MEM = "256MB"
_CHILD_TABLES = tuple(name for name, schema in TABLES.items() if schema.is_child)


def _quote(identifier: str) -> str:
    # Columns such as "left", "row" and "char" are reserved words: always quote.
    return '"' + identifier.replace('"', '""') + '"'


def ddl_statements(dialect: str, schema: str | None = None) -> list[str]:
    """``CREATE TABLE IF NOT EXISTS`` for every table in ``TABLES``, in the given dialect."""
    types = _SQL_TYPES.get(dialect, _SQL_TYPES[GENERIC])
    statements = []
    for table in TABLES.values():
        columns = [
            f"    {_quote(col)} {types[str(dtype)]}{' NOT NULL' if col in table.primary_key else ''}"
            for col, dtype in table.columns.items()
        ]
        columns.append(f"    PRIMARY KEY ({', '.join(_quote(c) for c in table.primary_key)})")
        body = ",\n".join(columns)
        statements.append(f"CREATE TABLE IF NOT EXISTS {_qualified(table.name, schema)} (\n{body}\n)")
    return statements


def render_ddl(dialect: str) -> str:
    """The DDL file text for ``dialect`` (``postgresql`` or ``sqlite``), as kept in the package's ``sql/``."""
    header = (
        f"-- baidu-ocr warehouse tables ({dialect}). Generated from baidu_ocr.normalize.TABLES by\n"
        "-- `python -m baidu_ocr.warehouse`: edit TABLES, not this file.\n\n"
    )
    return header + ";\n\n".join(ddl_statements(dialect)) + ";\n"


def _qualified(table: str, schema: str | None) -> str:
    return f"{_quote(schema)}.{_quote(table)}" if schema else _quote(table)


class OutdatedSchema(RuntimeError):
    """The warehouse tables predate a schema change the loader needs; the message says what to run."""


@dataclass
class PagesDone:
    """The done pages of one content hash (0: the image, or a document refused as a whole)."""

    pages: set[int] = field(default_factory=set)
    page_count: int | None = None

    @property
    def complete(self) -> bool:
        if 0 in self.pages:
            return True
        return bool(self.page_count) and self.pages >= set(range(1, self.page_count + 1))


class WarehouseLoader:
    """Upsert normalized OCR frames into the warehouse behind an Airflow connection.

    :param conn_id: any connection whose hook is a common-sql ``DbApiHook`` (postgres, sqlite, ...).
    :param schema: PostgreSQL schema (namespace) holding the tables, created if missing; default: the
        connection's ``search_path``. Not supported on SQLite.
    :param hook: an already built hook (tests, or callers that configured one); skips the connection lookup.
    """

    def __init__(self, conn_id: str = "warehouse_default", *, schema: str | None = None, hook: Any = None):
        self.conn_id = conn_id
        self.schema = schema
        self._hook = hook
        self._schema_ready = False

    @cached_property
    def hook(self) -> Any:
        if self._hook is not None:
            return self._hook
        from airflow.sdk import BaseHook

        return BaseHook.get_connection(self.conn_id).get_hook()

    @cached_property
    def dialect(self) -> str:
        """``postgresql``, ``sqlite`` or ``generic`` (every other DB-API database)."""
        name = str(getattr(self.hook, "dialect_name", "") or "").lower()
        if name.startswith("postgres"):
            return POSTGRES
        if name.startswith("sqlite"):
            if self.schema:
                raise ValueError(f"connection {self.conn_id!r}: SQLite has no schemas; leave schema unset")
            return SQLITE
        return GENERIC

    # ---- public API -------------------------------------------------------------------------------------

    def ensure_schema(self, *, migrate: bool = False) -> None:
        """Create the schema (PostgreSQL) and every missing table; harmless when they exist.

        Tables created before documents had pages (no ``page_no`` column, a key without it) cannot take a
        page's rows: :class:`OutdatedSchema` says so and what to run, unless ``migrate`` (then
        :meth:`migrate` rebuilds them, every stored row becoming page 0, as images are). Tables created
        before a column was declared (e.g. the confidence and review columns) raise it too; ``migrate``
        adds the missing columns (NULL in the stored rows).
        """
        with self._transaction() as cur:
            if self.dialect == POSTGRES:
                # Concurrent first loads would race on CREATE ... IF NOT EXISTS (catalog unique violation).
                cur.execute("SELECT pg_advisory_xact_lock(hashtext('baidu_ocr.ensure_schema'))")
                if self.schema:
                    cur.execute(f"CREATE SCHEMA IF NOT EXISTS {_quote(self.schema)}")
            for statement in ddl_statements(self.dialect, self.schema):
                cur.execute(statement)
            outdated = self._tables_without_pages(cur)
            if outdated and migrate:
                self._migrate(cur, outdated)
            missing = self._missing_columns(cur)
            if missing and migrate:
                self._add_columns(cur, missing)
        how = (
            f"`python -m baidu_ocr.warehouse --migrate {self.conn_id}` or "
            f"WarehouseLoader({self.conn_id!r}).ensure_schema(migrate=True)"
        )
        if outdated and not migrate:
            raise OutdatedSchema(
                f"Warehouse {self.conn_id!r}: table(s) {', '.join(outdated)} have no page_no column (created "
                f"before multi-page PDF/OFD support). Migrate them once (rows become page 0; nothing is "
                f"re-OCRed): {how}"
            )
        if missing and not migrate:
            columns = ", ".join(f"{table}.{col}" for table, cols in missing.items() for col in cols)
            raise OutdatedSchema(
                f"Warehouse {self.conn_id!r}: column(s) {columns} are missing (tables created by an earlier "
                f"version). Add them once (stored rows keep their values, the new columns are NULL): {how}"
            )
        self._schema_ready = True

    def _missing_columns(self, cur: Any) -> dict[str, list[str]]:
        missing = {}
        for name, schema in TABLES.items():
            cur.execute(f"SELECT * FROM {self._table(name)} WHERE 1 = 0")
            present = {str(d[0]).lower() for d in cur.description or ()}
            if absent := [col for col in schema.columns if col.lower() not in present]:
                missing[name] = absent
        return missing

    def _add_columns(self, cur: Any, missing: dict[str, list[str]]) -> None:
        """``ALTER TABLE ... ADD COLUMN`` for columns declared since the tables were created (nullable)."""
        types = _SQL_TYPES.get(self.dialect, _SQL_TYPES[GENERIC])
        for name, columns in missing.items():
            for col in columns:
                sql_type = types[str(TABLES[name].columns[col])]
                cur.execute(f"ALTER TABLE {self._table(name)} ADD COLUMN {_quote(col)} {sql_type}")
            log.info("Added column(s) %s to %s", ", ".join(columns), name)

    def _tables_without_pages(self, cur: Any) -> list[str]:
        outdated = []
        for name in DOCUMENT_TABLES:
            cur.execute(f"SELECT * FROM {self._table(name)} WHERE 1 = 0")
            if "page_no" not in {str(d[0]).lower() for d in cur.description or ()}:
                outdated.append(name)
        return outdated

    def _migrate(self, cur: Any, tables: list[str]) -> None:
        """Rebuild each table with the current DDL (page_no in its key), its rows copied as page 0."""
        statements = dict(zip(TABLES, ddl_statements(self.dialect, self.schema), strict=True))
        for name in tables:
            old = f"{name}_before_pages"
            cur.execute(f"SELECT * FROM {self._table(name)} WHERE 1 = 0")
            kept = [str(d[0]) for d in cur.description if str(d[0]) in TABLES[name].columns]
            cur.execute(f"ALTER TABLE {self._table(name)} RENAME TO {_quote(old)}")
            cur.execute(statements[name])
            columns = ", ".join(_quote(c) for c in kept)
            cur.execute(
                f"INSERT INTO {self._table(name)} ({columns}, {_quote('page_no')}) "
                f"SELECT {columns}, 0 FROM {_qualified(old, self.schema)}"
            )
            cur.execute(f"DROP TABLE {_qualified(old, self.schema)}")
            log.info("Migrated %s to pages (rows kept as page 0)", name)

    def load(self, frames: Mapping[str, pd.DataFrame]) -> dict[str, int]:
        """Upsert one batch of frames (``normalize_records`` output) in one transaction.

        Returns the number of rows written per table. A document already stored with ``status='ok'`` is
        not overwritten by a failed attempt: the image was paid for and its rows stay. A document a person
        reviewed (``review_status='reviewed'``) is never overwritten, nor are its lines or queue row.
        """
        self._ready()
        batch = {name: _conform(name, frames.get(name)) for name in DOCUMENT_TABLES}
        if len(_document_keys(batch)) > len(batch["ocr_documents"]):
            raise ValueError("child rows without their ocr_documents row in the same batch")
        with self._transaction() as cur:
            if self.dialect == POSTGRES:
                counts = self._load_postgres(cur, batch)
            else:
                # SQLite: BEGIN IMMEDIATE serializes writers, so this check cannot race another load.
                written = self._drop_downgrades(cur, batch["ocr_documents"])
                batch = {name: _rows_of(frame, written) for name, frame in batch.items()}
                self._load_rows(cur, batch, written[list(DOC_KEY)])
                counts = {name: len(frame) for name, frame in batch.items()}
        log.info("Loaded %d document(s) into %s: %s", counts["ocr_documents"], self.conn_id, counts)
        return counts

    def already_processed(
        self,
        content_hashes: Iterable[str],
        endpoint: str,
        options_hash: str,
        *,
        include_bad_images: bool = True,
    ) -> set[str]:
        """The hashes among ``content_hashes`` that need no new OCR call for these options: images, and
        PDFs/OFDs with every page done (:meth:`processed_pages` tells which pages of the others are).

        That is every ``status='ok'`` document and, unless ``include_bad_images`` is false, every document
        that failed as ``bad_image``: Baidu (or the local checks) already said it cannot be recognized, and
        asking again would bill the same answer. Transient, rate-limit and quota failures are retried.
        """
        done = self.processed_pages(
            content_hashes, endpoint, options_hash, include_bad_images=include_bad_images
        )
        return {digest for digest, pages in done.items() if pages.complete}

    def processed_pages(
        self,
        content_hashes: Iterable[str],
        endpoint: str,
        options_hash: str,
        *,
        include_bad_images: bool = True,
    ) -> dict[str, PagesDone]:
        """Per content hash, the pages that need no new OCR call (0 for an image) and the page count stored.

        "Done" is what :meth:`already_processed` means: ``ok``, or refused as ``bad_image``.
        """
        status_filter = (
            "(status = 'ok' OR error_class = 'bad_image')" if include_bad_images else "status = 'ok'"
        )
        hashes = sorted({h for h in content_hashes if h})
        done: dict[str, PagesDone] = {}
        ph = self.hook.placeholder
        for start in range(0, len(hashes), _IN_CHUNK):
            chunk = hashes[start : start + _IN_CHUNK]
            sql = (
                f"SELECT content_sha256, page_no, page_count FROM {self._table('ocr_documents')} "
                f"WHERE endpoint = {ph} AND options_hash = {ph} AND {status_filter} "
                f"AND content_sha256 IN ({', '.join([ph] * len(chunk))})"
            )
            for digest, page_no, page_count in self._query(sql, [endpoint, options_hash, *chunk]):
                entry = done.setdefault(digest, PagesDone())
                entry.pages.add(int(page_no or 0))
                if page_count is not None:
                    entry.page_count = int(page_count)
        return done

    def _query(self, sql: str, parameters: list[Any]) -> list[tuple]:
        """Rows of one SELECT, through a plain cursor: ``DbApiHook.get_records`` logs the statement and every
        parameter (here: up to 500 content hashes per query) at INFO."""
        with closing(self.hook.get_conn()) as conn:
            cur = conn.cursor()
            try:
                cur.execute(sql, parameters)
                return cur.fetchall()
            finally:
                cur.close()

    def record_usage(self, rows: list[dict[str, Any]], prices: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Upsert ``ocr_usage`` rows (``usage.usage_rows``), each costed against the month's other calls of
        its endpoint (the free allowance goes to the calls recorded first). Returns the rows as written.

        Keyed on run, task, map index, try, endpoint and day: writing a try's figures again (a deferred
        task finishing, a retried write) replaces them instead of adding them twice.
        """
        from baidu_ocr.pipeline.usage import month_of

        if not rows:
            return []
        self._ready()
        schema = TABLES["ocr_usage"]
        ph = self._placeholder
        key = schema.primary_key
        other = " OR ".join(f"{self._column(c)} <> {ph}" for c in key)
        written = []
        with self._transaction() as cur:
            if self.dialect == POSTGRES:  # two tasks costing the same month take turns
                cur.execute("SELECT pg_advisory_xact_lock(hashtext('baidu_ocr.ocr_usage'))")
            for row in rows:
                first, following = month_of(row["day"])
                cur.execute(
                    f"SELECT COALESCE(SUM(billable_calls), 0) FROM {self._table('ocr_usage')} "
                    f"WHERE endpoint = {ph} AND day >= {ph} AND day < {ph} AND ({other})",
                    [row["endpoint"], *self._dates(first, following), *self._key_values(row, key)],
                )
                month_before = int(cur.fetchone()[0] or 0)
                price = prices.get(row["endpoint"])
                cost = price.cost(row["billable_calls"], month_before) if price else None
                written.append({**row, "estimated_cost": cost})
            frame = schema.conform(written)
            match = " AND ".join(f"{self._column(c)} = {ph}" for c in key)
            cur.executemany(
                f"DELETE FROM {self._table('ocr_usage')} WHERE {match}",
                _python_rows(frame[list(key)], self.dialect),
            )
            columns = ", ".join(self._column(c) for c in schema.columns)
            values = ", ".join([ph] * len(schema.columns))
            cur.executemany(
                f"INSERT INTO {self._table('ocr_usage')} ({columns}) VALUES ({values})",
                _python_rows(frame, self.dialect),
            )
        return written

    def _ready(self) -> None:
        """The tables exist (checked once per loader): every public method starts here."""
        if not self._schema_ready:
            self.ensure_schema()

    def _dates(self, *days: Any) -> list[Any]:
        """Dates and timestamps as parameters: ISO strings for SQLite, as they are elsewhere."""
        return [d.isoformat() for d in days] if self.dialect == SQLITE else list(days)

    def _key_values(self, row: Mapping[str, Any], key: tuple[str, ...]) -> list[Any]:
        return [self._dates(row[c])[0] if c == "day" else row[c] for c in key]

    def usage(self, *, dag_id: str | None = None, run_id: str | None = None, month_of_day: Any = None):
        """``ocr_usage`` summed per endpoint: ``{endpoint: (billable_calls, failed_calls, estimated_cost)}``
        for one run (``dag_id`` + ``run_id``) or for the month of ``month_of_day`` (or both filters)."""
        from baidu_ocr.pipeline.usage import month_of

        self._ready()
        ph = self._placeholder
        where, params = [], []
        if run_id is not None:
            where += [f"dag_id = {ph}", f"run_id = {ph}"]
            params += [dag_id, run_id]
        if month_of_day is not None:
            where += [f"day >= {ph}", f"day < {ph}"]
            params += self._dates(*month_of(month_of_day))
        sql = (
            "SELECT endpoint, SUM(billable_calls), SUM(failed_calls), SUM(estimated_cost) "
            f"FROM {self._table('ocr_usage')} {'WHERE ' + ' AND '.join(where) if where else ''} "
            "GROUP BY endpoint"
        )
        return {
            str(endpoint): (int(calls or 0), int(failed or 0), None if cost is None else float(cost))
            for endpoint, calls, failed, cost in self._query(sql, params)
        }

    def review_queue(self, dag_id: str, run_id: str, *, limit: int | None = None) -> list[dict[str, Any]]:
        """The open ``ocr_review_queue`` rows a DAG run queued, least confident first (JSON-ready dicts)."""
        self._ready()
        ph = self._placeholder
        columns = [*DOC_KEY, "source_uri", "reason", "min_confidence", "conf_mean", "conf_min", "low_lines"]
        sql = (
            f"SELECT {', '.join(self._column(c) for c in columns)} FROM {self._table('ocr_review_queue')} "
            f"WHERE dag_id = {ph} AND run_id = {ph} AND status = 'open' "
            # NULLs (no_text) first, as the least confident
            "ORDER BY CASE WHEN conf_min IS NULL THEN 0 ELSE 1 END, conf_min, source_uri, page_no"
        )
        with self._transaction() as cur:
            cur.execute(sql, [dag_id, run_id])
            rows = cur.fetchall()
        items = []
        for row in rows[:limit] if limit else rows:
            item = dict(zip(columns, row, strict=True))
            item["page_no"] = int(item["page_no"])
            item["low_lines"] = json.loads(item["low_lines"] or "[]")
            items.append(item)
        return items

    def apply_review(
        self,
        document: Mapping[str, Any],
        *,
        corrections: Mapping[int, str],
        reviewed_by: str,
        reviewed_at: datetime,
    ) -> None:
        """Store a reviewer's answer for one document, in one transaction.

        Corrected lines get the new ``text``, the OCR's text kept in ``original_text`` (the first time only:
        a second review keeps the machine's reading); every reviewed row gets ``reviewed_by``/``reviewed_at``.
        The document becomes ``reviewed`` (never overwritten by a later load) and its queue row
        ``corrected`` or ``accepted``.
        """
        self._ready()
        ph = self._placeholder
        match = " AND ".join(f"{self._column(c)} = {ph}" for c in DOC_KEY)
        key = [document[c] for c in DOC_KEY]
        [when] = self._dates(reviewed_at)
        status = "corrected" if corrections else "accepted"
        with self._transaction() as cur:
            for line_no, text in sorted(corrections.items()):
                cur.execute(
                    f"UPDATE {self._table('ocr_lines')} SET original_text = COALESCE(original_text, text), "
                    f"text = {ph}, reviewed_by = {ph}, reviewed_at = {ph} WHERE {match} AND line_no = {ph}",
                    [text, reviewed_by, when, *key, int(line_no)],
                )
            cur.execute(
                f"UPDATE {self._table('ocr_documents')} SET review_status = {ph}, reviewed_by = {ph}, "
                f"reviewed_at = {ph} WHERE {match}",
                [REVIEWED, reviewed_by, when, *key],
            )
            cur.execute(
                f"UPDATE {self._table('ocr_review_queue')} SET status = {ph}, reviewed_by = {ph}, "
                f"reviewed_at = {ph} WHERE {match}",
                [status, reviewed_by, when, *key],
            )
        log.info(
            "Review of %s stored: %s, %d line(s) corrected",
            document.get("source_uri"),
            status,
            len(corrections),
        )

    def row_counts(self) -> dict[str, int]:
        """Rows per document table (monitoring and tests; ``ocr_usage`` is read with :meth:`usage`)."""
        with self._transaction() as cur:
            counts = {}
            for name in DOCUMENT_TABLES:
                cur.execute(f"SELECT COUNT(*) FROM {self._table(name)}")
                counts[name] = int(cur.fetchone()[0])
        return counts

    # ---- transaction and per-dialect loads ---------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        conn = self.hook.get_conn()
        try:
            if self.dialect == SQLITE:
                conn.isolation_level = None  # we issue BEGIN ourselves
                conn.execute("PRAGMA busy_timeout = 30000")
                # IMMEDIATE: take the write lock up front, so concurrent loaders queue instead of failing.
                conn.execute("BEGIN IMMEDIATE")
            elif getattr(self.hook, "supports_autocommit", False):
                self.hook.set_autocommit(conn, False)
            cur = conn.cursor()
            try:
                yield cur
                conn.commit()
            except BaseException:
                conn.rollback()
                raise
            finally:
                cur.close()
        finally:
            conn.close()

    def _table(self, name: str) -> str:
        return _qualified(name, self.schema)

    def _drop_downgrades(self, cur: Any, documents: pd.DataFrame) -> pd.DataFrame:
        """The documents to write: not a failed attempt over a stored ``ok`` row, nothing over a reviewed one."""
        if documents.empty:
            return documents
        ph = self._placeholder
        match = " AND ".join(f"{_quote(c)} = {ph}" for c in DOC_KEY)
        sql = f"SELECT status, review_status FROM {self._table('ocr_documents')} WHERE {match}"
        kept, reviewed = [], 0
        for key, status in zip(
            _python_rows(documents[list(DOC_KEY)], self.dialect), documents["status"], strict=True
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

    @property
    def _placeholder(self) -> str:
        return "?" if self.dialect == SQLITE else self.hook.placeholder

    def _load_postgres(self, cur: Any, batch: dict[str, pd.DataFrame]) -> dict[str, int]:
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
        written = self._upsert_documents(cur, documents)
        counts = {"ocr_documents": len(written)}
        fresh = written[written["inserted"]]
        for name in _CHILD_TABLES:
            # Every document written (the usual case): no child row to drop, and no need to look.
            frame = batch[name] if len(written) == len(documents) else _rows_of(batch[name], written)
            counts[name] = len(frame)
            new_rows = _rows_of(frame, fresh) if len(fresh) < len(written) else frame
            staged = frame.iloc[0:0] if len(fresh) == len(written) else _rows_not_of(frame, fresh)
            self._replace_children(cur, name, staged)
            if not new_rows.empty:
                _copy(cur, self._table(name), new_rows)
        return counts

    def _upsert_documents(self, cur: Any, documents: pd.DataFrame) -> pd.DataFrame:
        """Upsert the document rows; return the keys actually written and whether each row is new.

        A failed attempt does not replace a stored ``ok`` row: the condition is part of the upsert, so it
        also holds against a concurrent load (a separate check would race). The row is locked either way.
        """
        schema = TABLES["ocr_documents"]
        keys = ", ".join(_quote(c) for c in DOC_KEY)
        columns = ", ".join(_quote(c) for c in schema.columns)
        cur.execute(
            f"CREATE TEMP TABLE _stage_ocr_documents (LIKE {self._table('ocr_documents')}) ON COMMIT DROP"
        )
        _copy(cur, "_stage_ocr_documents", documents)
        key_types = _SQL_TYPES[POSTGRES]
        key_columns = ", ".join(f"{_quote(c)} {key_types[str(schema.columns[c])]}" for c in DOC_KEY)
        cur.execute(f"CREATE TEMP TABLE _written ({key_columns}, inserted BOOLEAN) ON COMMIT DROP")
        updates = ", ".join(f"{_quote(c)} = EXCLUDED.{_quote(c)}" for c in schema.columns if c not in DOC_KEY)
        returned = ", ".join(f"t.{_quote(c)}" for c in DOC_KEY)
        cur.execute(
            f"WITH upserted AS (INSERT INTO {self._table('ocr_documents')} AS t ({columns}) "
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

    def _replace_children(self, cur: Any, name: str, staged: pd.DataFrame) -> None:
        """Make the written documents' rows in ``name`` equal ``staged`` (their rows that were stored before).

        Rows already stored unchanged are left alone: a rerun of the same batch rewrites nothing, and a
        reprocessed document only pays for the rows that differ. Deleting and re-inserting an unchanged row
        in one transaction is the slow case for a unique index (every new entry meets a dead twin). One
        full join of the stored rows with the staged ones finds the keys that differ.
        """
        table, schema = self._table(name), TABLES[name]
        match = " AND ".join(f"t.{_quote(c)} = k.{_quote(c)}" for c in DOC_KEY)
        if staged.empty:
            cur.execute(f"DELETE FROM {table} t USING _written k WHERE {match}")
            return
        stage, diff = f"_stage_{name}", f"_diff_{name}"
        cur.execute(f"CREATE TEMP TABLE {stage} (LIKE {table}) ON COMMIT DROP")
        _copy(cur, stage, staged)
        key = [_quote(c) for c in schema.primary_key]
        values = [_quote(c) for c in schema.columns if c not in schema.primary_key]
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
        columns = [_quote(c) for c in schema.columns]
        cur.execute(
            f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(f's.{c}' for c in columns)} "
            f"FROM {stage} s JOIN {diff} d ON {same_key('s', 'd')}"
        )

    def _load_rows(self, cur: Any, batch: dict[str, pd.DataFrame], keys: pd.DataFrame) -> None:
        if keys.empty:
            return
        ph = self._placeholder
        quote = _quote if self.dialect == SQLITE else self._generic_quote
        match = " AND ".join(f"{quote(c)} = {ph}" for c in DOC_KEY)
        key_rows = _python_rows(keys, self.dialect)
        for name in _CHILD_TABLES:
            cur.executemany(f"DELETE FROM {self._table(name)} WHERE {match}", key_rows)
        if self.dialect != SQLITE:
            # No portable upsert: delete the batch's documents, then insert them like new ones.
            documents = batch["ocr_documents"][list(DOC_KEY)]
            cur.executemany(
                f"DELETE FROM {self._table('ocr_documents')} WHERE {match}",
                _python_rows(documents, self.dialect),
            )
        verb = "REPLACE INTO" if self.dialect == SQLITE else "INSERT INTO"
        for name, frame in batch.items():
            if frame.empty:
                continue
            schema = TABLES[name]
            columns = ", ".join(quote(c) for c in schema.columns)
            values = ", ".join([ph] * len(schema.columns))
            sql = f"{verb} {self._table(name)} ({columns}) VALUES ({values})"
            cur.executemany(sql, _python_rows(frame, self.dialect))

    def _column(self, identifier: str) -> str:
        """A quoted column name in this warehouse's dialect."""
        return _quote(identifier) if self.dialect in (POSTGRES, SQLITE) else self._generic_quote(identifier)

    def _generic_quote(self, identifier: str) -> str:
        return self.hook.escape_word_format.format(identifier)


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


# ---- value encoding ---------------------------------------------------------------------------------------


def _csv(frame: pd.DataFrame) -> pa.Buffer:
    """The frame as PostgreSQL ``COPY ... (FORMAT csv)`` reads it, written by pyarrow (no per-value Python).

    Strings are always quoted and NULL is an unquoted empty field, so ``""`` and NULL stay apart; quotes,
    tabs, newlines and backslashes need no escaping beyond CSV's own.
    """
    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    pa_csv.write_csv(table, sink, pa_csv.WriteOptions(include_header=False, quoting_style="needed"))
    return sink.getvalue()


def _copy(cur: Any, table: str, frame: pd.DataFrame) -> None:
    columns = ", ".join(_quote(c) for c in frame.columns)
    sql = f"COPY {table} ({columns}) FROM STDIN (FORMAT csv)"
    data = _csv(frame)
    if hasattr(cur, "copy"):  # psycopg 3
        with cur.copy(sql) as copy:
            copy.write(memoryview(data))
    else:  # psycopg2
        cur.copy_expert(sql, pa.BufferReader(data), size=1 << 20)


def _python_rows(frame: pd.DataFrame, dialect: str) -> list[tuple]:
    """Rows of plain Python values for ``executemany``: NA -> None, dates/timestamps per dialect."""
    columns = []
    for col in frame.columns:
        series = frame[col]
        dtype = str(series.dtype)
        # Plain lists, not Series.map: pandas would infer datetime64 again and hand back Timestamps.
        values = [None if pd.isna(v) else v for v in series.astype(object).tolist()]
        if dtype in (str(DATE), TIMESTAMP_UTC) and dialect == SQLITE:
            values = [v.isoformat() if v is not None else None for v in values]
        elif dtype == TIMESTAMP_UTC:
            values = [v.to_pydatetime() if v is not None else None for v in values]
        columns.append(values)
    return list(zip(*columns, strict=True)) if columns else []


def write_ddl_files(directory: Path) -> list[Path]:
    """Write ``postgres.sql`` and ``sqlite.sql`` into ``directory`` (keeps the package's sql/ in step)."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for dialect, filename in DDL_FILES.items():
        path = directory / filename
        path.write_text(render_ddl(dialect), encoding="utf-8")
        written.append(path)
    return written
