"""QPS limiter: at most ``qps`` calls in any moving window, per account and endpoint.

Baidu counts QPS per API per account and answers error 18 above it, so the limit is keyed the same way.
Retries go through the limiter too: Baidu counts them.

Calls are *paced*: a caller reserves the next free start time, ``(1 s + margin) / qps`` after the previous
one, and sleeps until it (virtual scheduling, i.e. GCRA with no burst). So ``qps`` calls never leave at the
same instant, and any ``qps + 1`` consecutive starts span at least a second plus the margin. One reservation
per call, in arrival order: nobody polls, so a hundred waiting threads do not wake together when a slot
frees. The 50 ms margin exists because a call reaches Baidu a little later than it starts (network, a busy
CPU): without it the call a second after another one is refused with error 18 often enough; with it the
sustained rate is ~95 % of the limit.

- in-process (default): the next free start per key, under one lock.
- Redis (when the connection names a Redis URL): the same reservation as one atomic Lua script on Redis'
  own clock (``TIME``), so every worker process of a Celery deployment draws from one budget and no
  worker's clock matters. (The ``limits`` library's Redis moving window was used before: its window is a
  whole second with no room for a margin, and its callers poll and let bursts of ``qps`` calls leave
  together, so with several worker processes at full load calls met Baidu's one-second boundary.)
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass
from fractions import Fraction

DEFAULT_MARGIN_S = 0.05
MAX_LATE_SLOTS = 3
_NO_LIMIT = -1


@dataclass(frozen=True)
class Rate:
    """``amount`` calls per ``multiples`` seconds, whole numbers."""

    amount: int
    multiples: int


def rate_item(qps: float) -> Rate:
    """``qps`` as "amount per N seconds" with whole numbers (0.5 -> 1 per 2 s; 2.5 -> 5 per 2 s)."""
    if qps <= 0:
        raise ValueError(f"qps must be positive, got {qps}")
    ratio = Fraction(qps).limit_denominator(10)
    return Rate(ratio.numerator, ratio.denominator)


class _LocalSchedule:
    """The next free start time per key in this process, under one lock."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._next: dict[str, float] = {}

    def reserve(self, key: str, spacing_s: float, max_wait: float | None) -> float | None:
        """Reserve the earliest free start; return the seconds until it, or ``None`` past ``max_wait``."""
        now = time.monotonic()
        with self._lock:
            start = max(now, self._next.get(key, now))
            wait = start - now
            if max_wait is not None and wait > max_wait:
                return None
            self._next[key] = start + spacing_s
            return wait


# KEYS[1]: the next free start (µs on Redis' clock); ARGV: spacing (µs), max wait (µs, -1: none).
# Returns the wait in µs, or -1 (nothing reserved). Whole microseconds stored as a decimal string: exact
# (Lua numbers are doubles, and 2^53 µs is centuries away).
_RESERVE_LUA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local spacing = tonumber(ARGV[1])
local max_wait = tonumber(ARGV[2])
local start = now
local free = tonumber(redis.call('GET', KEYS[1]) or '0')
if free > now then start = free end
local wait = start - now
if max_wait >= 0 and wait > max_wait then return -1 end
redis.call('SET', KEYS[1], string.format('%.0f', start + spacing), 'PX', math.ceil((wait + spacing) / 1000) + 1000)
return wait
"""


class _RedisSchedule:
    """The next free start in Redis, shared by every process that uses the same URL and key."""

    def __init__(self, redis_url: str) -> None:
        import redis

        self._redis = redis.Redis.from_url(redis_url)
        self._script = self._redis.register_script(_RESERVE_LUA)

    def reserve(self, key: str, spacing_s: float, max_wait: float | None) -> float | None:
        limit = _NO_LIMIT if max_wait is None else int(max_wait * 1_000_000)
        wait_us = int(self._script(keys=[key], args=[int(spacing_s * 1_000_000), limit]))
        return None if wait_us < 0 else wait_us / 1_000_000


_LOCAL = _LocalSchedule()
_REDIS: dict[str, _RedisSchedule] = {}
_REDIS_GUARD = threading.Lock()


def _redis_schedule(redis_url: str) -> _RedisSchedule:
    with _REDIS_GUARD:
        if redis_url not in _REDIS:
            _REDIS[redis_url] = _RedisSchedule(redis_url)
        return _REDIS[redis_url]


def reset_local_windows() -> None:
    """Forget this process's call history (tests start each case with an empty budget)."""
    global _LOCAL
    _LOCAL = _LocalSchedule()


class QpsLimiter:
    """Makes each caller wait for its slot; every hook of a process (or, with Redis, of every process)
    shares the same log."""

    def __init__(
        self, qps: float, key: str, redis_url: str | None = None, margin_s: float = DEFAULT_MARGIN_S
    ) -> None:
        self.qps = qps
        self.key = key
        self.redis_url = redis_url
        item = rate_item(qps)
        # ``amount`` starts per ``multiples`` seconds plus the margin, evenly spaced.
        self._spacing_s = (item.multiples + margin_s) / item.amount
        self._late_s = margin_s / 2

    def reserve(self, endpoint: str, max_wait: float | None = None) -> float | None:
        """Reserve a slot for ``endpoint``: the seconds to wait before calling, or ``None`` (nothing reserved)
        when that would be longer than ``max_wait``."""
        schedule = _LOCAL if self.redis_url is None else _redis_schedule(self.redis_url)
        return schedule.reserve(f"{self.key}:{endpoint}", self._spacing_s, max_wait)

    def acquire(self, endpoint: str, timeout: float | None = None) -> float:
        """Wait for a slot for ``endpoint``; return the seconds waited. ``TimeoutError`` past ``timeout``.

        A caller that wakes up more than half the margin after its slot (a busy CPU, a stalled process)
        takes a new slot instead of leaving late, next to the callers due after it (at most
        ``MAX_LATE_SLOTS`` times: a loop that is always late still makes progress).
        """
        started, late_slots = time.monotonic(), 0
        while True:
            budget = None if timeout is None else timeout - (time.monotonic() - started)
            wait = self.reserve(endpoint, budget)
            if wait is None:
                raise TimeoutError(f"no QPS slot for {endpoint} within {timeout}s")
            due = time.monotonic() + wait
            if wait > 0:
                time.sleep(wait)
            late_slots += 1
            if time.monotonic() - due <= self._late_s or late_slots > MAX_LATE_SLOTS:
                return time.monotonic() - started

    async def aacquire(self, endpoint: str, timeout: float | None = None) -> float:
        """:meth:`acquire` for event loops: the reservation runs in a thread (Redis I/O), the wait is async."""
        started, late_slots = time.monotonic(), 0
        while True:
            budget = None if timeout is None else timeout - (time.monotonic() - started)
            if self.redis_url is None:
                wait = self.reserve(endpoint, budget)
            else:
                wait = await asyncio.to_thread(self.reserve, endpoint, budget)
            if wait is None:
                raise TimeoutError(f"no QPS slot for {endpoint} within {timeout}s")
            due = time.monotonic() + wait
            if wait > 0:
                await asyncio.sleep(wait)
            late_slots += 1
            if time.monotonic() - due <= self._late_s or late_slots > MAX_LATE_SLOTS:
                return time.monotonic() - started
