"""Build the official ``aip.AipOcr`` client pointed at any Baidu-compatible host.

The SDK hard-codes ``https://aip.baidubce.com`` in name-mangled class attributes (one per endpoint, plus
the token URL in ``AipBase``). Overriding them on the instance re-targets every method without touching
the SDK, so the same client works against Baidu, a corporate proxy or the local server in ``include/``.

The stock SDK passes ``verify=False`` on every request (token and OCR) and silences urllib3's warnings for
the whole process. The client built here sends every request through a session that verifies TLS (or uses
the connection's CA bundle) whatever the SDK passes, re-enables urllib3's warnings, and its request logs and
``http.client`` debug prints are redacted (``redact.py``). Given the connection's session
(``transport.http_session``), it also goes through its proxies, with its client certificate and headers.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import requests

from baidu_ocr.client.connection import DEFAULT_HOST as BAIDU_HOST
from baidu_ocr.client.redact import install_url_redaction, mask_secret

if TYPE_CHECKING:
    from aip import AipOcr


def sdk_url_attributes(client_cls: type | None = None) -> dict[str, str]:
    """Return ``{attribute name: URL}`` for every URL the SDK class (and its base) declares."""
    if client_cls is None:
        from aip import AipOcr as client_cls  # noqa: N813 - imported lazily: the SDK is heavy-ish
    urls: dict[str, str] = {}
    for cls in reversed(client_cls.__mro__):
        for name, value in vars(cls).items():
            if isinstance(value, str) and value.startswith(BAIDU_HOST):
                urls[name] = value
    return urls


def force_verify(session: requests.Session, verify: bool | str = True) -> requests.Session:
    """``session``, sending every request with ``verify`` whatever its caller passes: the SDK passes ``False``."""
    send = session.request

    def request(method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs["verify"] = verify
        return send(method, url, *args, **kwargs)

    session.request = request  # type: ignore[method-assign]
    return session


def _import_sdk() -> type:
    from aip import AipOcr
    from urllib3.exceptions import HTTPWarning

    # Importing aip runs urllib3.disable_warnings(): an insecure request would go unreported process-wide.
    warnings.simplefilter("default", HTTPWarning)
    return AipOcr


def _mask_sdk_tokens(client: AipOcr) -> None:
    """The SDK fetches its own token: register it with the masker as the hook does its own."""
    fetch = client._auth

    def auth(refresh: bool = False) -> dict:
        auth_obj = fetch(refresh)
        mask_secret(auth_obj.get("access_token"))
        return auth_obj

    client._auth = auth


def make_sdk_client(
    app_id: str,
    api_key: str,
    secret_key: str,
    host: str = BAIDU_HOST,
    timeout_s: float | None = None,
    verify: bool | str = True,
    session: requests.Session | None = None,
) -> AipOcr:
    """Return an ``AipOcr`` whose requests go to ``host`` instead of Baidu's cloud, verifying TLS.

    :param verify: ``True`` (system CAs), a CA bundle path, or ``False`` (only if the connection says so).
    :param session: the session to send through (the connection's proxies, certificate and headers);
        default a plain one.
    """
    install_url_redaction()
    AipOcr = _import_sdk()  # noqa: N806 - the SDK's class
    client = AipOcr(app_id or "", api_key, secret_key)
    # The SDK posts with self.s and fetches tokens / retries on 110 with self.__client (the requests module).
    session = force_verify(session or requests.Session(), verify)
    client.s = session
    client._AipBase__client = session
    _mask_sdk_tokens(client)
    host = host.rstrip("/")
    if host != BAIDU_HOST:
        for name, url in sdk_url_attributes(AipOcr).items():
            setattr(client, name, host + url[len(BAIDU_HOST) :])
    if timeout_s:
        client.setConnectionTimeoutInMillis(int(timeout_s * 1000))
        client.setSocketTimeoutInMillis(int(timeout_s * 1000))
    return client
