"""The usage ledger (``ocr_usage``): what each task try paid for, costed against its month, and the sums.

The rows come from ``baidu_ocr.pipeline.usage.usage_rows``; prices and the month's free allowance from
the connection's ``pricing`` (``baidu_ocr.pipeline.usage``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from baidu_ocr.normalize.schema import TABLES
from baidu_ocr.warehouse.connection import WarehouseConnection
from baidu_ocr.warehouse.sql import POSTGRES, python_rows

UsageSums = dict[str, tuple[int, int, float | None]]


def record_usage(
    wh: WarehouseConnection, rows: list[dict[str, Any]], prices: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """Replace these rows' keys in ``ocr_usage`` with them, each costed against the calls of its endpoint
    recorded before in its month; return the rows as written."""
    from baidu_ocr.pipeline.usage import month_of

    schema = TABLES["ocr_usage"]
    ph = wh.placeholder
    key = schema.primary_key
    other = " OR ".join(f"{wh.column(c)} <> {ph}" for c in key)
    written = []
    with wh.transaction() as cur:
        if wh.dialect == POSTGRES:  # two tasks costing the same month take turns
            cur.execute("SELECT pg_advisory_xact_lock(hashtext('baidu_ocr.ocr_usage'))")
        for row in rows:
            first, following = month_of(row["day"])
            cur.execute(
                f"SELECT COALESCE(SUM(billable_calls), 0) FROM {wh.table('ocr_usage')} "
                f"WHERE endpoint = {ph} AND day >= {ph} AND day < {ph} AND ({other})",
                [row["endpoint"], *wh.dates(first, following), *_key_values(wh, row, key)],
            )
            month_before = int(cur.fetchone()[0] or 0)
            price = prices.get(row["endpoint"])
            cost = price.cost(row["billable_calls"], month_before) if price else None
            written.append({**row, "estimated_cost": cost})
        frame = schema.conform(written)
        match = " AND ".join(f"{wh.column(c)} = {ph}" for c in key)
        cur.executemany(
            f"DELETE FROM {wh.table('ocr_usage')} WHERE {match}",
            python_rows(frame[list(key)], wh.dialect),
        )
        columns = ", ".join(wh.column(c) for c in schema.columns)
        values = ", ".join([ph] * len(schema.columns))
        cur.executemany(
            f"INSERT INTO {wh.table('ocr_usage')} ({columns}) VALUES ({values})",
            python_rows(frame, wh.dialect),
        )
    return written


def _key_values(wh: WarehouseConnection, row: Mapping[str, Any], key: tuple[str, ...]) -> list[Any]:
    return [wh.dates(row[c])[0] if c == "day" else row[c] for c in key]


def usage_sums(
    wh: WarehouseConnection, *, dag_id: str | None = None, run_id: str | None = None, month_of_day: Any = None
) -> UsageSums:
    """``ocr_usage`` summed per endpoint, filtered by run and/or by month."""
    from baidu_ocr.pipeline.usage import month_of

    ph = wh.placeholder
    where, params = [], []
    if run_id is not None:
        where += [f"dag_id = {ph}", f"run_id = {ph}"]
        params += [dag_id, run_id]
    if month_of_day is not None:
        where += [f"day >= {ph}", f"day < {ph}"]
        params += wh.dates(*month_of(month_of_day))
    sql = (
        "SELECT endpoint, SUM(billable_calls), SUM(failed_calls), SUM(estimated_cost) "
        f"FROM {wh.table('ocr_usage')} {'WHERE ' + ' AND '.join(where) if where else ''} "
        "GROUP BY endpoint"
    )
    return {
        str(endpoint): (int(calls or 0), int(failed or 0), None if cost is None else float(cost))
        for endpoint, calls, failed, cost in wh.query(sql, params)
    }
