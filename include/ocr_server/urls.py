"""Path -> handler. Baidu's paths, plus the reserved ``/_admin/`` and ``/_files/`` prefixes."""

from __future__ import annotations

import re
from collections.abc import Callable

from ocr_server.responses import BaiduOcrResponses
from ocr_server.wire import Request, Response

URL_PATHS: list[tuple[str, str]] = [
    (r"^/oauth/2\.0/token$", "token"),
    (r"^/rest/2\.0/(ocr|solution)/v1/.+$", "ocr"),
    (r"^/_files/[\w.-]+\.xlsx$", "table_file"),
    (r"^/_admin/stats$", "admin_stats"),
    (r"^/_admin/config$", "admin_config"),
    (r"^/_admin/reset$", "admin_reset"),
]
_COMPILED = [(re.compile(pattern), name) for pattern, name in URL_PATHS]


class OcrServerApp:
    """Route a :class:`Request` to its handler; anything unknown gets Baidu's JSON error, never a 404 page."""

    def __init__(self, responses: BaiduOcrResponses) -> None:
        self.responses = responses

    def handler_for(self, path: str) -> Callable[[Request], Response]:
        for pattern, name in _COMPILED:
            if pattern.match(path):
                return getattr(self.responses, name)
        return self.responses.not_found

    def handle(self, request: Request) -> Response:
        return self.handler_for(request.path)(request)
