"""The hook and the trigger reach the local server through the connection's forward proxy (proxy.py), and
only through it: the proxy sees every request, with the connection's headers, and with the proxy down no
request reaches the server."""

from __future__ import annotations

import asyncio
import multiprocessing
import time
from collections.abc import Iterator

import pytest
from baidu_ocr.exceptions import TransientError
from baidu_ocr.hooks.async_client import AsyncBaiduOcrClient
from baidu_ocr.hooks.ocr import BaiduOcrHook, reset_process_caches
from baidu_ocr.triggers.jobs import BaiduOcrTableJobTrigger
from proxy import Proxy
from proxy.http.proxy import HttpProxyBasePlugin

from tests.conftest import REPO_ROOT
from tests.integration.conftest import baidu_conn_env
from tests.unit.conftest import png

TABLE = (REPO_ROOT / "include" / "samples" / "tables" / "table_01.png").read_bytes()
TOKEN = "/oauth/2.0/token"
SUBMIT = "/rest/2.0/solution/v1/form_ocr/request"
POLL = "/rest/2.0/solution/v1/form_ocr/get_request_result"
GATEWAY_HEADER = "X-Ocr-Gateway"


class RecordingPlugin(HttpProxyBasePlugin):
    """Records (method, path without the query, the gateway header) of every request the proxy forwards.

    proxy.py serves from forked acceptor processes: the records travel back through ``seen``, set before
    the proxy starts."""

    seen: multiprocessing.SimpleQueue | None = None

    def handle_client_request(self, request):
        name = GATEWAY_HEADER.lower().encode()
        header = request.header(name).decode() if request.has_header(name) else ""
        path = (request.path or b"").decode().split("?", 1)[0]  # the query holds the access token
        self.seen.put((request.method.decode(), path, header))
        return request


class ForwardProxy:
    """proxy.py on 127.0.0.1, a free port; :meth:`stop` takes it down (the fixture stops it in any case)."""

    def __init__(self) -> None:
        self._records = multiprocessing.SimpleQueue()
        RecordingPlugin.seen = self._records
        flags = ["--hostname", "127.0.0.1", "--port", "0", "--num-acceptors", "1", "--num-workers", "1"]
        self._proxy: Proxy | None = Proxy([*flags, "--log-level", "WARNING"])
        self._proxy.flags.plugins[b"HttpProxyBasePlugin"].append(RecordingPlugin)
        self._proxy.__enter__()  # started here, stopped by stop()
        self.url = f"http://127.0.0.1:{self._proxy.flags.port}"

    def seen(self) -> list[tuple[str, str, str]]:
        """The requests forwarded since the last call."""
        records = []
        while not self._records.empty():
            records.append(self._records.get())
        return records

    def stop(self) -> None:
        if self._proxy is not None:
            proxy, self._proxy = self._proxy, None
            proxy.__exit__(None, None, None)


@pytest.fixture
def forward_proxy() -> Iterator[ForwardProxy]:
    proxy = ForwardProxy()
    try:
        yield proxy
    finally:
        proxy.stop()


@pytest.fixture(autouse=True)
def _fresh_caches():
    reset_process_caches()
    yield
    reset_process_caches()


def _events(trigger: BaiduOcrTableJobTrigger) -> list[dict]:
    async def collect():
        return [event.payload async for event in trigger.run()]

    return asyncio.run(collect())


def _server_calls(server) -> int:
    stats = server.stats()
    return stats["tokens_issued"] + sum(e["calls"] for e in stats["endpoints"].values())


def test_hook_and_trigger_reach_the_server_through_the_proxy(baidu_ocr_server, forward_proxy, monkeypatch):
    baidu_conn_env(
        monkeypatch,
        baidu_ocr_server,
        proxies={"http": forward_proxy.url},
        headers={GATEWAY_HEADER: "team-ocr"},
    )
    request_id = BaiduOcrHook().submit_table_job(TABLE)
    assert forward_proxy.seen() == [("POST", TOKEN, "team-ocr"), ("POST", SUBMIT, "team-ocr")]

    reset_process_caches()  # the triggerer fetches its own token, through the proxy as well
    trigger = BaiduOcrTableJobTrigger(
        jobs=[{"request_id": request_id}], poll_interval=0.1, deadline=time.time() + 30
    )
    [event] = _events(trigger)
    assert event["status"] == "success" and event["done"] == [request_id]
    token, *polls = forward_proxy.seen()
    assert token == ("POST", TOKEN, "team-ocr")
    assert polls and set(polls) == {("POST", POLL, "team-ocr")}
    stats = baidu_ocr_server.stats()
    assert stats["tokens_issued"] == 2
    assert stats["endpoints"]["form_ocr/get_request_result"]["calls"] == len(polls)


def test_hook_and_trigger_fail_when_the_proxy_is_down(baidu_ocr_server, forward_proxy, monkeypatch):
    baidu_conn_env(monkeypatch, baidu_ocr_server, proxies={"http": forward_proxy.url}, max_retries=0)
    request_id = BaiduOcrHook().submit_table_job(TABLE)  # the same connection works while the proxy is up
    forward_proxy.stop()
    reached = _server_calls(baidu_ocr_server)

    with pytest.raises(TransientError):
        BaiduOcrHook().ocr(png(1))  # with the cached token: the OCR call fails

    async def poll() -> None:
        async with AsyncBaiduOcrClient() as client:
            await client.get_table_job_result(request_id)

    with pytest.raises(TransientError):
        asyncio.run(poll())
    [event] = _events(  # a deadline already passed: one polling round, then the verdict
        BaiduOcrTableJobTrigger(jobs=[{"request_id": request_id}], poll_interval=0.1, deadline=time.time())
    )
    assert event["status"] == "timeout" and event["pending"] == [request_id]

    reset_process_caches()  # no cached token: both clients' token requests fail the same way
    with pytest.raises(TransientError, match="token endpoint"):
        BaiduOcrHook().ocr(png(2))
    with pytest.raises(TransientError, match="token endpoint"):
        asyncio.run(poll())
    assert _server_calls(baidu_ocr_server) == reached
