"""Result files (a table job's Excel, a parser task's Markdown and layout) fetched only from where Baidu puts
them, without redirects, capped in size and in time, and read only when they are what they claim.

A result URL is server text: a compromised or misconfigured server could point the worker at an internal
address (SSRF), at an endless stream or at a trickle. So the download goes only to the connection's own
origin or to Baidu's hosts over https, judged on the host the HTTP client will connect to (urllib3's
``parse_url``, which requests uses), with no ``\\``, ``@``, ``%`` or whitespace in the authority for two
URL parsers to read differently. It follows no redirect, stops at a size cap while streaming and at a total
deadline: a per-read timeout alone lets a server sending a byte a second hold the worker for ever.

A file refused, gone or unreadable is a :class:`~baidu_ocr.exceptions.ResultFileError`: that document's
failure, not the batch's.
"""

from __future__ import annotations

import contextlib
import json
import re
import socket
import threading
from typing import Any
from urllib.parse import urlsplit

import requests
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

from baidu_ocr.exceptions import ResultFileError, TransientError

BAIDU_DOMAINS = ("baidubce.com", "bcebos.com", "baidu.com")
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
DOWNLOAD_DEADLINE_S = 300.0  # a whole file, headers to last byte: 50 MB at a slow 200 kB/s
_CHUNK = 1024 * 1024
_DEFAULT_PORTS = {"http": 80, "https": 443}
_UNSAFE_ANYWHERE = re.compile(r"[\s\x00-\x1f\x7f]")  # requests would strip or quote them: refuse instead
_UNSAFE_IN_AUTHORITY = re.compile(r"[\\@%]")


def _authority(url: str) -> str:
    """Everything between ``//`` and the first ``/``, ``?`` or ``#``: what any parser may take as the host."""
    _, slashes, rest = url.partition("//")
    return re.split(r"[/?#]", rest, maxsplit=1)[0] if slashes else ""


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """``(scheme, host, port)`` the HTTP client connects to (urllib3 parses for requests); None if invalid."""
    try:
        parts = parse_url(url)
    except LocationParseError:
        return None
    scheme = (parts.scheme or "").lower()
    return scheme, (parts.host or "").lower(), parts.port or _DEFAULT_PORTS.get(scheme)


def _parsers_agree(url: str, host: str) -> bool:
    """The standard library reads the same host: nothing for a check elsewhere to read differently."""
    try:
        return (urlsplit(url).hostname or "").lower() == host
    except ValueError:
        return False


def download_allowed(url: str, base_url: str) -> bool:
    """The connection's own origin (scheme, host, port), or https on Baidu's domains and their subdomains,
    as the HTTP client will read ``url``; never with a ``\\``, ``@``, ``%`` or whitespace in its authority."""
    if _UNSAFE_ANYWHERE.search(url) or _UNSAFE_IN_AUTHORITY.search(_authority(url)):
        return False
    origin = _origin(url)
    if origin is None:
        return False
    scheme, host, _ = origin
    if not host or scheme not in _DEFAULT_PORTS or not _parsers_agree(url, host):
        return False
    if origin == _origin(base_url):
        return True
    return scheme == "https" and any(host == d or host.endswith("." + d) for d in BAIDU_DOMAINS)


def fetch_result_file(
    session: requests.Session,
    url: str,
    *,
    base_url: str,
    timeout: tuple[float, float],
    conn_id: str | None = None,
    max_bytes: int = MAX_DOWNLOAD_BYTES,
    deadline: float = DOWNLOAD_DEADLINE_S,
) -> bytes:
    """GET ``url`` (checked by :func:`download_allowed`) with no redirect; at most ``max_bytes`` bytes, all
    of them within ``deadline`` seconds (``timeout``, connect and per read, still applies).

    :raises ResultFileError: refused, redirected, too big, or HTTP 4xx (the file is not there).
    :raises TransientError: HTTP 5xx, a network error, or the deadline passed (the fetch is cut off).
    """
    if not download_allowed(url, base_url):
        # The URL is server text and may carry a token: name its host only.
        origin = _origin(url)
        raise ResultFileError(
            f"Refusing to download a result file from {origin[1] if origin else 'an invalid URL'!r}: only "
            f"the connection's host and Baidu's hosts ({', '.join(BAIDU_DOMAINS)}) are allowed, with no "
            "'\\', '@', '%' or whitespace in the host part",
            conn_id=conn_id,
        )
    download = _Download(session, url, timeout, max_bytes, conn_id)
    worker = threading.Thread(target=download.run, name="baidu-ocr-result-file", daemon=True)
    worker.start()
    worker.join(deadline)
    if worker.is_alive():
        download.abort()
        raise TransientError(
            f"Download of a result file passed its deadline of {deadline:g} s: cut off", conn_id=conn_id
        )
    return download.result()


class _Download:
    """One GET in a worker thread, so that the caller stops waiting at the deadline. Once the answer's
    headers are in, ``abort`` shuts its socket and the worker ends at once; before that (headers sent a byte
    at a time) the worker is left to its per-read timeout or the server's end."""

    def __init__(
        self,
        session: requests.Session,
        url: str,
        timeout: tuple[float, float],
        max_bytes: int,
        conn_id: str | None,
    ) -> None:
        self.session, self.url, self.timeout = session, url, timeout
        self.max_bytes, self.conn_id = max_bytes, conn_id
        self.response: requests.Response | None = None
        self.aborted = threading.Event()
        self.data = b""
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.data = self._get()
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread by result()
            self.error = exc

    def result(self) -> bytes:
        if self.error is not None:
            raise self.error
        return self.data

    def abort(self) -> None:
        """Cut the answer off: shut its socket (a blocked read returns at once)."""
        self.aborted.set()
        raw = getattr(self.response, "raw", None)
        sock = getattr(getattr(raw, "connection", None), "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                socket.socket.shutdown(sock, socket.SHUT_RDWR)  # the plain socket's: TLS state is moot now

    def _get(self) -> bytes:
        conn_id = self.conn_id
        try:
            with self.session.get(
                self.url, timeout=self.timeout, allow_redirects=False, stream=True
            ) as response:
                self.response = response
                if self.aborted.is_set():
                    raise TransientError("Download of a result file cut off", conn_id=conn_id)
                if response.is_redirect or 300 <= response.status_code < 400:
                    raise ResultFileError(
                        f"The result file answered a redirect (HTTP {response.status_code}): not followed",
                        conn_id=conn_id,
                    )
                if response.status_code >= 400:
                    error = ResultFileError if response.status_code < 500 else TransientError
                    raise error(
                        f"The result file answered HTTP {response.status_code}: not downloaded",
                        conn_id=conn_id,
                    )
                declared = response.headers.get("Content-Length")
                if declared and declared.isdigit() and int(declared) > self.max_bytes:
                    raise _too_big(self.max_bytes, conn_id)
                chunks, total = [], 0
                for chunk in response.iter_content(_CHUNK):
                    total += len(chunk)
                    if total > self.max_bytes:
                        raise _too_big(self.max_bytes, conn_id)
                    chunks.append(chunk)
        except requests.RequestException as exc:
            raise TransientError(
                f"Download of a result file failed: {type(exc).__name__}", conn_id=conn_id
            ) from None
        return b"".join(chunks)


def _too_big(max_bytes: int, conn_id: str | None) -> ResultFileError:
    return ResultFileError(
        f"The result file is larger than {max_bytes} bytes: not downloaded", conn_id=conn_id
    )


def json_result_file(data: bytes, what: str) -> dict[str, Any]:
    """The object a JSON result file holds; an error page, a truncated file or another JSON value is that
    document's :class:`~baidu_ocr.exceptions.ResultFileError` (its text is server content: not quoted)."""
    try:
        value = json.loads(data)
    except ValueError:  # UnicodeDecodeError and JSONDecodeError both are
        raise ResultFileError(f"The {what} file is not JSON ({len(data)} bytes): not read") from None
    if not isinstance(value, dict):
        raise ResultFileError(f"The {what} file is JSON but not an object ({type(value).__name__}): not read")
    return value
