"""The trigger's async client against the local server: same answers, errors and token handling as the hook."""

from __future__ import annotations

import asyncio
import time

import pytest
from baidu_ocr.exceptions import BaiduOcrError
from baidu_ocr.hooks.async_client import AsyncBaiduOcrClient
from baidu_ocr.hooks.ocr import BaiduOcrHook, reset_process_caches
from baidu_ocr.triggers.jobs import BaiduOcrTableJobTrigger
from baidu_ocr_server.testing import FakeClock

from tests.conftest import REPO_ROOT
from tests.integration.conftest import baidu_conn_env

TABLE = (REPO_ROOT / "include" / "samples" / "tables" / "table_01.png").read_bytes()


@pytest.fixture(autouse=True)
def _fresh_caches():
    reset_process_caches()
    yield
    reset_process_caches()


def _events(trigger: BaiduOcrTableJobTrigger) -> list[dict]:
    async def collect():
        return [event.payload async for event in trigger.run()]

    return asyncio.run(collect())


def test_trigger_polls_real_jobs_to_done_with_one_shared_token(ocr_server_factory, monkeypatch):
    server = ocr_server_factory(engine="fixture", table_job_seconds=0.3)
    baidu_conn_env(monkeypatch, server)
    hook = BaiduOcrHook()
    request_ids = [hook.submit_table_job(TABLE) for _ in range(3)]
    trigger = BaiduOcrTableJobTrigger(
        jobs=[{"request_id": rid} for rid in request_ids], poll_interval=0.1, deadline=time.time() + 30
    )
    [event] = _events(trigger)
    assert event["status"] == "success" and sorted(event["done"]) == sorted(request_ids)
    stats = server.stats()
    assert stats["endpoints"]["form_ocr/get_request_result"]["ok"] >= 3
    assert stats["tokens_issued"] == 1  # the trigger took the hook's cached token


def test_errors_are_classified_as_the_sync_hook_classifies_them(baidu_ocr_server, monkeypatch):
    baidu_conn_env(monkeypatch, baidu_ocr_server)
    with pytest.raises(BaiduOcrError) as sync_error:
        BaiduOcrHook().get_table_job_result("no-such-request")

    async def poll():
        async with AsyncBaiduOcrClient() as client:
            await client.get_table_job_result("no-such-request")

    with pytest.raises(BaiduOcrError) as async_error:
        asyncio.run(poll())
    assert type(async_error.value) is type(sync_error.value)
    assert async_error.value.to_dict() == {**sync_error.value.to_dict(), "log_id": async_error.value.log_id}
    assert async_error.value.code == 282808 and "access_token" not in str(async_error.value)


def test_expired_token_is_refreshed_once_and_the_poll_retried(ocr_server_factory, monkeypatch):
    clock = FakeClock()
    server = ocr_server_factory(engine="fixture", table_job_seconds=0, clock=clock, token_ttl=60)
    baidu_conn_env(monkeypatch, server)
    request_id = BaiduOcrHook().submit_table_job(TABLE)

    async def poll_twice():
        async with AsyncBaiduOcrClient() as client:
            first = await client.get_table_job_result(request_id)
            clock.advance(30)  # the server now refuses the token (111); the client still thinks it fresh
            server.configure(token_ttl=20)
            second = await client.get_table_job_result(request_id)
            return first, second, client.token_fetches

    first, second, fetches = asyncio.run(poll_twice())
    assert first["request_id"] == second["request_id"] == request_id  # both polls answered
    assert fetches == 1 and server.stats()["tokens_issued"] == 2
    assert server.stats()["errors"].get("111") == 1


def test_qps_limit_is_honoured_by_concurrent_polls(ocr_server_factory, monkeypatch):
    server = ocr_server_factory(engine="fixture", table_job_seconds=0, qps=5)
    baidu_conn_env(monkeypatch, server, qps=5)
    request_id = BaiduOcrHook().submit_table_job(TABLE)

    async def poll_many():
        async with AsyncBaiduOcrClient() as client:
            await asyncio.gather(*(client.get_table_job_result(request_id) for _ in range(12)))

    asyncio.run(poll_many())
    stats = server.stats()
    assert stats["endpoints"]["form_ocr/get_request_result"]["ok"] == 12
    assert "18" not in stats["errors"]
    assert max(stats["calls_per_second"]["form_ocr/get_request_result"].values()) <= 5
