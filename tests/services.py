"""Find the real services tests need. Missing service: skip with the reason on a laptop, fail when CI is set."""

from __future__ import annotations

import os
import socket

import pytest

POSTGRES_URI = os.environ.get("BAIDU_OCR_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def _redis_db() -> int:
    """DB 0 in a single test process; under pytest-xdist, a DB per worker from 11 up (``gw0`` -> 11): a test
    that clears the cached tokens must not clear another worker's. The cluster tests and ``make cluster-demo``
    use DBs 5 to 10."""
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    if not worker.startswith("gw"):
        return 0
    db = 11 + int(worker.removeprefix("gw"))
    if db > 15:
        raise RuntimeError(f"Redis has DBs 0-15: at most 5 pytest-xdist workers may share it, not {worker}")
    return db


def _port_open(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def require_service(name: str, host: str, port: int) -> None:
    """Skip (laptop) or fail (CI) when ``name`` does not answer on ``host:port``."""
    if _port_open(host, port):
        return
    missing(f"{name} is not reachable on {host}:{port}")


def missing(reason: str) -> None:
    """What a test does when something it needs is not on this machine: skip on a laptop, fail in CI."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI is set: it is required in CI", pytrace=False)
    pytest.skip(f"{reason} (install or start it to run this test; CI fails instead of skipping)")


def require_postgres() -> str:
    require_service("PostgreSQL", "127.0.0.1", 5432)
    return POSTGRES_URI


def require_redis() -> str:
    require_service("Redis", "127.0.0.1", 6379)
    return os.environ.get("BAIDU_OCR_TEST_REDIS") or f"redis://127.0.0.1:6379/{_redis_db()}"


def redis_without_tokens() -> str:
    """Redis, with no access token cached by an earlier test: a test's server takes a free port, and a later
    one on the same port with the same test keys would find that token under the same cache key."""
    from baidu_ocr.client.auth import token_cache_for

    redis_url = require_redis()
    token_cache_for(redis_url).clear()
    return redis_url
