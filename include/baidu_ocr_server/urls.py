"""Path -> handler. Baidu's paths, plus the reserved ``/_admin/`` and ``/_files/`` prefixes."""

from __future__ import annotations

import re
from collections.abc import Callable

from baidu_ocr_server.admin import AdminRoutes
from baidu_ocr_server.responses import BaiduOcrResponses
from baidu_ocr_server.wire import Request, Response

# (pattern, handler group, handler name): "baidu" is BaiduOcrResponses, "admin" is AdminRoutes.
URL_PATHS: list[tuple[str, str, str]] = [
    (r"^/oauth/2\.0/token$", "baidu", "token"),
    (r"^/rest/2\.0/(ocr|solution)/v1/.+$", "baidu", "ocr"),
    (r"^/rest/2\.0/brain/online/v2/.+$", "baidu", "ocr"),
    (r"^/_files/[\w.-]+\.xlsx$", "baidu", "table_file"),
    (r"^/_files/task-[\w-]+\.(md|json)$", "baidu", "parser_file"),
    (r"^/_admin/stats$", "admin", "stats"),
    (r"^/_admin/config$", "admin", "config"),
    (r"^/_admin/reset$", "admin", "reset"),
]
_COMPILED = [(re.compile(pattern), group, name) for pattern, group, name in URL_PATHS]


class OcrServerApp:
    """Route a :class:`Request` to its handler; anything unknown gets Baidu's JSON error, never a 404 page."""

    def __init__(self, responses: BaiduOcrResponses, admin: AdminRoutes) -> None:
        self.responses = responses
        self._groups = {"baidu": responses, "admin": admin}

    def handler_for(self, path: str) -> Callable[[Request], Response]:
        for pattern, group, name in _COMPILED:
            if pattern.match(path):
                return getattr(self._groups[group], name)
        return self.responses.not_found

    def handle(self, request: Request) -> Response:
        return self.handler_for(request.path)(request)
