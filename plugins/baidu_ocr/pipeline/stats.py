"""Counters and progress for OCR batches: what a run summary and a long batch's log need.

Thread-safe, cheap, and pickle-free: the batch operator copies :meth:`CallStats.snapshot` into its XCom.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from logging import Logger
from typing import Any

CALL_COUNTS = ("billable_calls", "failed_calls")


def add_call_counts(stats: dict[str, Any], other: dict[str, Any]) -> None:
    """Add the billable and failed calls of ``other`` (a snapshot, or counts alone) into ``stats``."""
    for key in CALL_COUNTS:
        stats[key] = int(stats.get(key, 0)) + int(other.get(key, 0))
    by_endpoint = stats.setdefault("calls_by_endpoint", {})
    for endpoint, counts in (other.get("calls_by_endpoint") or {}).items():
        mine = by_endpoint.setdefault(endpoint, dict.fromkeys(CALL_COUNTS, 0))
        for key in CALL_COUNTS:
            mine[key] = int(mine.get(key, 0)) + int(counts.get(key, 0))


def call_counts(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The billable and failed calls of a snapshot (also per endpoint): what crosses a deferral."""
    return {key: snapshot.get(key, 0) for key in CALL_COUNTS} | {
        "calls_by_endpoint": snapshot.get("calls_by_endpoint") or {}
    }


def percentile(values: list[float], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, round(q / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


class CallStats:
    """Billable and failed calls (per endpoint too), status checks, retries, token fetches, errors by class
    and per-call latencies of one hook.

    Baidu bills successful recognition calls only: ``billable_calls`` counts the calls answered with a
    result (submitting a table job included), ``failed_calls`` the ones that failed (an error code, an HTTP
    error, a dropped connection), which are not billed. Polling an async job's result
    (``get_request_result``) is counted apart as ``status_checks``: a job is paid for once, when submitted,
    however often it is polled.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counters: Counter[str] = Counter()
        self.errors: Counter[str] = Counter()
        self.by_endpoint: dict[str, Counter[str]] = {}
        self.latencies_s: list[float] = []
        self.started = time.monotonic()

    def count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counters[name] += n

    def count_call(self, endpoint_kind: str, endpoint: str = "", *, ok: bool = True) -> None:
        """One finished HTTP call to ``endpoint``, of this kind (``endpoints.SYNC``, ``ASYNC_SUBMIT``,
        ``ASYNC_RESULT``): billable when it succeeded, failed (not billed) when it did not."""
        if endpoint_kind == "async_result":
            self.count("status_checks")
            return
        name = "billable_calls" if ok else "failed_calls"
        with self._lock:
            self.counters[name] += 1
            self.by_endpoint.setdefault(endpoint, Counter())[name] += 1

    def record_error(self, error_class: str) -> None:
        with self._lock:
            self.errors[error_class] += 1

    def record_latency(self, seconds: float) -> None:
        with self._lock:
            self.latencies_s.append(seconds)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            elapsed = time.monotonic() - self.started
            calls = self.counters["billable_calls"]
            sent = calls + self.counters["failed_calls"]
            p50, p95 = percentile(self.latencies_s, 50), percentile(self.latencies_s, 95)
            return {
                "billable_calls": calls,
                "failed_calls": self.counters["failed_calls"],
                "calls_by_endpoint": {
                    name: {key: counts[key] for key in CALL_COUNTS}
                    for name, counts in self.by_endpoint.items()
                },
                "status_checks": self.counters["status_checks"],
                "retries": self.counters["retries"],
                "token_fetches": self.counters["token_fetches"],
                "token_refreshes": self.counters["token_refreshes"],
                "errors_by_class": dict(self.errors),
                "latency_p50_ms": None if p50 is None else round(p50 * 1000, 1),
                "latency_p95_ms": None if p95 is None else round(p95 * 1000, 1),
                "elapsed_s": round(elapsed, 3),
                "achieved_qps": round(sent / elapsed, 3) if elapsed > 0 else 0.0,
            }


class ProgressLogger:
    """Logs ``n/N, rate, ETA`` at most every ``every_s`` seconds, so long batches show they are alive."""

    def __init__(self, log: Logger, *, total: int | None, label: str, every_s: float = 10.0) -> None:
        self.log, self.total, self.label, self.every_s = log, total, label, every_s
        self.done = self.failed = 0
        self.started = self._last = time.monotonic()

    def advance(self, *, ok: bool) -> None:
        self.done += 1
        self.failed += 0 if ok else 1
        now = time.monotonic()
        if now - self._last >= self.every_s:
            self._last = now
            self.log.info("%s", self.line(now))

    def line(self, now: float | None = None) -> str:
        elapsed = max((now or time.monotonic()) - self.started, 1e-9)
        rate = self.done / elapsed
        if self.total:
            eta = (self.total - self.done) / rate if rate > 0 else float("inf")
            return (
                f"{self.label}: {self.done}/{self.total} images ({self.failed} failed), "
                f"{rate:.2f} img/s, ETA {eta:.0f}s"
            )
        return f"{self.label}: {self.done} images ({self.failed} failed), {rate:.2f} img/s"

    def finish(self) -> None:
        if self.done:
            self.log.info("%s (done)", self.line())
