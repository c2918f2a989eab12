"""Async calls to Baidu OCR for the triggerer: aiohttp, with the hook's token cache, QPS limit and error rules.

A triggerer runs hundreds of triggers in one event loop. Polling through the sync hook in threads would
hold one thread per call in flight (the loop's default pool has a handful), so the table and parser
triggers poll with :class:`AsyncBaiduOcrClient` instead:

- the connection is read with ``BaseHook.aget_connection`` into the same :class:`BaiduOcrSettings`;
- one ``aiohttp.ClientSession`` per event loop and connection is shared by every trigger using it (pooled
  keep-alive connections, the connection's timeouts and TLS setting), closed when the last one is done;
- the token comes from the same cache as the hook's (in-process, or Redis with ``redis_url``: one token for
  workers and triggerers); a cache miss fetches it with the sync client in a thread, which is rare; a
  connection with an IAM API key sends it as ``Authorization: Bearer bce-v3/...`` instead, and fetches none;
- every call takes a slot from the same :class:`~baidu_ocr.client.ratelimit.QpsLimiter` (``aacquire``);
- a response is classified exactly as the hook does: ``errors.error_from_response`` on a JSON body, then
  ``errors.class_for_http_status``; a token error (100/110/111) refreshes the token once and retries.
  Other retries are the caller's: a poll that fails transiently is simply polled again next round.
"""

from __future__ import annotations

import asyncio
import json
import ssl
import time
from typing import Any

import aiohttp

from baidu_ocr.client.auth import AccessToken, ConnectionTokens, qps_key, request_auth
from baidu_ocr.client.connection import BaiduOcrSettings
from baidu_ocr.client.endpoints import Endpoint, resolve_endpoint
from baidu_ocr.client.errors import (
    TokenError,
    TransientError,
    body_or_error,
)
from baidu_ocr.client.parser_tasks import QUERY_ENDPOINT, parser_task_result
from baidu_ocr.client.ratelimit import QpsLimiter
from baidu_ocr.client.redact import install_url_redaction, mask_secret
from baidu_ocr.client.table_jobs import RESULT_ENDPOINT, table_job_request, table_job_result
from baidu_ocr.pipeline.records import encode_form

USER_AGENT = "airflow-provider-baidu-ocr"
MAX_CONNECTIONS = 32  # per event loop and connection; the QPS limit keeps far fewer calls in flight


class _SharedSessions:
    """One ``ClientSession`` per (event loop, settings), counted by its users; the last one closes it.

    Only touched from the event loop's own thread, and never across an ``await`` between check and use.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[int, tuple], list[Any]] = {}

    def acquire(self, settings: BaiduOcrSettings) -> aiohttp.ClientSession:
        key = (id(asyncio.get_running_loop()), _session_key(settings))
        entry = self._entries.get(key)
        if entry is None or entry[0].closed:
            entry = self._entries[key] = [_new_session(settings), 0]
        entry[1] += 1
        return entry[0]

    async def release(self, settings: BaiduOcrSettings) -> None:
        key = (id(asyncio.get_running_loop()), _session_key(settings))
        entry = self._entries.get(key)
        if entry is None:
            return
        entry[1] -= 1
        if entry[1] <= 0:
            del self._entries[key]
            await entry[0].close()


def _session_key(settings: BaiduOcrSettings) -> tuple:
    return (
        settings.conn_id,
        settings.base_url,
        str(settings.verify),
        settings.timeout,
        settings.connect_timeout,
    )


def _new_session(settings: BaiduOcrSettings) -> aiohttp.ClientSession:
    verify = settings.verify
    tls: ssl.SSLContext | bool = True
    if verify is False:
        tls = False
    elif isinstance(verify, str):
        tls = ssl.create_default_context(cafile=verify)  # a CA bundle path
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=MAX_CONNECTIONS, ssl=tls),
        timeout=aiohttp.ClientTimeout(
            total=None, sock_connect=settings.connect_timeout, sock_read=settings.timeout
        ),
        headers={"User-Agent": USER_AGENT},
    )


_SESSIONS = _SharedSessions()


class AsyncBaiduOcrClient:
    """``async with AsyncBaiduOcrClient(conn_id) as client: await client.get_table_job_result(rid)``
    (or ``get_parser_task(task_id)``)."""

    def __init__(self, baidu_ocr_conn_id: str = "baidu_ocr_default") -> None:
        self.baidu_ocr_conn_id = baidu_ocr_conn_id
        self.settings: BaiduOcrSettings | None = None
        self._session: aiohttp.ClientSession | None = None
        self._limiter: QpsLimiter | None = None
        self._token: AccessToken | None = None
        self.calls = 0
        self.token_fetches = 0

    async def __aenter__(self) -> AsyncBaiduOcrClient:
        from airflow.sdk import BaseHook

        conn = await BaseHook.aget_connection(self.baidu_ocr_conn_id)
        s = self.settings = BaiduOcrSettings.from_connection(conn)
        # A triggerer may never build a hook: its token request's log lines and debug prints are redacted too.
        install_url_redaction()
        for secret in s.secrets:
            mask_secret(secret)
        self._limiter = QpsLimiter(s.qps, qps_key(s.base_url, s.account), s.redis_url)
        self._session = _SESSIONS.acquire(s)
        self._tokens = ConnectionTokens(s, on_fetch=self._count_token_fetch)
        return self

    def _count_token_fetch(self) -> None:
        self.token_fetches += 1

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._session is not None:
            self._session = None
            await _SESSIONS.release(self.settings)

    # -- tokens ------------------------------------------------------------------------------------------

    async def access_token(self, *, rejected: str | None = None) -> str:
        """The shared cache's token, remembered here until it is due for refresh or rejected."""
        token = self._token
        if token is None or token.value == rejected or token.refresh_due(time.time()):
            token = self._token = await asyncio.to_thread(self._tokens.get, rejected=rejected)
        return token.value

    # -- calls -------------------------------------------------------------------------------------------

    async def post(self, endpoint: str | Endpoint, data: dict[str, Any]) -> dict:
        """POST form ``data`` with the token and a QPS slot; one token refresh on 100/110/111.

        With an IAM API key: the key as a Bearer header, no token, and a refused key fails at once."""
        ep = resolve_endpoint(endpoint, self.baidu_ocr_conn_id)
        form = encode_form(data)
        if self.settings.uses_iam_key:
            await self._limiter.aacquire(ep.name)
            return await self._post_once(ep, form, None)
        # A token before the slot too: a slot is a start time, and one spent fetching a token is sent late.
        token = await self.access_token()
        await self._limiter.aacquire(ep.name)
        token = await self.access_token()
        try:
            return await self._post_once(ep, form, token)
        except TokenError:
            token = await self.access_token(rejected=token)
            await self._limiter.aacquire(ep.name)
            return await self._post_once(ep, form, token)

    async def _post_once(self, ep: Endpoint, form: bytes, token: str | None) -> dict:
        conn_id = self.baidu_ocr_conn_id
        iam_key = self.settings.iam_api_key
        params, headers = request_auth(iam_key, token)
        self.calls += 1
        try:
            async with self._session.post(
                self.settings.base_url + ep.path, params=params, data=form, headers=headers
            ) as response:
                status, raw = response.status, await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            # Never str(exc): it may carry the URL, and the URL carries the access token.
            raise TransientError(
                f"Request failed: {type(exc).__name__}", endpoint=ep.name, conn_id=conn_id
            ) from None
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        return body_or_error(
            status,
            body,
            endpoint=ep.name,
            conn_id=conn_id,
            secrets=(token, *self.settings.secrets),
            iam_key=bool(iam_key),
        )

    async def get_table_job_result(self, request_id: str, *, result_type: str = "json") -> dict:
        """Poll ``form_ocr/get_request_result``; return its ``result`` (``ret_code`` 3 means done)."""
        body = await self.post(RESULT_ENDPOINT, table_job_request(request_id, result_type))
        return table_job_result(body, self.baidu_ocr_conn_id)

    async def get_parser_task(self, task_id: str) -> dict:
        """Query ``parser/task/query``; return its ``result`` (``status`` ``success`` means done)."""
        body = await self.post(QUERY_ENDPOINT, {"task_id": task_id})
        return parser_task_result(body, self.baidu_ocr_conn_id)
