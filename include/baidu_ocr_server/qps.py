"""What the server's QPS meter saw: per-second call counts (``GET /_admin/stats``) against a limit.

Shared by the multi-process limiter test, the cluster test and ``make cluster-demo``, so they judge a run
the same way.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class QpsSeen:
    endpoint: str
    limit: float
    calls: int  # every call that arrived, refused ones included
    rate_limited: int  # error 18 sent (for every endpoint: the server keeps errors per code only)
    max_in_one_second: int
    first_second: int | None
    last_second: int | None
    sustained_qps: float  # calls per second over the whole seconds between the first and the last

    @property
    def over_limit_by(self) -> float:
        return self.max_in_one_second - self.limit

    @property
    def throughput_ratio(self) -> float:
        return self.sustained_qps / self.limit if self.limit else 0.0

    @property
    def rate_limited_ratio(self) -> float:
        return self.rate_limited / self.calls if self.calls else 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            **asdict(self),
            "throughput_ratio": round(self.throughput_ratio, 4),
            "rate_limited_ratio": round(self.rate_limited_ratio, 5),
        }


def qps_seen(stats: dict[str, Any], endpoint: str, limit: float) -> QpsSeen:
    """Judge ``endpoint``'s per-second histogram. The first and last seconds are partial, so the sustained
    rate is taken over the seconds strictly between them (gaps in the middle count, as they should)."""
    seconds = {int(s): n for s, n in (stats.get("calls_per_second", {}).get(endpoint) or {}).items()}
    calls = sum(seconds.values())
    first, last = (min(seconds), max(seconds)) if seconds else (None, None)
    sustained = 0.0
    if first is not None and last - first >= 2:
        interior = sum(n for s, n in seconds.items() if first < s < last)
        sustained = interior / (last - first - 1)
    return QpsSeen(
        endpoint=endpoint,
        limit=limit,
        calls=calls,
        rate_limited=int(stats.get("errors", {}).get("18", 0)),
        max_in_one_second=max(seconds.values(), default=0),
        first_second=first,
        last_second=last,
        sustained_qps=round(sustained, 3),
    )
