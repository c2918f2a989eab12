"""The batch runner bounds the image bytes held by calls in flight, whatever the number of threads."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from baidu_ocr.hooks.batch import (
    IN_FLIGHT_IMAGE_BYTES,
    InFlightBytes,
    in_flight_budget,
    return_large_buffers_to_the_os,
)


def test_threads_never_hold_more_than_the_budget_and_a_big_image_still_passes_alone():
    budget = InFlightBytes(10)
    holders: list[int] = []
    seen: list[list[int]] = []  # who held bytes together, each time someone started
    lock = threading.Lock()

    def call(size: int) -> None:
        with budget.hold(size):
            with lock:
                holders.append(size)
                seen.append(list(holders))
            time.sleep(0.01)  # keep the bytes held while other threads try to take theirs
            with lock:
                holders.remove(size)

    sizes = [3] * 20 + [25]  # 25 alone is over the budget: it waits for an empty budget, then goes
    with ThreadPoolExecutor(max_workers=16) as pool:
        list(pool.map(call, sizes))
    assert [25] in seen  # the big image was sent, alone
    together = [group for group in seen if 25 not in group]
    assert max(sum(group) for group in together) <= 10  # small ones never over the budget...
    assert max(len(group) for group in together) >= 2  # ...yet several at once


def test_the_allocator_setting_is_applied_once_per_process():
    assert return_large_buffers_to_the_os() is return_large_buffers_to_the_os()


def test_the_in_flight_budget_follows_the_thread_count_within_its_bounds():
    low, high = IN_FLIGHT_IMAGE_BYTES
    assert in_flight_budget(1) == low  # a free-tier account still overlaps a few photos
    assert low < in_flight_budget(20) < high  # a 10-QPS account: more threads, more bytes in flight
    assert in_flight_budget(20) > in_flight_budget(17)
    assert in_flight_budget(1000) == high  # however many threads, the bytes stay bounded
