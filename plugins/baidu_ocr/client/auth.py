"""Access tokens: fetch with client credentials, cache with expiry, share one refresh between threads.

(A connection with an IAM API key skips all of this: each call carries ``Authorization: Bearer bce-v3/...``,
see :func:`request_auth`, and a refusal of the key is ``errors.iam_key_refused``, never a token refresh.)

Baidu tokens live 30 days and fetching a new one does not invalidate the old, so every process may hold its
own. Still, a batch of N threads that all see error 110 at once must cause ONE token request, not N: the
cache refreshes under a lock and re-checks whether another thread already replaced the failed token.
With a Redis URL the token is shared by every worker (one fetch per account, not per task process).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import requests

from baidu_ocr.client.redact import mask_secret, redact
from baidu_ocr.exceptions import AuthenticationFailed, TransientError

if TYPE_CHECKING:
    from baidu_ocr.client.connection import BaiduOcrSettings

TOKEN_PATH = "/oauth/2.0/token"
# Baidu's SDK decides "token auth" only when the scope contains this; without it a token is useless for OCR.
OCR_SCOPE = "brain_all_scope"


@dataclass(frozen=True)
class AccessToken:
    value: str
    expires_at: float  # epoch seconds
    lifetime: float  # seconds, as issued

    def refresh_due(self, now: float) -> bool:
        """Refresh a safe margin before expiry: 10 % of the lifetime, at most 5 minutes."""
        return now >= self.expires_at - min(300.0, self.lifetime * 0.1)

    def to_json(self) -> str:
        return json.dumps({"value": self.value, "expires_at": self.expires_at, "lifetime": self.lifetime})

    @classmethod
    def from_json(cls, text: str | bytes) -> AccessToken:
        return cls(**json.loads(text))


def fetch_access_token(session: requests.Session, settings: BaiduOcrSettings) -> AccessToken:
    """POST the client-credentials grant. Errors name the connection, never the keys or the URL's query."""
    s = settings
    base_url, conn_id = s.base_url, s.conn_id
    params = {"grant_type": "client_credentials", "client_id": s.api_key, "client_secret": s.secret_key}
    try:
        response = session.post(base_url + TOKEN_PATH, params=params, timeout=s.timeouts, verify=s.verify)
    except requests.RequestException as exc:
        # str(exc) would contain the request URL, and with it the secret key: name only the failure kind.
        raise TransientError(
            f"Cannot reach the token endpoint at {base_url} ({type(exc).__name__})", conn_id=conn_id
        ) from None
    try:
        body = response.json()
    except ValueError:
        body = {}
    if response.status_code >= 500:
        raise TransientError(f"Token endpoint answered HTTP {response.status_code}", conn_id=conn_id)
    if response.status_code != 200 or "access_token" not in body:
        reason = body.get("error_description") or body.get("error") or f"HTTP {response.status_code}"
        # Server text: a proxy may echo the request URL, and with it the keys.
        reason = redact(str(reason), s.secrets)
        raise AuthenticationFailed(
            f"Baidu refused the API Key / Secret Key: {reason}. Check the connection's login (API Key) "
            "and password (Secret Key)",
            conn_id=conn_id,
        )
    scope = str(body.get("scope", ""))
    if OCR_SCOPE not in scope.split():
        raise AuthenticationFailed(
            f"The token has no '{OCR_SCOPE}' scope: enable the OCR service for this application in Baidu's console",
            conn_id=conn_id,
        )
    lifetime = float(body.get("expires_in", 2592000))
    return AccessToken(value=body["access_token"], expires_at=time.time() + lifetime, lifetime=lifetime)


def request_auth(iam_api_key: str | None, token: str | None) -> tuple[dict[str, str], dict[str, str]]:
    """Query parameters and headers of one form POST: the IAM API key as a Bearer header (no
    ``access_token`` then), or the token as the ``access_token`` parameter."""
    from baidu_ocr.client.forms import FORM_CONTENT_TYPE

    headers = {"Content-Type": FORM_CONTENT_TYPE}
    if iam_api_key:
        return {}, {**headers, "Authorization": f"Bearer {iam_api_key}"}
    return {"access_token": token or ""}, headers


def _digest(*parts: str) -> str:
    # Hashed so that no key ever appears in a Redis key listing.
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:24]


def cache_key(base_url: str, api_key: str, secret_key: str = "") -> str:
    """Where the token of one (host, API key, secret key) is cached.

    The secret is part of the key: a connection with the right API key and a WRONG secret must fetch (and
    fail) on its own, not reuse the token another connection fetched with the right one.
    """
    return "baidu_ocr:token:" + _digest(base_url, api_key, secret_key)


def token_key_for(settings: Any) -> str:
    """The cache key of a connection's token (its ``BaiduOcrSettings``): every caller uses this one."""
    return cache_key(settings.base_url, settings.api_key, settings.secret_key)


def qps_key(base_url: str, account: str) -> str:
    """Where the QPS window of one (host, account) is kept: Baidu counts QPS per account (the API Key, or
    the IAM API key of a connection without one; hashed either way)."""
    return "baidu_ocr:qps:" + _digest(base_url, account)


class ConnectionTokens:
    """One connection's access tokens, as both clients get them: from the shared cache (in-process, or Redis
    with ``redis_url``), fetched when due or rejected, and every token seen masked once (a token read from
    Redis may come from another process).

    :param session: the pooled session to fetch with (``None``: a short-lived one per fetch, with the
        connection's transport: proxies, TLS, client certificate, headers).
    :param on_fetch: called before each fetch (the clients count them).
    """

    def __init__(
        self,
        settings: BaiduOcrSettings,
        session: requests.Session | None = None,
        on_fetch: Callable[[], None] | None = None,
    ) -> None:
        self.settings = settings
        self._session = session
        self._on_fetch = on_fetch
        self._masked: set[str] = set()

    def get(self, *, rejected: str | None = None) -> AccessToken:
        """A usable token; ``rejected`` (answered 110/111) is replaced, once for all threads."""
        s = self.settings
        return self._masking(
            token_cache_for(s.redis_url).get(token_key_for(s), self.fetch, rejected=rejected)
        )

    def fetch(self) -> AccessToken:
        """A new token, whatever the cache holds (``test_connection`` proves the keys with it)."""
        if self._on_fetch is not None:
            self._on_fetch()
        if self._session is not None:
            return self._masking(fetch_access_token(self._session, self.settings))
        from baidu_ocr.client.transport import http_session  # the http provider imports aiohttp: on first use

        with http_session(self.settings) as session:
            return self._masking(fetch_access_token(session, self.settings))

    def _masking(self, token: AccessToken) -> AccessToken:
        if token.value not in self._masked:
            mask_secret(token.value)
            self._masked.add(token.value)
        return token


class TokenCache:
    """In-process token cache: one entry per account, refreshed by one thread at a time."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._tokens: dict[str, AccessToken] = {}
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()
        self._clock = clock

    def _lock_for(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def _read(self, key: str) -> AccessToken | None:
        return self._tokens.get(key)

    def _write(self, key: str, token: AccessToken) -> None:
        self._tokens[key] = token

    def get(self, key: str, fetch: Callable[[], AccessToken], *, rejected: str | None = None) -> AccessToken:
        """Return a usable token, fetching at most once however many threads ask at the same moment.

        :param rejected: the token value Baidu just answered 110/111 for; it is replaced unless another thread
            has replaced it already.
        """
        token = self._read(key)
        if self._usable(token, rejected):
            return token
        with self._lock_for(key):
            token = self._read(key)  # another thread may have refreshed while we waited
            if self._usable(token, rejected):
                return token
            token = fetch()
            self._write(key, token)
            return token

    def _usable(self, token: AccessToken | None, rejected: str | None) -> bool:
        return token is not None and token.value != rejected and not token.refresh_due(self._clock())

    def clear(self) -> None:
        self._tokens.clear()


class RedisTokenCache(TokenCache):
    """Token shared by every process through Redis; refreshes are serialized by a Redis lock."""

    def __init__(self, redis_url: str, clock: Callable[[], float] = time.time) -> None:
        super().__init__(clock)
        import redis

        self._redis = redis.Redis.from_url(redis_url)

    def _read(self, key: str) -> AccessToken | None:
        raw = self._redis.get(key)
        return AccessToken.from_json(raw) if raw else None

    def _write(self, key: str, token: AccessToken) -> None:
        ttl = max(1, int(token.expires_at - self._clock()))
        self._redis.set(key, token.to_json(), ex=ttl)

    def get(self, key: str, fetch: Callable[[], AccessToken], *, rejected: str | None = None) -> AccessToken:
        token = self._read(key)
        if self._usable(token, rejected):
            return token
        # Serialize across processes: the thread lock keeps one process's threads off Redis' lock queue.
        with self._lock_for(key), self._redis.lock(key + ":lock", timeout=60, blocking_timeout=90):
            token = self._read(key)
            if self._usable(token, rejected):
                return token
            token = fetch()
            self._write(key, token)
            return token

    def clear(self) -> None:
        for key in self._redis.scan_iter("baidu_ocr:token:*"):
            self._redis.delete(key)


_PROCESS_CACHE = TokenCache()
_REDIS_CACHES: dict[str, RedisTokenCache] = {}
_REDIS_GUARD = threading.Lock()


def token_cache_for(redis_url: str | None) -> TokenCache:
    """The process-wide cache, or the Redis-backed one for ``redis_url`` (one client per URL per process)."""
    if not redis_url:
        return _PROCESS_CACHE
    with _REDIS_GUARD:
        if redis_url not in _REDIS_CACHES:
            _REDIS_CACHES[redis_url] = RedisTokenCache(redis_url)
        return _REDIS_CACHES[redis_url]
