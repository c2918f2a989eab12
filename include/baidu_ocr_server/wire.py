"""The request and response values passed between the HTTP transport and the handlers.

Handlers never touch sockets: they get a parsed :class:`Request` and return a :class:`Response`, so they
can be called directly in tests. ``Response.drop`` asks the transport to close the socket unanswered.

The body is read from the socket only when a handler asks for it, up to the limit that handler sets: an
OCR handler reads it after authentication, so an unauthenticated client costs no more memory than the
transport's small read buffer (the transport discards what no handler read). Forms are parsed with a cap
on their field count, so ``a=&a=&...`` cannot become millions of Python objects.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from baidu_ocr_server.errors import BaiduError

JSON_CONTENT_TYPE = "application/json;charset=utf-8"
# Baidu's endpoints take a dozen parameters at most; the SDK adds two to the query.
MAX_FIELDS = 64
TOO_LARGE = 216202  # "image size error": Baidu's answer to a request over its size limits
INVALID_PARAM = 216100
# A token request, an admin change, or the options sent beside an endpoint's file.
SMALL_BODY_BYTES = 64 * 1024


def parse_fields(text: str) -> dict[str, str]:
    """The first value of each field of a query string or form; 216100 past :data:`MAX_FIELDS`.

    The count is taken before anything is split (``max_num_fields``), so a refusal allocates nothing.
    """
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=MAX_FIELDS)
    except ValueError:
        raise BaiduError(INVALID_PARAM, f"more than {MAX_FIELDS} parameters") from None
    values: dict[str, str] = {}
    for key, value in pairs:
        values.setdefault(key, value)
    return values


class Body:
    """A request body of ``length`` bytes, read once, when a handler asks and within its limit."""

    def __init__(self, length: int = 0, read: Callable[[int], bytes] | None = None) -> None:
        self.length = length
        self._read = read
        self.consumed = length == 0
        self.truncated = False  # the client hung up (or ran out of time) before sending it all

    def read(self, max_bytes: int) -> bytes:
        """The whole body; 216202 when it is longer than ``max_bytes`` (then nothing is read)."""
        if self.length > max_bytes:
            raise BaiduError(TOO_LARGE, "request body too large")
        if self.consumed:
            return b""
        self.consumed = True
        try:
            data = self._read(self.length) if self._read else b""
        except OSError:  # TimeoutError included: the request's read deadline passed
            data = b""
        if len(data) < self.length:
            self.truncated = True
            return b""
        return data


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    headers: Mapping[str, str]
    base_url: str  # scheme://host:port for links we hand out: our own address, never the Host header
    query_string: str = ""  # as sent: a BCE signature covers every parameter
    body: Body = field(default_factory=Body)

    def read_body(self, max_bytes: int) -> bytes:
        return self.body.read(max_bytes)

    def form(self, max_bytes: int) -> dict[str, str]:
        """The url-encoded form in the body (empty for another content type); 216202 / 216100 past the caps."""
        if "x-www-form-urlencoded" not in (self.headers.get("content-type") or "").lower():
            return {}
        return parse_fields(self.read_body(max_bytes).decode("utf-8", errors="replace"))


@dataclass(frozen=True)
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = JSON_CONTENT_TYPE
    headers: Mapping[str, str] = field(default_factory=dict)
    drop: bool = False

    @classmethod
    def json(cls, payload: Any, status: int = 200) -> Response:
        # Python ints serialize exactly, so 64-bit log_ids keep every digit (as Baidu's JSON numbers do).
        return cls(status=status, body=json.dumps(payload, ensure_ascii=False).encode("utf-8"))
