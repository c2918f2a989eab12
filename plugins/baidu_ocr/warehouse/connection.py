"""The warehouse behind one Airflow connection: its hook, its dialect, one transaction, one read.

Every warehouse job (schema, loads, dedupe lookups, usage ledger, reviews) talks to the database through
a :class:`WarehouseConnection`, so the connection lookup, the dialect and the transaction rules are
decided once per loader.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing, contextmanager
from functools import cached_property
from typing import Any

from baidu_ocr.warehouse.sql import POSTGRES, SQLITE, date_parameters, dialect_of, qualified, quote


class WarehouseConnection:
    """A common-sql ``DbApiHook`` connection and the SQL dialect it speaks.

    :param conn_id: any connection whose hook is a common-sql ``DbApiHook`` (postgres, sqlite, ...).
    :param schema: PostgreSQL schema (namespace) holding the tables, created if missing; default: the
        connection's ``search_path``. Not supported on SQLite.
    :param hook: an already built hook (tests, or callers that configured one); skips the connection lookup.
    """

    def __init__(self, conn_id: str = "warehouse_default", *, schema: str | None = None, hook: Any = None):
        self.conn_id = conn_id
        self.schema = schema
        self._hook = hook

    @cached_property
    def hook(self) -> Any:
        if self._hook is not None:
            return self._hook
        from airflow.sdk import BaseHook

        return BaseHook.get_connection(self.conn_id).get_hook()

    @cached_property
    def dialect(self) -> str:
        """``postgresql``, ``sqlite`` or ``generic`` (every other DB-API database)."""
        dialect = dialect_of(self.hook)
        if dialect == SQLITE and self.schema:
            raise ValueError(f"connection {self.conn_id!r}: SQLite has no schemas; leave schema unset")
        return dialect

    def table(self, name: str) -> str:
        """The quoted, schema-qualified name of one of the warehouse's tables."""
        return qualified(name, self.schema)

    def column(self, identifier: str) -> str:
        """A quoted column name in this warehouse's dialect (e.g. backticks on MySQL)."""
        if self.dialect in (POSTGRES, SQLITE):
            return quote(identifier)
        return self.hook.escape_word_format.format(identifier)

    @property
    def placeholder(self) -> str:
        """The DB-API parameter marker (``%s``, ``?``)."""
        return "?" if self.dialect == SQLITE else self.hook.placeholder

    def dates(self, *days: Any) -> list[Any]:
        """Dates and timestamps as parameters of this dialect."""
        return date_parameters(self.dialect, *days)

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        """A cursor in one transaction on a connection of its own: committed on exit, rolled back on error."""
        with closing(self.connect()) as conn, self.transaction_on(conn) as cur:
            yield cur

    def connect(self) -> Any:
        """A new DB-API connection for :meth:`transaction_on` (the caller closes it): on SQLite, BEGIN is
        ours and a locked database is waited for; elsewhere autocommit is off."""
        conn = self.hook.get_conn()
        try:
            if self.dialect == SQLITE:
                conn.isolation_level = None  # we issue BEGIN ourselves
                conn.execute("PRAGMA busy_timeout = 30000")
            elif getattr(self.hook, "supports_autocommit", False):
                self.hook.set_autocommit(conn, False)
        except BaseException:
            conn.close()
            raise
        return conn

    @contextmanager
    def transaction_on(self, conn: Any) -> Iterator[Any]:
        """A cursor in one transaction on ``conn`` (from :meth:`connect`, kept open by the caller, e.g. the
        budget ledger's): committed on exit, rolled back on error."""
        if self.dialect == SQLITE:
            # IMMEDIATE: take the write lock up front, so concurrent writers queue instead of failing.
            conn.execute("BEGIN IMMEDIATE")
        cur = conn.cursor()
        try:
            yield cur
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        finally:
            cur.close()

    def query(self, sql: str, parameters: list[Any]) -> list[tuple]:
        """Rows of one SELECT, through a plain cursor: ``DbApiHook.get_records`` logs the statement and every
        parameter (here: up to 500 content hashes per query) at INFO."""
        with closing(self.hook.get_conn()) as conn:
            cur = conn.cursor()
            try:
                cur.execute(sql, parameters)
                return cur.fetchall()
            finally:
                cur.close()
