"""Links to result files (``/_files/...``), signed the way Baidu's BOS presigns its result URLs.

Baidu hands out a table job's Excel and a parser task's Markdown/JSON as BOS URLs carrying
``?authorization=bce-auth-v1/...``: whoever holds the link may read the file until it expires, nobody else.
The local server does the same with a key pair of its own, made at start-up (links die with the server, as
its jobs do). No header is signed, so a link works through a proxy that rewrites ``Host``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from urllib.parse import parse_qsl, quote

from baidu_ocr_server import bce


class FileLinks:
    """Sign and check ``/_files/`` links; each is valid ``ttl_s`` seconds by the server clock."""

    def __init__(self, clock: Callable[[], float], ttl_s: float) -> None:
        self.clock = clock
        self.ttl_s = ttl_s
        self._access_key = f"local-files-{secrets.token_hex(8)}"
        self._secret_key = secrets.token_hex(32)

    def url(self, base_url: str, path: str) -> str:
        """``base_url + path`` with its signature in the query, as a presigned BOS URL carries it."""
        authorization = bce.sign(
            bce.SignedRequest("GET", path),
            self._access_key,
            self._secret_key,
            now=self.clock(),
            expiration_s=max(1, int(self.ttl_s)),
            signed_headers=(),
        )
        return f"{base_url}{path}?authorization={quote(authorization, safe='')}"

    def allows(self, method: str, path: str, query_string: str) -> bool:
        """Whether the request carries a valid, unexpired signature of this server for ``path``."""
        authorization = dict(parse_qsl(query_string, keep_blank_values=True)).get("authorization")
        if not authorization:
            return False
        try:
            bce.verify(
                authorization,
                bce.SignedRequest(method, path, query_string),  # signed for GET: a POST is refused
                secret_for=self._secret_for,
                now=self.clock(),
                required_headers=(),
            )
        except bce.SignatureRefused:
            return False
        return True

    def _secret_for(self, access_key: str) -> str | None:
        return self._secret_key if secrets.compare_digest(access_key, self._access_key) else None
