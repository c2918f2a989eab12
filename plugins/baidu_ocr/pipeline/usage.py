"""What OCR calls cost: prices and free allowances from the connection, usage rows, the run's cost lines.

Baidu bills successful recognition calls per endpoint; each endpoint has a monthly free allowance and a
price per 1000 calls beyond it. Both differ per account and change over time, so they live in the
``baidu_ocr`` connection's extra, never in code::

    {"pricing": {"general_basic": {"free_per_month": 1000, "price_per_1000": 3.0}}}

Every OCR task writes one ``ocr_usage`` row per endpoint and day (``warehouse.WarehouseLoader``): the
calls it paid for, the pages it got, the calls that failed (not billed) and the estimated cost of the
calls beyond the month's free allowance. Days and months are Beijing time, as Baidu counts them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from baidu_ocr.exceptions import ConfigError

BEIJING = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class EndpointPrice:
    """One endpoint's monthly free calls and its price per 1000 billable calls beyond them."""

    free_per_month: int = 0
    price_per_1000: float | None = None

    def cost(self, calls: int, month_before: int) -> float | None:
        """Cost of ``calls`` made after ``month_before`` calls this month (the free ones first)."""
        if self.price_per_1000 is None:
            return None
        free_left = max(0, self.free_per_month - month_before)
        return round(max(0, calls - free_left) * self.price_per_1000 / 1000, 6)


def pricing_from_extra(value: Any, *, conn_id: str | None = None) -> dict[str, EndpointPrice]:
    """The ``pricing`` object of a connection's extra: endpoint name -> :class:`EndpointPrice`."""
    from baidu_ocr.client.endpoints import canonical_name

    if not value:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError("extra 'pricing' must map endpoint names to prices", conn_id=conn_id)
    prices = {}
    for endpoint, spec in value.items():
        if not isinstance(spec, Mapping) or set(spec) - {"free_per_month", "price_per_1000"}:
            raise ConfigError(
                f"extra 'pricing' of {endpoint!r} takes free_per_month and price_per_1000 only",
                conn_id=conn_id,
            )
        try:
            free = int(spec.get("free_per_month") or 0)
            price = spec.get("price_per_1000")
            price = None if price is None else float(price)
        except (TypeError, ValueError):
            raise ConfigError(f"extra 'pricing' of {endpoint!r}: numbers expected", conn_id=conn_id) from None
        if free < 0 or (price is not None and price < 0):
            raise ConfigError(f"extra 'pricing' of {endpoint!r}: negative figure", conn_id=conn_id)
        prices[canonical_name(endpoint)] = EndpointPrice(free, price)
    return prices


def beijing_day(when: datetime | None = None) -> date:
    """The calendar day Baidu counts a call on (its quotas roll over at Beijing midnight)."""
    return (when or datetime.now(UTC)).astimezone(BEIJING).date()


def month_of(day: date) -> tuple[date, date]:
    """First day of ``day``'s month, and first day of the next one."""
    first = day.replace(day=1)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


def usage_rows(
    *,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int,
    try_number: int,
    stats: Mapping[str, Any],
    pages_by_endpoint: Mapping[str, int],
    day: date,
) -> list[dict[str, Any]]:
    """One ``ocr_usage`` row per endpoint this try called (cost filled in by the warehouse, which knows
    the month's earlier calls)."""
    rows = []
    by_endpoint = stats.get("calls_by_endpoint") or {}
    for endpoint in sorted(set(by_endpoint) | set(pages_by_endpoint)):
        counts = by_endpoint.get(endpoint) or {}
        rows.append(
            {
                "dag_id": dag_id,
                "run_id": run_id,
                "task_id": task_id,
                "map_index": map_index,
                "try_number": try_number,
                "endpoint": endpoint,
                "day": day,
                "billable_calls": int(counts.get("billable_calls", 0)),
                "pages": int(pages_by_endpoint.get(endpoint, 0)),
                "failed_calls": int(counts.get("failed_calls", 0)),
                "estimated_cost": None,
                "recorded_at": datetime.now(UTC),
            }
        )
    return rows


def cost_lines(
    run_calls: Mapping[str, int],
    month_calls: Mapping[str, int],
    run_cost: Mapping[str, float | None],
    month_cost: Mapping[str, float | None],
    prices: Mapping[str, EndpointPrice],
) -> dict[str, dict[str, Any]]:
    """Per endpoint this run called (``run_calls``' keys, failed calls only included): this run's billable
    calls, the month's so far, the share of the free allowance used and the estimated cost (this run's and
    the month's; ``None`` without a configured price). The month's other endpoints are not this run's."""
    lines = {}
    for endpoint in sorted(run_calls):
        price = prices.get(endpoint)
        month = int(month_calls.get(endpoint, 0))
        free = price.free_per_month if price else 0
        lines[endpoint] = {
            "run_billable_calls": int(run_calls.get(endpoint, 0)),
            "month_billable_calls": month,
            "free_per_month": free if price else None,
            "free_allowance_used": round(month / free, 4) if free else None,
            "run_estimated_cost": run_cost.get(endpoint),
            "month_estimated_cost": month_cost.get(endpoint),
        }
    return lines


def sum_by(rows: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Sum ``(endpoint, value)`` pairs per endpoint; all-NULL values stay ``None`` (no price configured)."""
    totals: dict[str, Any] = {}
    for endpoint, value in rows:
        if value is None:
            totals.setdefault(endpoint, None)
            continue
        totals[endpoint] = (totals.get(endpoint) or 0) + value
    return totals
