"""Build the official ``aip.AipOcr`` client pointed at any Baidu-compatible host.

The SDK hard-codes ``https://aip.baidubce.com`` in name-mangled class attributes (one per endpoint, plus
the token URL in ``AipBase``). Overriding them on the instance re-targets every method without touching
the SDK, so the same client works against Baidu, a corporate proxy or the local server in ``include/``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from baidu_ocr.connection import DEFAULT_HOST as BAIDU_HOST

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


def make_sdk_client(
    app_id: str, api_key: str, secret_key: str, host: str = BAIDU_HOST, timeout_s: float | None = None
) -> AipOcr:
    """Return an ``AipOcr`` whose requests go to ``host`` instead of Baidu's cloud."""
    from aip import AipOcr

    client = AipOcr(app_id or "", api_key, secret_key)
    host = host.rstrip("/")
    if host != BAIDU_HOST:
        for name, url in sdk_url_attributes(AipOcr).items():
            setattr(client, name, host + url[len(BAIDU_HOST) :])
    if timeout_s:
        client.setConnectionTimeoutInMillis(int(timeout_s * 1000))
        client.setSocketTimeoutInMillis(int(timeout_s * 1000))
    return client
