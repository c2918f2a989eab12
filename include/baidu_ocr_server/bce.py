"""BCE request signing v1 (``bce-auth-v1``): check a signed request as Baidu Cloud does, and sign links.

``authorization = bce-auth-v1/{accessKey}/{timestamp}/{expirationSeconds}/{signedHeaders}/{signature}``:
the signing key is ``HexHMAC-SHA256(secretKey, "bce-auth-v1/{accessKey}/{timestamp}/{expirationSeconds}")``
and the signature ``HexHMAC-SHA256(signingKey, CanonicalRequest)``, where the canonical request is
``METHOD\\nURI\\nQUERY\\nHEADERS``: the path URI-encoded with ``/`` kept; every query parameter but
``authorization`` as ``encode(key)=encode(value)``, sorted, joined by ``&``; each signed header as
``encode(lower(name)):encode(trim(value))``, sorted, joined by newlines. ``encode`` keeps only RFC 3986's
unreserved characters. The baidu-aip SDK (``aip/base.py``) signs this way with its API Key / Secret Key,
``Host`` (the host name, no port) and ``x-bce-date`` as signed headers and a 1800 s expiration; it does so
only when the token grant did not answer with ``brain_all_scope`` (e.g. wrong credentials).

Hand-written, not ``bce-python-sdk``'s signer: that signer adds every ``x-bce-*`` header it is given to the
canonical headers whether the client signed it or not, so it cannot recompute what the client listed.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import parse_qsl, quote, unquote

VERSION = "bce-auth-v1"
TIMESTAMP_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
# A signature dated this far in the future is refused too: a client clock may run a little ahead.
MAX_CLOCK_SKEW_S = 300
_HEX_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_DIGITS = re.compile(r"[0-9]{1,10}")


class SignatureRefused(Exception):
    """The ``authorization`` is malformed, expired, for an unknown key, or its signature does not match."""


@dataclass(frozen=True)
class SignedRequest:
    """The parts of an HTTP request that a BCE signature covers."""

    method: str
    path: str  # as sent on the request line (still percent-encoded)
    query_string: str = ""
    headers: Mapping[str, str] | None = None  # looked up by lower-case name


def _encode(text: str, *, keep_slash: bool = False) -> str:
    # quote() always keeps letters, digits and "_.-~": exactly RFC 3986's unreserved set.
    return quote(text, safe="/" if keep_slash else "")


def canonical_request(request: SignedRequest, signed_headers: Sequence[str]) -> str:
    """The text the signature covers; a signed header the request does not carry cannot be signed."""
    uri = _encode(unquote(request.path), keep_slash=True)
    query = sorted(
        f"{_encode(key)}={_encode(value)}"
        for key, value in parse_qsl(request.query_string, keep_blank_values=True)
        if key.lower() != "authorization"
    )
    headers = request.headers or {}
    lines = []
    for name in signed_headers:
        value = headers.get(name)
        if value is None:
            raise SignatureRefused(f"signed header {name!r} not sent")
        lines.append(f"{_encode(name.strip().lower())}:{_encode(value.strip())}")
    return "\n".join([request.method.upper(), uri, "&".join(query), "\n".join(sorted(lines))])


def _signature(secret_key: str, prefix: str, canonical: str) -> str:
    signing_key = hmac.new(secret_key.encode(), prefix.encode(), hashlib.sha256).hexdigest()
    return hmac.new(signing_key.encode(), canonical.encode(), hashlib.sha256).hexdigest()


def sign(
    request: SignedRequest,
    access_key: str,
    secret_key: str,
    *,
    now: float,
    expiration_s: int,
    signed_headers: Sequence[str] = ("host",),
) -> str:
    """The ``authorization`` value for ``request``, valid ``expiration_s`` seconds from ``now``."""
    timestamp = datetime.fromtimestamp(int(now), UTC).strftime(TIMESTAMP_FORMAT)
    prefix = f"{VERSION}/{access_key}/{timestamp}/{int(expiration_s)}"
    names = [name.lower() for name in signed_headers]
    signature = _signature(secret_key, prefix, canonical_request(request, names))
    return f"{prefix}/{';'.join(names)}/{signature}"


def verify(
    authorization: str,
    request: SignedRequest,
    *,
    secret_for: Callable[[str], str | None],
    now: float,
    required_headers: Sequence[str] = ("host",),
) -> str:
    """The access key that signed ``request``; :class:`SignatureRefused` unless the signature holds now.

    ``secret_for`` maps an access key to its secret key (``None``: not a key this server knows).
    ``required_headers`` must be among the signed ones (Baidu requires ``host``).
    """
    parts = authorization.strip().split("/")
    if len(parts) != 6 or parts[0] != VERSION:
        raise SignatureRefused("not a bce-auth-v1 authorization")
    _, access_key, timestamp, expiration, signed, signature = parts
    try:
        signed_at = datetime.strptime(timestamp, TIMESTAMP_FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError:
        raise SignatureRefused("bad timestamp") from None
    if not _DIGITS.fullmatch(expiration) or not _HEX_SIGNATURE.fullmatch(signature):
        raise SignatureRefused("bad expiration or signature")
    if not signed_at - MAX_CLOCK_SKEW_S <= now <= signed_at + int(expiration):
        raise SignatureRefused("signature expired or dated in the future")
    names = [name for name in signed.lower().split(";") if name]
    if not set(required_headers) <= set(names):
        raise SignatureRefused("a required header is not signed")
    secret_key = secret_for(access_key)
    if secret_key is None:
        raise SignatureRefused("unknown access key")
    prefix = f"{VERSION}/{access_key}/{timestamp}/{expiration}"
    expected = _signature(secret_key, prefix, canonical_request(request, names))
    if not hmac.compare_digest(expected, signature):
        raise SignatureRefused("signature does not match")
    return access_key
