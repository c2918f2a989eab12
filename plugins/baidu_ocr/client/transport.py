"""The connection's HTTP transport (proxies, TLS, client certificate, headers), built by the http provider.

Users in company networks reach Baidu through a proxy, with a CA bundle or a client certificate: every
Airflow HTTP connection offers that (``apache-airflow-providers-http``), and a ``baidu_ocr`` connection takes
the same extra keys (``BaiduOcrSettings.from_connection``). The http provider's hooks build the sessions,
from a connection holding those keys only: given the ``baidu_ocr`` connection itself they would send its
login and password as Basic auth and every other extra key (``qps``, ``redis_url``, ...) as a header.

- :func:`http_session` (workers): ``HttpHook.get_conn()``'s ``requests.Session``, with proxies, verify, cert
  and headers, and an adapter sized to the concurrency (TCP keep-alive; no urllib3 retries: the clients
  retry by error class).
- :func:`async_http_session` (triggerer): ``HttpAsyncHook.session()``, one reusable aiohttp session with the
  proxy and headers. TLS goes with each request (:func:`async_ssl`): the async hook passes neither a CA
  bundle nor a client certificate to aiohttp.
"""

from __future__ import annotations

import json
import ssl
from contextlib import AbstractAsyncContextManager
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from airflow.providers.http.hooks.http import HttpAsyncHook, HttpHook
from airflow.sdk import Connection
from requests.utils import select_proxy
from requests_toolbelt.adapters.socket_options import TCPKeepAliveAdapter

from baidu_ocr.exceptions import ConfigError

if TYPE_CHECKING:
    import requests
    from airflow.providers.http.hooks.http import AsyncHttpSession

    from baidu_ocr.client.connection import BaiduOcrSettings

USER_AGENT = "airflow-provider-baidu-ocr"
DEFAULT_POOL_SIZE = 10  # requests' own default, for sessions that are not sized to a concurrency


def transport_connection(settings: BaiduOcrSettings, **options: Any) -> Connection:
    """An ``http`` connection with the base URL, the headers (ours first, the connection's win) and the
    http provider's ``options`` (``proxy``, ...): no credentials, no other key."""
    extra = {"User-Agent": USER_AGENT, **settings.headers, **options}
    return Connection(
        conn_id=settings.conn_id, conn_type="http", host=settings.base_url, extra=json.dumps(extra)
    )


class _TransportHook(HttpHook):
    """``HttpHook`` reading :func:`transport_connection` instead of looking the connection up again."""

    def __init__(self, connection: Connection, **kwargs: Any) -> None:
        super().__init__(http_conn_id=connection.conn_id, **kwargs)
        self._connection = connection

    def get_connection(self, conn_id: str) -> Connection:  # type: ignore[override]
        return self._connection


class _TransportAsyncHook(HttpAsyncHook):
    """``HttpAsyncHook`` reading :func:`transport_connection`; one attempt per call (retries are ours)."""

    def __init__(self, connection: Connection) -> None:
        super().__init__(method="POST", http_conn_id=connection.conn_id, retry_limit=1)
        self._connection = connection

    async def aget_connection(self, conn_id: str) -> Connection:  # type: ignore[override]
        return self._connection


def http_session(settings: BaiduOcrSettings, *, pool_size: int = DEFAULT_POOL_SIZE) -> requests.Session:
    """A ``requests.Session`` with the connection's proxies, TLS verification, client certificate and
    headers, pooling up to ``pool_size`` keep-alive connections per host."""
    # As HttpHook's extra_options rather than in the connection's JSON: a (cert, key) pair stays a tuple.
    options: dict[str, Any] = {"verify": settings.verify}
    if settings.proxies:
        options["proxies"] = settings.proxies
    if settings.cert:
        options["cert"] = settings.cert
    adapter = TCPKeepAliveAdapter(pool_connections=2, pool_maxsize=pool_size, max_retries=0)
    session = _TransportHook(transport_connection(settings), adapter=adapter).get_conn(extra_options=options)
    # HttpHook mounts the adapter for the base URL's scheme; a result file may come from Baidu's https hosts.
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return _connection_over_environment(session)


def _connection_over_environment(session: requests.Session) -> requests.Session:
    """``session``, its own ``verify`` and ``proxies`` going with every request.

    requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE and HTTP(S)_PROXY override a session's own (a request
    that names none takes the environment's), so HttpHook's ``run_and_check`` passes the session's with
    each request. Callers here use ``session.post``/``get``, and the SDK passes ``proxies={}``: the same
    rule is kept for them. A caller's own ``verify`` or proxy for a scheme still wins.
    """
    send = session.request

    def request(method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("verify", session.verify)
        kwargs["proxies"] = {**session.proxies, **(kwargs.get("proxies") or {})}
        return send(method, url, *args, **kwargs)

    session.request = request  # type: ignore[method-assign]
    return session


def async_http_session(settings: BaiduOcrSettings) -> AbstractAsyncContextManager[AsyncHttpSession]:
    """``HttpAsyncHook.session()`` with the connection's proxy for its base URL and its headers."""
    proxy = select_proxy(settings.base_url, settings.proxies)  # requests' choice: scheme://host, scheme, all
    options = {"proxy": proxy} if proxy else {}
    return _TransportAsyncHook(transport_connection(settings, **options)).session()


def async_ssl(settings: BaiduOcrSettings) -> ssl.SSLContext | bool:
    """aiohttp's ``ssl=`` for the connection's ``verify`` (on, off or a CA bundle) and ``cert``."""
    try:
        return _ssl_context(settings.verify, settings.cert)
    except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
        raise ConfigError(
            f"Cannot load the connection's CA bundle or client certificate ({type(exc).__name__})",
            conn_id=settings.conn_id,
        ) from None


@lru_cache(maxsize=16)  # hundreds of triggers share a few connections: read the PEM files once
def _ssl_context(verify: bool | str, cert: str | tuple[str, str] | None) -> ssl.SSLContext | bool:
    if not cert and isinstance(verify, bool):
        return verify  # aiohttp's own default context, or no verification
    context = ssl.create_default_context(cafile=verify if isinstance(verify, str) else None)
    if verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if cert:
        context.load_cert_chain(*((cert,) if isinstance(cert, str) else cert))
    return context
