"""The HTTP transport: a threaded stdlib server that parses requests and writes handler responses.

Stdlib ``ThreadingHTTPServer`` rather than a WSGI server because the ``drop`` fault needs the raw socket
(close it with no response at all). One thread per connection, HTTP/1.1 keep-alive, a deep listen backlog:
``--latency-ms`` sleeps in the request's own thread and never serializes other clients.
"""

from __future__ import annotations

import contextlib
import logging
import socket
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from ocr_server.models import OcrBackend
from ocr_server.responses import BaiduOcrResponses
from ocr_server.urls import OcrServerApp
from ocr_server.wire import Request, Response

log = logging.getLogger(__name__)
MAX_BODY_BYTES = 64 * 1024 * 1024


class _Headers(dict):
    """Case-insensitive read access to request headers, as a plain mapping."""

    def __init__(self, message: Message) -> None:
        super().__init__((key.lower(), value) for key, value in message.items())

    def get(self, key, default=None):  # type: ignore[override]
        return super().get(key.lower(), default)


def _first_values(text: str) -> dict[str, str]:
    values: dict[str, str] = {}
    for key, value in parse_qsl(text, keep_blank_values=True):
        values.setdefault(key, value)
    return values


class BaiduRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BWS/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms per call.
    disable_nagle_algorithm = True
    sys_version = ""
    server: OcrHttpServer

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        content_type = (self.headers.get("Content-Type") or "").lower()
        form = (
            _first_values(body.decode("utf-8", errors="replace"))
            if "x-www-form-urlencoded" in content_type
            else {}
        )
        request = Request(
            method=self.command,
            path=parts.path,
            query=_first_values(parts.query),
            form=form,
            headers=_Headers(self.headers),
            base_url=f"http://{self.headers.get('Host') or self.server.url.removeprefix('http://')}",
            body=body,
        )
        try:
            response = self.server.app.handle(request)
        except Exception:  # a bug must still answer like a server, not hang the client
            log.exception("unhandled error for %s", parts.path)
            response = Response.json({"error_code": 282000, "error_msg": "internal error"})
        if response.drop:
            self._drop_connection()
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(response.body)

    def _drop_connection(self) -> None:
        """Close the socket with no status line at all: the client sees a connection error."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        # Never log the query string: it carries access tokens and client secrets.
        log.debug("%s %s", self.command, urlsplit(self.path).path)


class OcrHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], backend: OcrBackend) -> None:
        self.backend = backend
        self.app = OcrServerApp(BaiduOcrResponses(backend))
        super().__init__(address, BaiduRequestHandler)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def server_close(self) -> None:
        super().server_close()
        self.backend.close()
