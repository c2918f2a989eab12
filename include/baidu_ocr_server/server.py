"""The HTTP transport: a threaded stdlib server that parses requests and writes handler responses.

Stdlib ``ThreadingHTTPServer`` rather than a WSGI server because the ``drop`` fault needs the raw socket
(close it with no response at all). One thread per connection, HTTP/1.1 keep-alive, a deep listen backlog:
``--latency-ms`` sleeps in the request's own thread and never serializes other clients.

Hostile clients are bounded: a request must arrive whole within ``read_timeout`` of its first byte (and an
idle connection is closed after as long), at most ``max_connections`` handler threads run (beyond them a
connection gets Baidu's error 4 and is closed), and a body needs a valid ``Content-Length`` up to
``max_body_bytes`` (the largest any endpoint takes). The body is not read here: a handler reads it when it
needs it (after authentication, within its endpoint's limit, see ``wire.Body``); what no handler read is
discarded in small chunks, never held. Links handed out use our own address, never ``Host``.
"""

from __future__ import annotations

import contextlib
import io
import ipaddress
import logging
import re
import socket
import threading
import time
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from baidu_ocr_server.admin import AdminRoutes
from baidu_ocr_server.endpoints import MAX_BODY_BYTES
from baidu_ocr_server.errors import BaiduError
from baidu_ocr_server.models import OcrBackend
from baidu_ocr_server.responses import BaiduOcrResponses, render_error
from baidu_ocr_server.urls import OcrServerApp
from baidu_ocr_server.wire import Body, Request, Response, parse_fields

log = logging.getLogger(__name__)
DISCARD_CHUNK = 64 * 1024
DEFAULT_READ_TIMEOUT_S = 30.0
DEFAULT_MAX_CONNECTIONS = 128
_DIGITS = re.compile(r"[0-9]{1,15}")
BUSY_CODE = 4  # "Open api request limit reached": Baidu's own over-capacity answer; clients back off


class _Headers(dict):
    """Case-insensitive read access to request headers, as a plain mapping."""

    def __init__(self, message: Message) -> None:
        super().__init__((key.lower(), value) for key, value in message.items())

    def get(self, key, default=None):  # type: ignore[override]
        return super().get(key.lower(), default)


def serialize(response: Response, *, close: bool = False) -> bytes:
    """A whole HTTP/1.1 response, for the one answer written outside a handler thread (busy)."""
    head = [f"HTTP/1.1 {response.status} OK", f"Content-Type: {response.content_type}"]
    head.append(f"Content-Length: {len(response.body)}")
    head += [f"{name}: {value}" for name, value in response.headers.items()]
    if close:
        head.append("Connection: close")
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body


class _DeadlineReader(io.RawIOBase):
    """Socket reads where a request must arrive whole within ``timeout`` of its first byte.

    A plain socket timeout restarts at every byte, so a client dripping one byte every few seconds would
    hold its thread forever; this one shrinks each read's timeout to what is left of the request's time.
    """

    def __init__(self, sock: socket.socket, timeout: float) -> None:
        self._sock = sock
        self._timeout = timeout
        self._deadline: float | None = None

    def new_request(self) -> None:
        self._deadline = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._deadline is None:
            self._sock.settimeout(self._timeout)  # idle keep-alive, or waiting for the first byte
        else:
            remaining = self._deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("request not received in time")
            self._sock.settimeout(remaining)
        count = self._sock.recv_into(buffer)
        if count and self._deadline is None:
            self._deadline = time.monotonic() + self._timeout
        return count


class BaiduRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "BWS/1.1"
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle + delayed ACK add ~40 ms per call.
    disable_nagle_algorithm = True
    sys_version = ""
    server: OcrHttpServer

    def setup(self) -> None:
        self.timeout = self.server.read_timeout  # also bounds writes to a client that stops reading
        super().setup()
        self.rfile.close()  # the plain makefile() reader, replaced by one with a per-request deadline
        self._reader = _DeadlineReader(self.connection, self.server.read_timeout)
        self.rfile = io.BufferedReader(self._reader)

    def handle_one_request(self) -> None:
        self._reader.new_request()
        super().handle_one_request()  # a TimeoutError from any read closes the connection there

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._dispatch()

    def do_POST(self) -> None:  # noqa: N802
        self._dispatch()

    def _body_length(self) -> int:
        """The declared body size; a refusal for chunked bodies, bad, duplicate or oversized lengths."""
        if self.headers.get("Transfer-Encoding"):
            raise BaiduError(216100, "Transfer-Encoding is not supported: send Content-Length")
        values = {value.strip() for value in self.headers.get_all("Content-Length") or []}
        if not values:
            return 0
        value = values.pop()
        if values or not _DIGITS.fullmatch(value):
            raise BaiduError(216100, "invalid Content-Length")
        if int(value) > self.server.max_body_bytes:
            raise BaiduError(216202, "request body too large")
        return int(value)

    def _dispatch(self) -> None:
        parts = urlsplit(self.path)
        try:
            length = self._body_length()
            query = parse_fields(parts.query)
        except BaiduError as error:
            self._write(render_error(error), close=True)  # where this body ends is unknown: hang up
            return
        body = Body(length, self._read_exactly)
        request = Request(
            method=self.command,
            path=parts.path,
            query=query,
            headers=_Headers(self.headers),
            base_url=self.server.public_url,
            query_string=parts.query,
            body=body,
        )
        try:
            response = self.server.app.handle(request)
        except Exception:  # a bug must still answer like a server, not hang the client
            log.exception("unhandled error for %s", parts.path)
            response = render_error(BaiduError(282000))
        if response.drop:
            self._drop_connection()
            return
        if body.truncated or not self._discard_unread(body):  # the client hung up mid-body
            self.close_connection = True
            return
        self.connection.settimeout(self.server.read_timeout)  # the read deadline must not cut the answer
        self._write(response)

    def _read_exactly(self, length: int) -> bytes:
        return self.rfile.read(length)

    def _discard_unread(self, body: Body) -> bool:
        """Read and drop a body no handler asked for, chunk by chunk; False if the client hung up."""
        if body.consumed:
            return True
        body.consumed = True
        left = body.length
        try:
            while left:
                chunk = self.rfile.read(min(left, DISCARD_CHUNK))
                if not chunk:
                    return False
                left -= len(chunk)
        except OSError:  # TimeoutError included: the request's read deadline passed
            return False
        return True

    def _write(self, response: Response, *, close: bool = False) -> None:
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")  # also sets close_connection
        self.end_headers()
        self.wfile.write(response.body)

    def _drop_connection(self) -> None:
        """Close the socket with no status line at all: the client sees a connection error."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - stdlib signature
        # Never log the query string: it carries access tokens and client secrets. Both are unset when a
        # connection timed out before its request line.
        path = urlsplit(getattr(self, "path", "") or "").path
        log.debug("%s %s", getattr(self, "command", None) or "-", path)


def _url_of(host: str, port: int) -> str:
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).version == 6:
            host = f"[{host}]"
    return f"http://{host}:{port}"


class OcrHttpServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        backend: OcrBackend,
        *,
        read_timeout: float = DEFAULT_READ_TIMEOUT_S,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        max_body_bytes: int = MAX_BODY_BYTES,
        admin_token: str | None = None,
        public_url: str | None = None,
    ) -> None:
        if read_timeout <= 0 or max_connections < 1 or max_body_bytes < 0:
            raise ValueError("read_timeout and max_connections must be positive")
        self.backend = backend
        self.read_timeout = read_timeout
        self.max_connections = max_connections
        self.max_body_bytes = max_body_bytes
        self._slots = threading.BoundedSemaphore(max_connections)
        self._active = 0
        self._active_lock = threading.Lock()
        self.app = OcrServerApp(BaiduOcrResponses(backend), AdminRoutes(backend, admin_token))
        super().__init__(address, BaiduRequestHandler)
        self.public_url = (public_url or self.url).rstrip("/")

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return _url_of(host, port)

    @property
    def active_connections(self) -> int:
        """Connections with a handler thread right now (at most ``max_connections``)."""
        with self._active_lock:
            return self._active

    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            self._refuse_busy(request)
            return
        with self._active_lock:
            self._active += 1
        try:
            super().process_request(request, client_address)  # starts the handler thread
        except BaseException:
            self._release_slot()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._release_slot()

    def _release_slot(self) -> None:
        with self._active_lock:
            self._active -= 1
        self._slots.release()

    def _refuse_busy(self, request: socket.socket) -> None:
        """Answer error 4 from the accept loop, without a thread; a short timeout so it cannot stall."""
        try:
            request.settimeout(1.0)
            request.sendall(serialize(render_error(BaiduError(BUSY_CODE)), close=True))
            request.setblocking(False)
            with contextlib.suppress(OSError):  # read what was sent so close() does not reset the answer
                while request.recv(65536):
                    pass
        except OSError:
            pass
        finally:
            self.shutdown_request(request)

    def server_close(self) -> None:
        super().server_close()
        self.backend.close()
