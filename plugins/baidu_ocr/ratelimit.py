"""QPS limiter: at most ``qps`` calls in any moving one-second window, per account and endpoint.

Baidu counts QPS per API per account and answers error 18 above it, so the limit is keyed the same way.
The ``limits`` library (the engine behind Flask-Limiter and slowapi) provides the moving window for both
backends: in-process memory by default, Redis when the connection names a Redis URL, so every worker
process of a Celery deployment draws from the same budget. Retries go through the limiter too: Baidu
counts them.
"""

from __future__ import annotations

import threading
import time
from fractions import Fraction

from limits import RateLimitItemPerSecond
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

_STORAGES: dict[str, MovingWindowRateLimiter] = {}
_GUARD = threading.Lock()


def _strategy_for(storage_uri: str) -> MovingWindowRateLimiter:
    # One storage per URI per process: in memory that is what makes hooks of one process share a budget.
    with _GUARD:
        if storage_uri not in _STORAGES:
            _STORAGES[storage_uri] = MovingWindowRateLimiter(storage_from_string(storage_uri))
        return _STORAGES[storage_uri]


def rate_item(qps: float) -> RateLimitItemPerSecond:
    """``qps`` as "amount per N seconds" with whole numbers (0.5 -> 1 per 2 s; 2.5 -> 5 per 2 s)."""
    if qps <= 0:
        raise ValueError(f"qps must be positive, got {qps}")
    ratio = Fraction(qps).limit_denominator(10)
    return RateLimitItemPerSecond(ratio.numerator, ratio.denominator, namespace="baidu_ocr")


class QpsLimiter:
    """Blocks each caller until the moving window has room; callers of one key share it fairly."""

    def __init__(self, qps: float, key: str, redis_url: str | None = None) -> None:
        self.qps = qps
        self.key = key
        self._item = rate_item(qps)
        self._strategy = _strategy_for(redis_url or "memory://")

    def acquire(self, endpoint: str, timeout: float | None = None) -> float:
        """Wait for a slot for ``endpoint``; return the seconds waited. ``TimeoutError`` past ``timeout``."""
        started = time.monotonic()
        while True:
            if self._strategy.hit(self._item, self.key, endpoint):
                return time.monotonic() - started
            stats = self._strategy.get_window_stats(self._item, self.key, endpoint)
            delay = max(stats.reset_time - time.time(), 0.001)
            if timeout is not None and time.monotonic() - started + delay > timeout:
                raise TimeoutError(f"no QPS slot for {endpoint} within {timeout}s")
            time.sleep(min(delay, 0.25))
