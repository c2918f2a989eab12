"""With a Redis URL, the QPS budget and the access token are shared by every process."""

from __future__ import annotations

import multiprocessing
import time
import uuid

from baidu_ocr.auth import AccessToken, RedisTokenCache
from baidu_ocr.ratelimit import QpsLimiter

from tests.services import require_redis
from tests.unit.test_ratelimit import max_in_any_window


def _acquire_many(redis_url: str, key: str, n: int, queue) -> None:
    limiter = QpsLimiter(10, key=key, redis_url=redis_url)
    for _ in range(n):
        limiter.acquire("general_basic")
        queue.put(time.time())


def test_processes_share_one_qps_budget():
    redis_url = require_redis()
    key = f"baidu_ocr:qps:test-{uuid.uuid4().hex}"
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_acquire_many, args=(redis_url, key, 8, queue)) for _ in range(3)]
    for p in procs:
        p.start()
    stamps = [queue.get(timeout=60) for _ in range(24)]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert max_in_any_window(stamps) <= 10


def test_token_is_fetched_once_for_all_caches():
    redis_url = require_redis()
    key = f"baidu_ocr:token:test-{uuid.uuid4().hex}"
    fetches = []

    def fetch():
        fetches.append(1)
        return AccessToken(value=f"t{len(fetches)}", expires_at=time.time() + 3600, lifetime=3600)

    first, second = RedisTokenCache(redis_url), RedisTokenCache(redis_url)  # as two worker processes would
    assert first.get(key, fetch).value == "t1"
    assert second.get(key, fetch).value == "t1"
    assert second.get(key, fetch, rejected="t1").value == "t2"
    assert first.get(key, fetch, rejected="t1").value == "t2"  # already replaced: no second refresh
    assert len(fetches) == 2
    first._redis.delete(key)
