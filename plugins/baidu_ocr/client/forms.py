"""The form Baidu receives: one encoding of every value, url-encoded once, for the hooks and the dedupe hash."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote_plus


def form_value(value: Any) -> str:
    """A value as Baidu receives it in the form. The hook sends, and the dedupe hash reads, this one
    encoding: booleans are the strings "true"/"false", so True and "true" are the same request."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
_BASE64_BYTES = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_LONG_VALUE = 4096


def encode_form(data: Mapping[str, Any]) -> bytes:
    """The request body Baidu receives (each value through ``form_value``), url-encoded once.

    Retries resend these bytes. urllib quotes a value one character at a time through a list (about ten
    bytes per character: 25 MB for a 2 MB photo's base64); base64 needs only '+', '/' and '=' quoted, so a
    long base64 value is quoted with ``bytes.replace`` instead, to the same bytes.
    """
    return b"&".join(
        quote_plus(str(key)).encode("ascii") + b"=" + _quote_value(form_value(value))
        for key, value in data.items()
        if value is not None
    )


def _quote_value(value: str) -> bytes:
    raw = value.encode("utf-8")
    if len(raw) > _LONG_VALUE and not raw.translate(None, _BASE64_BYTES):
        return raw.replace(b"+", b"%2B").replace(b"/", b"%2F").replace(b"=", b"%3D")
    return quote_plus(raw).encode("ascii")
