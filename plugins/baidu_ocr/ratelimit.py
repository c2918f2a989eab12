"""QPS limiter: at most ``qps`` calls in any moving window, per account and endpoint.

Baidu counts QPS per API per account and answers error 18 above it, so the limit is keyed the same way.
Retries go through the limiter too: Baidu counts them.

Two backends behind one interface:

- in-process (default): a moving window written here, because it needs a window of 1 s *plus a margin*.
  A call released at the exact moment the window frees reaches Baidu a hair less than one second after
  the call it replaces often enough (network jitter) to be refused with error 18; 50 ms of margin keeps
  the sustained rate at ~95 % of the limit with no refusals. ``limits`` only has whole-second windows.
- Redis (when the connection names a Redis URL): the ``limits`` library's moving window (the engine behind
  Flask-Limiter and slowapi), so every worker process of a Celery deployment draws from one budget. Its
  window is a whole second, so calls from different processes can still meet Baidu's boundary; the rare
  error 18 that follows is retried like any other.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from fractions import Fraction

from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

DEFAULT_MARGIN_S = 0.05


def rate_item(qps: float) -> RateLimitItemPerSecond:
    """``qps`` as "amount per N seconds" with whole numbers (0.5 -> 1 per 2 s; 2.5 -> 5 per 2 s)."""
    if qps <= 0:
        raise ValueError(f"qps must be positive, got {qps}")
    ratio = Fraction(qps).limit_denominator(10)
    return RateLimitItemPerSecond(ratio.numerator, ratio.denominator, namespace="baidu_ocr")


class _LocalWindows:
    """Moving windows in this process: one deque of call times per key, guarded by one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: dict[str, deque[float]] = {}

    def try_acquire(self, key: str, amount: int, window_s: float) -> float:
        """Take a slot and return 0, or return the seconds until one frees."""
        now = time.monotonic()
        with self._lock:
            calls = self._calls.setdefault(key, deque())
            while calls and calls[0] <= now - window_s:
                calls.popleft()
            if len(calls) < amount:
                calls.append(now)
                return 0.0
            return calls[0] + window_s - now


_LOCAL = _LocalWindows()
_REDIS: dict[str, MovingWindowRateLimiter] = {}
_REDIS_GUARD = threading.Lock()


def _redis_strategy(redis_url: str) -> MovingWindowRateLimiter:
    with _REDIS_GUARD:
        if redis_url not in _REDIS:
            _REDIS[redis_url] = MovingWindowRateLimiter(storage_from_string(redis_url))
        return _REDIS[redis_url]


def reset_local_windows() -> None:
    """Forget this process's call history (tests start each case with an empty budget)."""
    global _LOCAL
    _LOCAL = _LocalWindows()


class QpsLimiter:
    """Blocks each caller until the window has room; every hook of a process shares the same windows."""

    def __init__(
        self, qps: float, key: str, redis_url: str | None = None, margin_s: float = DEFAULT_MARGIN_S
    ) -> None:
        self.qps = qps
        self.key = key
        self.redis_url = redis_url
        self._item = rate_item(qps)
        self._window_s = self._item.multiples + margin_s

    def _try(self, endpoint: str) -> float:
        if self.redis_url is None:
            return _LOCAL.try_acquire(f"{self.key}:{endpoint}", self._item.amount, self._window_s)
        strategy = _redis_strategy(self.redis_url)
        if strategy.hit(self._item, self.key, endpoint):
            return 0.0
        reset_time = strategy.get_window_stats(self._item, self.key, endpoint).reset_time
        return max(reset_time - time.time(), 0.001)

    def acquire(self, endpoint: str, timeout: float | None = None) -> float:
        """Wait for a slot for ``endpoint``; return the seconds waited. ``TimeoutError`` past ``timeout``."""
        started = time.monotonic()
        while (delay := self._try(endpoint)) > 0:
            if timeout is not None and time.monotonic() - started + delay > timeout:
                raise TimeoutError(f"no QPS slot for {endpoint} within {timeout}s")
            time.sleep(delay)
        return time.monotonic() - started
