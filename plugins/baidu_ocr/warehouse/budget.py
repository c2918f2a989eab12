"""The run budget's ledger in the warehouse (``ocr_run_budget``): one row per DAG run, the calls reserved.

A reservation is one conditional ``UPDATE ... SET reserved_calls = reserved_calls + n WHERE ... AND
reserved_calls + n <= limit``: the database serialises concurrent updates of the row (PostgreSQL's row lock,
SQLite's write lock, any other database's), so mapped tasks on any number of workers, and their retries,
never reserve past the cap together. The row starts from the run's calls already in ``ocr_usage`` (runs
that began under a release without this ledger).
"""

from __future__ import annotations

import threading
from contextlib import closing
from datetime import UTC, datetime
from typing import Any

from baidu_ocr.warehouse.connection import WarehouseConnection
from baidu_ocr.warehouse.sql import GENERIC, SQLITE


class WarehouseBudgetLedger:
    """One run's row, on one DB-API connection of its own, shared by the threads of a task try."""

    def __init__(self, wh: WarehouseConnection, dag_id: str, run_id: str) -> None:
        self.wh, self.dag_id, self.run_id = wh, dag_id, run_id
        self._conn: Any = None
        self._lock = threading.Lock()
        self._row_exists = False

    def reserve(self, n: int, limit: int) -> bool:
        """Reserve ``n`` calls if the run stays within ``limit``; whether it did."""
        ph, table = self.wh.placeholder, self.wh.table("ocr_run_budget")

        def update(cur: Any) -> bool:
            cur.execute(
                f"UPDATE {table} SET reserved_calls = reserved_calls + {ph}, updated_at = {ph} "
                f"WHERE dag_id = {ph} AND run_id = {ph} AND reserved_calls + {ph} <= {ph}",
                [n, *self._now(), self.dag_id, self.run_id, n, limit],
            )
            return cur.rowcount == 1

        return self._transaction(update)

    def release(self, n: int) -> None:
        """Give back ``n`` reserved calls that were not billed."""
        ph, table = self.wh.placeholder, self.wh.table("ocr_run_budget")
        self._transaction(
            lambda cur: cur.execute(
                f"UPDATE {table} SET reserved_calls = reserved_calls - {ph}, updated_at = {ph} "
                f"WHERE dag_id = {ph} AND run_id = {ph}",
                [n, *self._now(), self.dag_id, self.run_id],
            )
        )

    def spent(self) -> int:
        """Calls the run has reserved so far (billed, or in flight)."""
        ph, table = self.wh.placeholder, self.wh.table("ocr_run_budget")

        def read(cur: Any) -> int:
            cur.execute(
                f"SELECT reserved_calls FROM {table} WHERE dag_id = {ph} AND run_id = {ph}",
                [self.dag_id, self.run_id],
            )
            row = cur.fetchone()
            return int(row[0]) if row else 0

        return self._transaction(read)

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    # ---- one short transaction at a time on the ledger's own connection --------------------------------

    def _transaction(self, work: Any) -> Any:
        with self._lock:
            try:
                return self._attempt(work)
            except Exception:
                if self._row_exists or self.wh.dialect != GENERIC:
                    raise
                # Another task inserted the run's row between our NOT EXISTS and our INSERT: it is there now.
                self._row_exists = True
                return self._attempt(work)

    def _attempt(self, work: Any) -> Any:
        if self.wh.dialect == SQLITE:
            # A SQLite connection belongs to the thread that opened it, and the hook's worker threads all
            # reserve: one connection per transaction (a file open, cheap).
            with closing(self.wh.connect()) as conn:
                return self._run(conn, work)
        if self._conn is None:
            self._conn = self.wh.connect()
        return self._run(self._conn, work)

    def _run(self, conn: Any, work: Any) -> Any:
        with self.wh.transaction_on(conn) as cur:
            if not self._row_exists:
                self._insert_row(cur)
            result = work(cur)
        self._row_exists = True
        return result

    def _insert_row(self, cur: Any) -> None:
        """The run's row, from the calls ``ocr_usage`` already holds for it, unless a task made it first."""
        ph, budget, usage = self.wh.placeholder, self.wh.table("ocr_run_budget"), self.wh.table("ocr_usage")
        select = (
            f"INSERT INTO {budget} (dag_id, run_id, reserved_calls, updated_at) "
            f"SELECT {ph}, {ph}, COALESCE(SUM(billable_calls), 0), {ph} FROM {usage} "
            f"WHERE dag_id = {ph} AND run_id = {ph}"
        )
        params = [self.dag_id, self.run_id, *self._now(), self.dag_id, self.run_id]
        if self.wh.dialect == GENERIC:  # no ON CONFLICT: insert only where no task made the row yet
            cur.execute(
                f"{select} AND NOT EXISTS (SELECT 1 FROM {budget} WHERE dag_id = {ph} AND run_id = {ph})",
                [*params, self.dag_id, self.run_id],
            )
        else:
            cur.execute(f"{select} ON CONFLICT (dag_id, run_id) DO NOTHING", params)

    def _now(self) -> list[Any]:
        return self.wh.dates(datetime.now(UTC))
