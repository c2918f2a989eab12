"""Result files (a table job's Excel) fetched only from where Baidu puts them, without redirects, capped.

A ``result_data`` URL is server text: a compromised or misconfigured server could point the worker at an
internal address (SSRF) or at an endless stream. So the download goes only to the connection's own host or
to Baidu's hosts, follows no redirect and stops at a size cap while streaming.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import requests

from baidu_ocr.exceptions import ConfigError, TransientError

BAIDU_DOMAINS = ("baidubce.com", "bcebos.com", "baidu.com")
MAX_DOWNLOAD_BYTES = 50 * 1024 * 1024
_CHUNK = 1024 * 1024


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    port = parts.port or {"http": 80, "https": 443}.get(scheme)
    return scheme, (parts.hostname or "").lower(), port


def download_allowed(url: str, base_url: str) -> bool:
    """The connection's own origin (scheme, host, port), or https on Baidu's domains and their subdomains."""
    scheme, host, port = _origin(url)
    if not host or scheme not in ("http", "https"):
        return False
    if (scheme, host, port) == _origin(base_url):
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
) -> bytes:
    """GET ``url`` (checked by :func:`download_allowed`) with no redirect; at most ``max_bytes`` bytes."""
    if not download_allowed(url, base_url):
        # The URL is server text and may carry a token: name its host only.
        raise ConfigError(
            f"Refusing to download a result file from {urlsplit(url).hostname or 'an invalid URL'!r}: only "
            f"the connection's host and Baidu's hosts ({', '.join(BAIDU_DOMAINS)}) are allowed",
            conn_id=conn_id,
        )
    try:
        with session.get(url, timeout=timeout, allow_redirects=False, stream=True) as response:
            if response.is_redirect or 300 <= response.status_code < 400:
                raise ConfigError(
                    f"The result file answered a redirect (HTTP {response.status_code}): not followed",
                    conn_id=conn_id,
                )
            response.raise_for_status()
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > max_bytes:
                raise _too_big(max_bytes, conn_id)
            chunks, total = [], 0
            for chunk in response.iter_content(_CHUNK):
                total += len(chunk)
                if total > max_bytes:
                    raise _too_big(max_bytes, conn_id)
                chunks.append(chunk)
    except requests.RequestException as exc:
        raise TransientError(
            f"Download of a result file failed: {type(exc).__name__}", conn_id=conn_id
        ) from None
    return b"".join(chunks)


def _too_big(max_bytes: int, conn_id: str | None) -> ConfigError:
    return ConfigError(f"The result file is larger than {max_bytes} bytes: not downloaded", conn_id=conn_id)
