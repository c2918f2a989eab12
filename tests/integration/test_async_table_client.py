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


def test_one_unfetchable_workbook_fails_its_document_and_the_paid_jobs_are_kept(
    ocr_server_factory, monkeypatch, tmp_path, s3
):
    """Issue 21, end to end against the local server: three finished ``form_ocr`` jobs, the first one's
    workbook link answering 404. That document fails as ``result_file``; the other two are staged with
    their real workbooks (named by content), loaded, and the three paid submissions are in ``ocr_usage``."""
    import json

    from airflow.sdk import BaseHook
    from baidu_ocr.normalize import normalize_records
    from baidu_ocr.operators import BaiduOcrTableOperator
    from baidu_ocr.pipeline.staging import read_records
    from baidu_ocr.warehouse import WarehouseLoader

    from tests.unit.operators.conftest import BUCKET, context

    server = ocr_server_factory(engine="fixture", table_job_seconds=0)
    baidu_conn_env(monkeypatch, server)
    monkeypatch.setenv(
        "AIRFLOW_CONN_WAREHOUSE_DEFAULT",
        json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "warehouse.db")}),
    )
    keys = [f"tables/table_0{n}.png" for n in (1, 2, 3)]
    for key in keys:
        s3.load_bytes((REPO_ROOT / "include" / "samples" / key).read_bytes(), key, BUCKET)
    result = BaiduOcrHook.get_table_job_result
    gone: list[str] = []

    def first_workbook_link_is_gone(self, request_id, *, result_type="json"):
        answer = result(self, request_id, result_type=result_type)
        if result_type == "excel" and (not gone or gone == [request_id]):
            gone[:] = [request_id]
            answer["result_data"] = f"{server.url}/_files/{request_id}-expired.xlsx"
        return answer

    monkeypatch.setattr(BaiduOcrHook, "get_table_job_result", first_workbook_link_is_gone)
    op = BaiduOcrTableOperator(
        task_id="tables",
        api="form_ocr",
        bucket=BUCKET,
        keys=keys,
        excel_prefix="excel",
        warehouse_conn_id="warehouse_default",
        poll_interval=0.05,
        deferrable=False,
        max_failure_ratio=0.5,
    )
    manifest = op.execute(context(task_id="tables"))
    assert (manifest["n_ok"], manifest["n_failed"], manifest["failed_by_class"]) == (2, 1, {"result_file": 1})
    staged = read_records(s3, [manifest["uri"]]).set_index("source_uri")
    assert staged.loc[f"s3://{BUCKET}/{keys[0]}", "error_class"] == "result_file"
    workbooks = s3.list_keys(BUCKET, prefix="excel/")
    assert len(workbooks) == 2
    assert all(s3.get_key(k, BUCKET).get()["Body"].read().startswith(b"PK\x03\x04") for k in workbooks)

    loaded = WarehouseLoader("warehouse_default").load(normalize_records(read_records(s3, [manifest["uri"]])))
    assert loaded["ocr_documents"] == 3
    warehouse = BaseHook.get_connection("warehouse_default").get_hook()
    [(calls,)] = warehouse.get_records(
        "SELECT SUM(billable_calls) FROM ocr_usage WHERE endpoint = 'form_ocr_request'"
    )
    assert calls == 3 == server.stats()["endpoints"]["form_ocr/request"]["ok"]
    links = warehouse.get_records("SELECT value FROM ocr_fields WHERE field = 'excel_uri'")
    assert sorted(v for (v,) in links) == sorted(f"s3://{BUCKET}/{k}" for k in workbooks)
