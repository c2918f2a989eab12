"""The warehouse tables up to date: created when missing, migrated when a newer release needs more.

Tables created before documents had pages (no ``page_no`` column, a key without it) are rebuilt with the
current DDL, every stored row becoming page 0; columns declared since (confidence, review) are added,
NULL in the stored rows. Both only on request (``migrate``): otherwise :class:`OutdatedSchema` says what
to run, so a release never rewrites a warehouse behind its DBA's back.
"""

from __future__ import annotations

import logging
from typing import Any

from baidu_ocr.normalize.schema import DOCUMENT_TABLES, TABLES
from baidu_ocr.warehouse.connection import WarehouseConnection
from baidu_ocr.warehouse.ddl import ddl_statements
from baidu_ocr.warehouse.sql import POSTGRES, qualified, quote, sql_type

log = logging.getLogger(__name__)


class OutdatedSchema(RuntimeError):
    """The warehouse tables predate a schema change the loader needs; the message says what to run."""


def ensure_tables(wh: WarehouseConnection, *, migrate: bool = False) -> None:
    """Create the schema (PostgreSQL) and every missing table; raise :class:`OutdatedSchema` for tables
    an earlier release created, unless ``migrate`` (then bring them up to date)."""
    with wh.transaction() as cur:
        if wh.dialect == POSTGRES:
            # Concurrent first loads would race on CREATE ... IF NOT EXISTS (catalog unique violation).
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('baidu_ocr.ensure_schema'))")
            if wh.schema:
                cur.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(wh.schema)}")
        for statement in ddl_statements(wh.dialect, wh.schema):
            cur.execute(statement)
        outdated = _tables_without_pages(wh, cur)
        if outdated and migrate:
            _migrate_to_pages(wh, cur, outdated)
        missing = _missing_columns(wh, cur)
        if missing and migrate:
            _add_columns(wh, cur, missing)
    how = (
        f"`python -m baidu_ocr.warehouse --migrate {wh.conn_id}` or "
        f"WarehouseLoader({wh.conn_id!r}).ensure_schema(migrate=True)"
    )
    if outdated and not migrate:
        raise OutdatedSchema(
            f"Warehouse {wh.conn_id!r}: table(s) {', '.join(outdated)} have no page_no column (created "
            f"before multi-page PDF/OFD support). Migrate them once (rows become page 0; nothing is "
            f"re-OCRed): {how}"
        )
    if missing and not migrate:
        columns = ", ".join(f"{table}.{col}" for table, cols in missing.items() for col in cols)
        raise OutdatedSchema(
            f"Warehouse {wh.conn_id!r}: column(s) {columns} are missing (tables created by an earlier "
            f"version). Add them once (stored rows keep their values, the new columns are NULL): {how}"
        )


def _stored_columns(wh: WarehouseConnection, cur: Any, name: str) -> list[str]:
    cur.execute(f"SELECT * FROM {wh.table(name)} WHERE 1 = 0")
    return [str(d[0]) for d in cur.description or ()]


def _missing_columns(wh: WarehouseConnection, cur: Any) -> dict[str, list[str]]:
    missing = {}
    for name, schema in TABLES.items():
        present = {col.lower() for col in _stored_columns(wh, cur, name)}
        if absent := [col for col in schema.columns if col.lower() not in present]:
            missing[name] = absent
    return missing


def _add_columns(wh: WarehouseConnection, cur: Any, missing: dict[str, list[str]]) -> None:
    """``ALTER TABLE ... ADD COLUMN`` for columns declared since the tables were created (nullable)."""
    for name, columns in missing.items():
        for col in columns:
            column_type = sql_type(wh.dialect, TABLES[name].columns[col])
            cur.execute(f"ALTER TABLE {wh.table(name)} ADD COLUMN {quote(col)} {column_type}")
        log.info("Added column(s) %s to %s", ", ".join(columns), name)


def _tables_without_pages(wh: WarehouseConnection, cur: Any) -> list[str]:
    return [
        name
        for name in DOCUMENT_TABLES
        if "page_no" not in {col.lower() for col in _stored_columns(wh, cur, name)}
    ]


def _migrate_to_pages(wh: WarehouseConnection, cur: Any, tables: list[str]) -> None:
    """Rebuild each table with the current DDL (page_no in its key), its rows copied as page 0."""
    statements = dict(zip(TABLES, ddl_statements(wh.dialect, wh.schema), strict=True))
    for name in tables:
        old = f"{name}_before_pages"
        kept = [col for col in _stored_columns(wh, cur, name) if col in TABLES[name].columns]
        cur.execute(f"ALTER TABLE {wh.table(name)} RENAME TO {quote(old)}")
        cur.execute(statements[name])
        columns = ", ".join(quote(c) for c in kept)
        cur.execute(
            f"INSERT INTO {wh.table(name)} ({columns}, {quote('page_no')}) "
            f"SELECT {columns}, 0 FROM {qualified(old, wh.schema)}"
        )
        cur.execute(f"DROP TABLE {qualified(old, wh.schema)}")
        log.info("Migrated %s to pages (rows kept as page 0)", name)
