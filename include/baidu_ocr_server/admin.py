"""The ``/_admin/`` control routes: read stats and faults, change faults, reset counters.

A change takes POST with a JSON body only: a cross-site form or ``<img>`` cannot send one, and a ``url=``
image fetch (a GET) cannot reach it. With an admin token set (``--admin-token``) every route, reads
included, needs ``Authorization: Bearer <token>`` or ``X-Admin-Token: <token>``.
"""

from __future__ import annotations

import hmac
import json

from baidu_ocr_server.errors import BaiduError
from baidu_ocr_server.models import OcrBackend
from baidu_ocr_server.wire import SMALL_BODY_BYTES, Request, Response


def _refuse(message: str, status: int) -> Response:
    return Response.json({"error": message}, status)


class AdminRoutes:
    """Handlers of ``/_admin/stats``, ``/_admin/config`` and ``/_admin/reset`` for one backend."""

    def __init__(self, backend: OcrBackend, token: str | None = None) -> None:
        self.backend = backend
        self._token = token.encode() if token else None

    def _authorized(self, request: Request) -> bool:
        if self._token is None:
            return True
        bearer = request.headers.get("authorization") or ""
        offered = bearer[len("bearer ") :] if bearer.lower().startswith("bearer ") else None
        offered = offered or request.headers.get("x-admin-token") or ""
        return hmac.compare_digest(offered.strip().encode(), self._token)

    def _change(self, request: Request) -> tuple[dict | None, Response | None]:
        """The JSON object of a state-changing call, or the refusal to send instead."""
        if not self._authorized(request):
            return None, _refuse("admin token required", 401)
        if request.method != "POST":
            return None, _refuse("use POST with a JSON body", 405)
        if "application/json" not in (request.headers.get("content-type") or "").lower():
            return None, _refuse("Content-Type must be application/json", 415)
        try:
            body = json.loads(request.read_body(SMALL_BODY_BYTES) or b"null")
        except BaiduError:
            return None, _refuse("body too large", 413)
        except (ValueError, UnicodeDecodeError):
            return None, _refuse("body is not JSON", 400)
        if not isinstance(body, dict):
            return None, _refuse("body must be a JSON object", 400)
        return body, None

    def stats(self, request: Request) -> Response:
        if not self._authorized(request):
            return _refuse("admin token required", 401)
        return Response.json(self.backend.stats())

    def config(self, request: Request) -> Response:
        if request.method == "GET":
            return self._read_config(request)
        changes, refusal = self._change(request)
        if refusal is not None:
            return refusal
        if "error_rate" in changes:  # the CLI's repeatable form: ["282000=0.1", "drop=0.01"]
            changes["error_rates"] = changes.pop("error_rate")
        try:
            config = self.backend.configure(**changes)
        except (ValueError, TypeError) as exc:
            return _refuse(str(exc), 400)
        return Response.json(config.as_dict())

    def _read_config(self, request: Request) -> Response:
        if not self._authorized(request):
            return _refuse("admin token required", 401)
        return Response.json(self.backend.faults.as_dict())

    def reset(self, request: Request) -> Response:
        _, refusal = self._change(request)
        if refusal is not None:
            return refusal
        self.backend.reset()
        return Response.json({"reset": True})
