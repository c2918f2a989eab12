"""QpsLimiter keeps every moving one-second window at or under the limit."""

from __future__ import annotations

import threading
import time
import uuid
from fractions import Fraction

import pytest
from baidu_ocr.client.ratelimit import QpsLimiter, rate_item


def max_in_any_window(stamps: list[float], window: float = 0.95) -> int:
    """Most stamps in any ``window``. The stamps are taken just after ``acquire`` returns, a few ms after the
    limiter's own clock reading, so the check uses a window 50 ms shorter than the limiter's second."""
    stamps = sorted(stamps)
    best, start = 0, 0
    for end, stamp in enumerate(stamps):
        while stamp - stamps[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


@pytest.mark.parametrize(("qps", "expected"), [(2, (2, 1)), (0.5, (1, 2)), (2.5, (5, 2)), (20, (20, 1))])
def test_rate_item_uses_whole_numbers(qps, expected):
    item = rate_item(qps)
    assert (item.amount, item.multiples) == expected
    assert Fraction(item.amount, item.multiples) == Fraction(qps).limit_denominator(10)


def test_rate_item_rejects_non_positive():
    with pytest.raises(ValueError):
        rate_item(0)


def test_threads_never_exceed_the_limit():
    limiter = QpsLimiter(20, key=f"test:{uuid.uuid4().hex}")
    stamps: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(10):
            limiter.acquire("general_basic")
            with lock:
                stamps.append(time.time())

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stamps) == 60
    assert max_in_any_window(stamps) <= 20


def test_endpoints_have_separate_budgets():
    limiter = QpsLimiter(1, key=f"test:{uuid.uuid4().hex}")
    limiter.acquire("general_basic")
    assert limiter.acquire("idcard", timeout=0.5) < 0.5  # another API: its own window
    with pytest.raises(TimeoutError):
        limiter.acquire("general_basic", timeout=0.2)


def test_a_caller_that_wakes_up_late_takes_a_new_slot(monkeypatch):
    """A late caller would leave next to the callers due after it (error 18 at Baidu): it re-reserves."""
    import baidu_ocr.client.ratelimit as ratelimit

    limiter = QpsLimiter(10, key=f"test:{uuid.uuid4().hex}")
    limiter.acquire("general_basic")  # the next slot is ~105 ms away
    reservations, real_sleep = [], time.sleep
    reserve = limiter.reserve

    def counting_reserve(endpoint, max_wait=None):
        reservations.append(endpoint)
        return reserve(endpoint, max_wait)

    def oversleep(seconds):
        real_sleep(seconds + (0.2 if len(reservations) == 1 else 0))  # a stalled process, once

    monkeypatch.setattr(limiter, "reserve", counting_reserve)
    monkeypatch.setattr(ratelimit.time, "sleep", oversleep)
    limiter.acquire("general_basic")
    assert len(reservations) == 2


def test_async_acquire_paces_like_acquire():
    import asyncio

    limiter = QpsLimiter(20, key=f"test:{uuid.uuid4().hex}")
    stamps: list[float] = []

    async def caller():
        for _ in range(10):
            await limiter.aacquire("general_basic")
            stamps.append(time.time())

    async def main():
        await asyncio.gather(*(caller() for _ in range(4)))

    asyncio.run(main())
    assert len(stamps) == 40
    assert max_in_any_window(stamps) <= 20
