"""Read a ``baidu_ocr`` Airflow connection into typed settings, once, with no I/O beyond the lookup."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from baidu_ocr.client.errors import ConfigError
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
        """Every credential of the connection, for redaction."""
        return tuple(s for s in (self.api_key, self.secret_key, self.iam_api_key) if s)

    @classmethod
    def from_connection(cls, conn: Any) -> BaiduOcrSettings:
        """Build settings from an Airflow ``Connection``; missing keys fail with the connection named.

        Two ways to authenticate: login = API Key and password = Secret Key (the OAuth token, refreshed
        every 30 days), or an IAM API key (``bce-v3/ALTAK-...``) as the password with no login, or as the
        extra ``iam_api_key``. With an IAM key the API Key / Secret Key are not used.
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
            )
        except (TypeError, ValueError) as exc:
            raise ConfigError(f"Invalid value in the connection's extra: {exc}", conn_id=conn_id) from None


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
