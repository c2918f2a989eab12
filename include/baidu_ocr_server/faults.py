"""Fault injection settings and the seeded dice that decide which call gets which fault.

One uniform draw per admitted OCR call, compared against the cumulative rates in a fixed order, so a run
with the same ``--seed`` and the same call order injects exactly the same faults, and a test can bound the
count of each fault with a binomial interval.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field, fields, replace
from typing import Any

DEFAULT_TOKEN_TTL = 2_592_000  # 30 days, as Baidu issues
DROP = "drop"
# Error-rate keys that are HTTP statuses rather than Baidu codes (Baidu's codes never fall in these ranges).
HTTP_STATUS_KEYS = frozenset({"429"} | {str(code) for code in range(500, 600)})


def parse_error_rate(spec: str) -> tuple[str, float]:
    """``"282000=0.02"`` -> ``("282000", 0.02)``; keys are a Baidu code, an HTTP 5xx/429 status or ``drop``."""
    key, sep, value = spec.partition("=")
    key = key.strip().lower()
    if not sep or not key:
        raise ValueError(f"error rate must look like CODE=P, got {spec!r}")
    if key != DROP and not key.isdigit():
        raise ValueError(f"error rate key must be a number or 'drop', got {key!r}")
    probability = float(value)
    if not 0.0 <= probability <= 1.0:
        raise ValueError(f"error rate probability must be within [0, 1], got {probability}")
    return key, probability


def _normalize_rates(rates: Any) -> dict[str, float]:
    """Accept ``{"282000": 0.1}``, ``{282000: 0.1}`` or ``["282000=0.1", ...]``."""
    if not rates:
        return {}
    if isinstance(rates, dict):
        items = [parse_error_rate(f"{key}={value}") for key, value in rates.items()]
    else:
        items = [parse_error_rate(spec) for spec in rates]
    normalized = dict(items)
    if sum(normalized.values()) > 1.0 + 1e-9:
        raise ValueError("error rates add up to more than 1")
    return normalized


@dataclass(frozen=True)
class FaultConfig:
    """Everything an operator can turn on at start-up (CLI flags) or later (``POST /_admin/config``)."""

    latency_ms: float = 0.0
    qps: float | None = None  # per endpoint, sliding one-second window
    token_ttl: float = DEFAULT_TOKEN_TTL
    daily_quota: int | None = None
    error_rates: dict[str, float] = field(default_factory=dict)
    seed: int | None = None
    table_job_seconds: float = 0.5
    parser_task_seconds: float = 0.5  # shortest time a document parser task takes (pending, processing)

    def __post_init__(self) -> None:
        object.__setattr__(self, "error_rates", _normalize_rates(self.error_rates))
        if min(self.latency_ms, self.table_job_seconds, self.parser_task_seconds) < 0 or self.token_ttl <= 0:
            raise ValueError(
                "latency_ms, table_job_seconds and parser_task_seconds must be >= 0 and token_ttl > 0"
            )
        if self.qps is not None and self.qps <= 0:
            raise ValueError("qps must be > 0 (or None for no limit)")
        if self.daily_quota is not None and self.daily_quota < 0:
            raise ValueError("daily_quota must be >= 0 (or None for no limit)")

    def updated(self, **changes: Any) -> FaultConfig:
        """A copy with ``changes`` applied; unknown names fail loudly (a typo must not pass silently)."""
        known = {f.name for f in fields(self)}
        unknown = set(changes) - known
        if unknown:
            raise ValueError(f"unknown fault option(s): {', '.join(sorted(unknown))}")
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


class FaultDice:
    """Seeded, thread-safe: ``roll()`` returns the error-rate key hit by this call, or ``None``."""

    def __init__(self, rates: dict[str, float], seed: int | None) -> None:
        self._rates = list(rates.items())
        self._random = random.Random(seed)
        self._lock = threading.Lock()

    def roll(self) -> str | None:
        if not self._rates:
            return None
        with self._lock:
            draw = self._random.random()
        threshold = 0.0
        for key, probability in self._rates:
            threshold += probability
            if draw < threshold:
                return key
        return None
