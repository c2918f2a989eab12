"""The request and response values passed between the HTTP transport and the handlers.

Handlers never touch sockets: they get a parsed :class:`Request` and return a :class:`Response`, so they
can be called directly in tests. ``Response.drop`` asks the transport to close the socket unanswered.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JSON_CONTENT_TYPE = "application/json;charset=utf-8"


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: Mapping[str, str]
    form: Mapping[str, str]
    headers: Mapping[str, str]
    base_url: str  # scheme://host:port for links we hand out: our own address, never the Host header
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body or b"{}")


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
