"""Keep credentials out of logs, debug prints and messages, whoever prints them.

Baidu takes ``client_secret`` (token endpoint) and ``access_token`` (every OCR call) as URL query
parameters: urllib3 logs every request line at DEBUG and ``http.client`` (``HTTPConnection.debuglevel``)
prints every request it sends. Airflow's secrets masker covers task logs once the values are registered,
but not a scheduler, a trigger or a plain script, and never text a server sends back. So this module
(1) registers every key, secret and token with Airflow's masker AND a process-local list, (2) filters
urllib3's logger and ``http.client``'s debug print (ID numbers in request bodies too) at the source, and (3) offers :func:`redact` for any
message built from a response (a proxy that echoes the request URL must not put a token in the warehouse).
"""

from __future__ import annotations

import builtins
import http.client
import logging
import re
import threading
from collections.abc import Iterable

from baidu_ocr.pii.policy import mask_digit_runs

_SECRET_QUERY = re.compile(r"((?:access_token|client_secret|client_id)=)[^&\s\"'<>]+")
# A Baidu Cloud IAM API key (``bce-v3/ALTAK-<id>/<secret>``) wherever it appears, e.g. an echoed
# ``Authorization: Bearer`` header: the prefix stays, so a reader still sees which kind of key it was.
_IAM_KEY = re.compile(r"(bce-v3/)[A-Za-z0-9+/=_.-]+")
REDACTED = "***"
_LOGGERS = ("urllib3.connectionpool",)
# Values shorter than this are not replaced by value (Airflow's masker has the same floor): "a" would
# blank out every "a" of a message.
_MIN_SECRET_LENGTH = 5

_KNOWN: set[str] = set()
_KNOWN_PATTERN: re.Pattern[str] | None = None
_KNOWN_GUARD = threading.Lock()


def _remember(value: str) -> None:
    global _KNOWN_PATTERN
    if len(value) < _MIN_SECRET_LENGTH or value in _KNOWN:
        return
    with _KNOWN_GUARD:
        _KNOWN.add(value)
        # Longest first, so a secret that contains another is replaced whole.
        alternatives = sorted(_KNOWN, key=len, reverse=True)
        _KNOWN_PATTERN = re.compile("|".join(re.escape(v) for v in alternatives))


def redact(text: str | None, secrets: Iterable[str | None] = ()) -> str | None:
    """``text`` with URL credentials (``access_token``, ``client_secret``, ``client_id`` values), IAM API
    keys (``bce-v3/...``), every secret registered in this process and every value in ``secrets`` replaced
    by ``***``."""
    if not text:
        return text
    text = _SECRET_QUERY.sub(rf"\g<1>{REDACTED}", text)
    text = _IAM_KEY.sub(rf"\g<1>{REDACTED}", text)
    pattern = _KNOWN_PATTERN
    if pattern is not None:
        text = pattern.sub(REDACTED, text)
    for value in sorted((s for s in secrets if s and len(s) >= _MIN_SECRET_LENGTH), key=len, reverse=True):
        text = text.replace(value, REDACTED)
    return text


def redact_url_secrets(text: str) -> str:
    """Replace the values of ``access_token``, ``client_secret`` and ``client_id`` query parameters."""
    return _SECRET_QUERY.sub(rf"\g<1>{REDACTED}", text)


class UrlSecretFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_FILTER = UrlSecretFilter()


def _redacting_print(*args, **kwargs) -> None:
    # http.client looks ``print`` up in its module globals first: this stands in for its debug output.
    texts = (redact(a if isinstance(a, str) else str(a)) for a in args)
    builtins.print(*(mask_digit_runs(t) for t in texts), **kwargs)  # request bodies: a card's fields


def install_url_redaction(*logger_names: str) -> None:
    """Filter urllib3's request logger (and any other named logger) and ``http.client``'s debug print."""
    for name in logger_names or _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
    if getattr(http.client, "print", None) is not _redacting_print:
        http.client.print = _redacting_print  # type: ignore[attr-defined]


def mask_secret(value: str | None) -> None:
    """Register a secret with Airflow's secrets masker (task logs print ``***``) and with :func:`redact`."""
    if not value:
        return
    _remember(value)
    from airflow.sdk.log import mask_secret as airflow_mask_secret

    airflow_mask_secret(value)
