"""Baidu's input checks, with Baidu's codes, applied before any engine sees the image.

Limits default to the strictest documented figures (base64 + url-encoding <= 4 MB, shortest side >= 15 px,
longest side <= 4096 px, jpg/jpeg/png/bmp), so an image this server accepts is accepted by Baidu too.
``url`` inputs are fetched only from loopback hosts: this server must never reach the internet. No redirect
is followed (a 3xx is the URL's answer, and not an image) and no proxy from the environment is used.
"""

from __future__ import annotations

import base64
import binascii
import io
import ipaddress
import urllib.error
import urllib.request
from dataclasses import dataclass
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError

from baidu_ocr_server.errors import BaiduError

ACCEPTED_FORMATS = frozenset({"JPEG", "PNG", "BMP"})
URL_FETCH_TIMEOUT_S = 5.0
MAX_URL_LENGTH = 1024


@dataclass(frozen=True)
class ImageLimits:
    max_encoded_bytes: int = 4 * 1024 * 1024
    min_side: int = 15
    max_side: int = 4096


DEFAULT_LIMITS = ImageLimits()


@dataclass(frozen=True)
class CheckedImage:
    data: bytes
    width: int
    height: int
    format: str


def urlencoded_size(b64: str) -> int:
    """Size of the base64 text once url-encoded: Baidu's limit is on that, and ``+ / =`` triple in size."""
    return len(b64) + 2 * (b64.count("+") + b64.count("/") + b64.count("="))


def decode_base64_image(b64: str, limits: ImageLimits = DEFAULT_LIMITS) -> bytes:
    """216200 empty, 216202 too large (checked before decoding, as Baidu does), 216201 not base64."""
    if not b64:
        raise BaiduError(216200)
    if urlencoded_size(b64) > limits.max_encoded_bytes:
        raise BaiduError(216202)
    try:
        data = base64.b64decode(b64, validate=True)
    except (binascii.Error, ValueError):
        raise BaiduError(216201) from None
    if not data:
        raise BaiduError(216200)
    return data


def check_image(data: bytes, limits: ImageLimits = DEFAULT_LIMITS) -> CheckedImage:
    """216201 when Pillow cannot read it (not an image, truncated, unsupported format); 216202 for sides."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.format not in ACCEPTED_FORMATS:
                raise BaiduError(216201)
            width, height = image.size
            # Sides first: decoding a 40000 px image just to refuse it would be a denial of service.
            if min(width, height) < limits.min_side or max(width, height) > limits.max_side:
                raise BaiduError(216202)
            image.load()  # raises on truncated data
            return CheckedImage(data=data, width=width, height=height, format=image.format)
    except BaiduError:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise BaiduError(216201) from None


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _check_url(url: str) -> None:
    """282111 malformed, 282112 any non-loopback host (Baidu would time out on an unreachable one)."""
    if len(url) > MAX_URL_LENGTH:
        raise BaiduError(282111)
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BaiduError(282111)
    if not _is_loopback(parts.hostname):
        raise BaiduError(282112)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Follow no redirect: urllib then raises the 3xx as an ``HTTPError`` (282113)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102 - urllib's hook
        return None


# No ProxyHandler from the environment: a proxy would fetch what the loopback check refused.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _NoRedirects())


def fetch_url_image(url: str, limits: ImageLimits = DEFAULT_LIMITS) -> bytes:
    """Download an image the way Baidu would, but only from loopback (no internet from this server).

    282111 malformed URL, 282112 unreachable (any non-loopback host), 282113 non-200 answer (a redirect
    too: none is followed), 282114 larger than the image limit (never more than that is read).
    """
    _check_url(url)
    # Baidu's limit is on the base64 size: 3 raw bytes become 4.
    max_raw = limits.max_encoded_bytes * 3 // 4
    try:
        with _OPENER.open(url, timeout=URL_FETCH_TIMEOUT_S) as response:
            if response.status != 200:
                raise BaiduError(282113)
            data = response.read(max_raw + 1)
    except urllib.error.HTTPError:
        raise BaiduError(282113) from None
    except (urllib.error.URLError, TimeoutError, OSError):
        raise BaiduError(282112) from None
    if len(data) > max_raw:
        raise BaiduError(282114)
    if not data:
        raise BaiduError(282113)
    return data
