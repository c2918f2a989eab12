"""Read a ``baidu_ocr`` Airflow connection into typed settings, once, with no I/O beyond the lookup."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from baidu_ocr.exceptions import ConfigError
from baidu_ocr.pipeline.usage import EndpointPrice, pricing_from_extra

DEFAULT_HOST = "https://aip.baidubce.com"
DEFAULT_QPS = 2.0  # Baidu's free tier
DEFAULT_TIMEOUT = 30.0
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_MAX_RETRIES = 5
# Baidu Cloud IAM API keys (``bce-v3/ALTAK-<id>/<secret>``) are sent as ``Authorization: Bearer <key>``.
IAM_KEY_PREFIX = "bce-v3/"


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() not in {"false", "0", "no", "off", ""}
    return bool(value)


@dataclass(frozen=True)
class BaiduOcrSettings:
    conn_id: str
    api_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    base_url: str = DEFAULT_HOST
    app_id: str = ""
    qps: float = DEFAULT_QPS
    timeout: float = DEFAULT_TIMEOUT
    connect_timeout: float = DEFAULT_CONNECT_TIMEOUT
    max_retries: int = DEFAULT_MAX_RETRIES
    redis_url: str | None = field(default=None, repr=False)
    verify: bool | str = True
    image_limits: dict[str, Any] = field(default_factory=dict)
    pricing: dict[str, EndpointPrice] = field(default_factory=dict)  # extra "pricing": usage.py
    #: An IAM API key: calls carry it as a Bearer header, and no access token is fetched.
    iam_api_key: str | None = field(default=None, repr=False)
    #: The transport keys every Airflow HTTP connection has (``transport.py``): ``{scheme: proxy URL}``, a
    #: client certificate (PEM path, or (cert, key) paths) and headers sent with every request.
    proxies: dict[str, str] = field(default_factory=dict, repr=False)
    cert: str | tuple[str, str] | None = None
    headers: dict[str, str] = field(default_factory=dict, repr=False)

    @property
    def uses_iam_key(self) -> bool:
        return bool(self.iam_api_key)

    @property
    def account(self) -> str:
        """What identifies the account (QPS is counted per account): the API Key, or the IAM key."""
        return self.api_key or self.iam_api_key or ""

    @property
    def timeouts(self) -> tuple[float, float]:
        """(connect, read) seconds, as requests takes them."""
        return (self.connect_timeout, self.timeout)

    @property
    def secrets(self) -> tuple[str, ...]:
        """Every credential of the connection, for redaction (a proxy's password too)."""
        proxy_passwords = (urlsplit(url).password for url in self.proxies.values())
        return tuple(s for s in (self.api_key, self.secret_key, self.iam_api_key, *proxy_passwords) if s)

    @classmethod
    def from_connection(cls, conn: Any) -> BaiduOcrSettings:
        """Build settings from an Airflow ``Connection``; missing keys fail with the connection named.

        Two ways to authenticate: login = API Key and password = Secret Key (the OAuth token, refreshed
        every 30 days), or an IAM API key (``bce-v3/ALTAK-...``) as the password with no login, or as the
        extra ``iam_api_key``. With an IAM key the API Key / Secret Key are not used.

        The transport keys are those of every Airflow HTTP connection: ``proxies`` (``{"https":
        "http://proxy:3128"}``, or one URL for every scheme; ``proxy`` is read too), ``verify`` (default
        true, or a CA bundle path), ``cert`` (a client certificate: a PEM path holding certificate and key,
        or ``[cert, key]`` paths) and ``headers`` (a mapping sent with every request; the http provider
        takes any unknown extra key as a header, which this extra, holding ``qps``, ``redis_url``, ...,
        cannot).
        """
        extra = conn.extra_dejson or {}
        conn_id = conn.conn_id
        # A form field left empty may arrive as null or "": both mean "not set", i.e. the default.
        extra = {k: v for k, v in extra.items() if v is not None and v != ""}
        login, password = (conn.login or "").strip(), (conn.password or "").strip()
        iam_api_key = str(extra.get("iam_api_key") or "").strip()
        if not iam_api_key and password.startswith(IAM_KEY_PREFIX):
            iam_api_key, password = password, ""
        if iam_api_key and not iam_api_key.startswith(IAM_KEY_PREFIX):
            raise ConfigError(  # never the value itself: it is a secret, even when malformed
                f"The connection's IAM API key must start with '{IAM_KEY_PREFIX}' (Baidu Cloud IAM keys look "
                "like bce-v3/ALTAK-...)",
                conn_id=conn_id,
            )
        if not iam_api_key and (not login or not password):
            raise ConfigError(
                "The connection needs the API Key as login and the Secret Key as password, or an IAM API "
                f"key ({IAM_KEY_PREFIX}ALTAK-...) as password or extra 'iam_api_key'",
                conn_id=conn_id,
            )
        verify: bool | str = extra.get("verify", True)
        if not (isinstance(verify, str) and "/" in verify):  # a CA bundle path stays a path
            verify = _truthy(verify)
        try:
            return cls(
                conn_id=conn_id,
                api_key=login,
                secret_key=password,
                base_url=base_url_of(conn.host, conn.port, extra.get("scheme") or conn.schema),
                app_id=str(extra.get("app_id") or ""),
                qps=float(extra.get("qps") or DEFAULT_QPS),
                timeout=float(extra.get("timeout") or DEFAULT_TIMEOUT),
                connect_timeout=float(extra.get("connect_timeout") or DEFAULT_CONNECT_TIMEOUT),
                max_retries=int(extra.get("max_retries", DEFAULT_MAX_RETRIES)),
                redis_url=extra.get("redis_url") or None,
                verify=verify,
                image_limits=dict(extra.get("image_limits") or {}),
                iam_api_key=iam_api_key or None,
                pricing=pricing_from_extra(extra.get("pricing"), conn_id=conn_id),
                proxies=_proxies(extra.get("proxies", extra.get("proxy"))),
                cert=_cert(extra.get("cert")),
                headers=_headers(extra.get("headers")),
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"Invalid value in the connection's extra: {exc}", conn_id=conn_id) from None


def _proxies(value: Any) -> dict[str, str]:
    """``{scheme: URL}`` as requests takes it; one URL stands for every scheme. The error names no URL: a
    proxy URL may carry a password."""
    if not value:
        return {}
    proxies = {"http": value, "https": value} if isinstance(value, str) else value
    if not isinstance(proxies, Mapping) or not all(isinstance(url, str) for url in proxies.values()):
        raise ValueError("'proxies' must be a proxy URL or a mapping of scheme to proxy URL")
    for scheme, url in proxies.items():
        parts = urlsplit(url)
        if not (parts.scheme and parts.hostname):
            raise ValueError(f"the proxy for {scheme!r} is not a URL such as http://proxy.example:3128")
    return dict(proxies)


def _cert(value: Any) -> str | tuple[str, str] | None:
    """A client certificate as requests takes it: one PEM path, or (certificate, key) paths."""
    if not value:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list | tuple) and len(value) == 2 and all(isinstance(v, str) for v in value):
        return (value[0], value[1])
    raise ValueError("'cert' must be a PEM file path or a [certificate, key] pair of paths")


def _headers(value: Any) -> dict[str, str]:
    if not value:
        return {}
    if not isinstance(value, Mapping):
        raise ValueError("'headers' must be a mapping of header name to value")
    return {str(name): str(v) for name, v in value.items()}


def base_url_of(host: str | None, port: int | None = None, scheme: str | None = None) -> str:
    """``https://aip.baidubce.com`` by default; a bare host gets https unless the connection says otherwise."""
    if not host:
        return DEFAULT_HOST
    host = host.strip().rstrip("/")
    if "://" not in host:
        host = f"{(scheme or 'https').lower()}://{host}"
    if port and host.count(":") < 2:
        host = f"{host}:{port}"
    return host
