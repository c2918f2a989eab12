"""Async calls to Baidu OCR for the triggerer: aiohttp, with the hook's token cache, QPS limit and error rules.

A triggerer runs hundreds of triggers in one event loop. Polling through the sync hook in threads would
hold one thread per call in flight (the loop's default pool has a handful), so the table and parser
triggers poll with :class:`AsyncBaiduOcrClient` instead:

- the connection is read with ``BaseHook.aget_connection`` into the same :class:`BaiduOcrSettings`;
- one session per event loop and connection, the http provider's ``HttpAsyncHook.session()`` with the
  connection's proxy and headers (``client/transport.py``), is shared by every trigger using it (pooled
  keep-alive connections) and closed when the last one is done; each call carries the connection's timeouts
  and TLS setting (verify, CA bundle, client certificate);
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
import time
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

import aiohttp

from baidu_ocr.client.auth import AccessToken, ConnectionTokens, qps_key, request_auth
from baidu_ocr.client.connection import BaiduOcrSettings
from baidu_ocr.client.endpoints import Endpoint, resolve_endpoint
from baidu_ocr.client.errors import body_or_error
from baidu_ocr.client.forms import encode_form
from baidu_ocr.client.parser_tasks import QUERY_ENDPOINT, parser_task_result
from baidu_ocr.client.ratelimit import QpsLimiter
from baidu_ocr.client.redact import install_url_redaction, mask_secret
from baidu_ocr.client.table_jobs import RESULT_ENDPOINT, table_job_request, table_job_result
from baidu_ocr.client.transport import async_http_session, async_ssl
from baidu_ocr.exceptions import TokenError, TransientError

if TYPE_CHECKING:
    from airflow.providers.http.hooks.http import AsyncHttpSession


class _SharedSession:
    """One ``HttpAsyncHook.session()``, opened by its first user, closed by the last (``_SharedSessions``)."""

    def __init__(self, settings: BaiduOcrSettings) -> None:
        self.settings = settings
        self.users = 0
        self._http: AsyncHttpSession | None = None
        self._opened = AsyncExitStack()
        self._opening = asyncio.Lock()

    async def open(self) -> AsyncHttpSession:
        async with self._opening:  # users arriving while it opens wait for it, rather than open another
            if self._http is None:
                self._http = await self._opened.enter_async_context(async_http_session(self.settings))
        return self._http

    async def close(self) -> None:
        await self._opened.aclose()


class _SharedSessions:
    """One session per (event loop, connection transport), counted by its users; the last one closes it.

    Only touched from the event loop's own thread; an entry is registered and counted before any ``await``.
    """

    def __init__(self) -> None:
        self._entries: dict[tuple[int, tuple], _SharedSession] = {}

    async def acquire(self, settings: BaiduOcrSettings) -> AsyncHttpSession:
        key = (id(asyncio.get_running_loop()), _session_key(settings))
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = _SharedSession(settings)
        entry.users += 1
        try:
            return await entry.open()
        except BaseException:
            await self.release(settings)
            raise

    async def release(self, settings: BaiduOcrSettings) -> None:
        key = (id(asyncio.get_running_loop()), _session_key(settings))
        entry = self._entries.get(key)
        if entry is None:
            return
        entry.users -= 1
        if entry.users <= 0:
            del self._entries[key]
            await entry.close()


def _session_key(settings: BaiduOcrSettings) -> tuple:
    """What a shared session holds: the base URL, proxy and headers (TLS and timeouts go per call)."""
    return (
        settings.conn_id,
        settings.base_url,
        tuple(sorted(settings.proxies.items())),
        tuple(sorted(settings.headers.items())),
    )


_SESSIONS = _SharedSessions()


class AsyncBaiduOcrClient:
    """``async with AsyncBaiduOcrClient(conn_id) as client: await client.get_table_job_result(rid)``
    (or ``get_parser_task(task_id)``)."""

    def __init__(self, baidu_ocr_conn_id: str = "baidu_ocr_default") -> None:
        self.baidu_ocr_conn_id = baidu_ocr_conn_id
        self.settings: BaiduOcrSettings | None = None
        self._http: AsyncHttpSession | None = None
        self._request_options: dict[str, Any] = {}
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
        self._request_options = {
            "check_response": False,  # Baidu's errors are classified from the body, as the hook does
            "ssl": async_ssl(s),
            "timeout": aiohttp.ClientTimeout(total=None, sock_connect=s.connect_timeout, sock_read=s.timeout),
        }
        self._http = await _SESSIONS.acquire(s)
        self._tokens = ConnectionTokens(s, on_fetch=self._count_token_fetch)
        return self

    def _count_token_fetch(self) -> None:
        self.token_fetches += 1

    async def __aexit__(self, *exc_info: Any) -> None:
        if self._http is not None:
            self._http = None
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
        # The async hook sends a POST's data as its body and takes no query: the token goes in the endpoint.
        path = f"{ep.path}?{urlencode(params)}" if params else ep.path
        self.calls += 1
        try:
            response = await self._http.run(
                endpoint=path, data=form, headers=headers, extra_options=self._request_options
            )
            async with response:
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
