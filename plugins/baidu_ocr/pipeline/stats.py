"""Counters and progress for OCR batches: what a run summary and a long batch's log need.

Thread-safe, cheap, and pickle-free: the batch operator copies :meth:`CallStats.snapshot` into its XCom.

Latencies are kept per endpoint as a histogram of logarithmic buckets (DDSketch's mapping): every value in
a bucket lies within :data:`LATENCY_ACCURACY` of the bucket's value, so histograms add up across batches,
tries and a deferral, and the run's p50/p95 come out within 1 % whatever the number of calls, from a few
dozen numbers per endpoint in XCom (a percentile of batch percentiles would be no percentile at all).
"""

from __future__ import annotations

import math
import threading
import time
from collections import Counter
from collections.abc import Mapping
from logging import Logger
from typing import Any

CALL_COUNTS = ("billable_calls", "failed_calls")
LATENCY_ACCURACY = 0.01  # relative error of a latency percentile
_GAMMA = (1 + LATENCY_ACCURACY) / (1 - LATENCY_ACCURACY)
_LOG_GAMMA = math.log(_GAMMA)
_SMALLEST_MS = 0.01  # shorter calls count as this (a local server answers in well over 0.01 ms)


def latency_bucket(ms: float) -> int:
    """The histogram bucket of a latency: bucket ``i`` holds (gamma^(i-1), gamma^i] ms."""
    return math.ceil(math.log(max(ms, _SMALLEST_MS)) / _LOG_GAMMA)


def bucket_ms(bucket: int) -> float:
    """The value a bucket stands for: within LATENCY_ACCURACY of everything in it."""
    return 2 * _GAMMA**bucket / (_GAMMA + 1)


def add_latencies(into: dict[str, dict[str, int]], other: Mapping[str, Mapping[str, int]]) -> None:
    """Add per-endpoint latency histograms (``{endpoint: {bucket: calls}}``, JSON keys) into ``into``."""
    for endpoint, buckets in other.items():
        mine = into.setdefault(endpoint, {})
        for bucket, n in buckets.items():
            mine[str(bucket)] = mine.get(str(bucket), 0) + int(n)


def latency_percentile(buckets: Mapping[str, int], q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of a histogram, in ms (1 decimal); None when empty."""
    ordered = sorted((int(b), int(n)) for b, n in buckets.items() if int(n) > 0)
    total = sum(n for _, n in ordered)
    if not total:
        return None
    rank, seen = max(1, round(q / 100 * total + 0.5 - 1e-9)), 0
    for bucket, n in ordered:
        seen += n
        if seen >= rank:
            return round(bucket_ms(bucket), 1)
    return None  # unreachable: rank <= total


def latency_figures(stats: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Per endpoint called: the calls timed and their p50/p95 in ms, from a snapshot (or merged snapshots)."""
    return {
        endpoint: {
            "calls": sum(int(n) for n in buckets.values()),
            "p50": latency_percentile(buckets, 50),
            "p95": latency_percentile(buckets, 95),
        }
        for endpoint, buckets in sorted((stats.get("latency_ms_by_endpoint") or {}).items())
        if buckets
    }


def add_call_counts(stats: dict[str, Any], other: dict[str, Any]) -> None:
    """Add the billable and failed calls (per endpoint too) and the latencies of ``other`` (a snapshot, or
    :func:`call_counts`) into ``stats``."""
    for key in CALL_COUNTS:
        stats[key] = int(stats.get(key, 0)) + int(other.get(key, 0))
    by_endpoint = stats.setdefault("calls_by_endpoint", {})
    for endpoint, counts in (other.get("calls_by_endpoint") or {}).items():
        mine = by_endpoint.setdefault(endpoint, dict.fromkeys(CALL_COUNTS, 0))
        for key in CALL_COUNTS:
            mine[key] = int(mine.get(key, 0)) + int(counts.get(key, 0))
    add_latencies(stats.setdefault("latency_ms_by_endpoint", {}), other.get("latency_ms_by_endpoint") or {})


def call_counts(snapshot: dict[str, Any]) -> dict[str, Any]:
    """The billable and failed calls of a snapshot (also per endpoint) and their latencies: what crosses a
    deferral."""
    return {key: snapshot.get(key, 0) for key in CALL_COUNTS} | {
        "calls_by_endpoint": snapshot.get("calls_by_endpoint") or {},
        "latency_ms_by_endpoint": snapshot.get("latency_ms_by_endpoint") or {},
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
    and per-call latencies (per endpoint too) of one hook.

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
        self.latency_buckets: dict[str, Counter[int]] = {}
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

    def record_latency(self, seconds: float, endpoint: str = "") -> None:
        """One HTTP call's duration; with ``endpoint``, counted in that endpoint's latency histogram."""
        with self._lock:
            self.latencies_s.append(seconds)
            if endpoint:
                self.latency_buckets.setdefault(endpoint, Counter())[latency_bucket(seconds * 1000)] += 1

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
                "latency_ms_by_endpoint": {
                    name: {str(bucket): n for bucket, n in sorted(buckets.items())}
                    for name, buckets in self.latency_buckets.items()
                },
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
