"""Keep credentials that Baidu requires in URLs out of HTTP client debug logs.

Baidu takes ``client_secret`` (token endpoint) and ``access_token`` (every OCR call) as URL query
parameters, and urllib3 logs every request line at DEBUG. Airflow's secrets masker covers task logs once
the values are registered, but not a scheduler, a trigger or a plain script: this filter redacts the
values at the source, whatever handler prints them.
"""

from __future__ import annotations

import logging
import re

_SECRET_QUERY = re.compile(r"((?:access_token|client_secret|client_id)=)[^&\s\"']+")
REDACTED = "***"
_LOGGERS = ("urllib3.connectionpool",)


def redact_url_secrets(text: str) -> str:
    """Replace the values of ``access_token``, ``client_secret`` and ``client_id`` query parameters."""
    return _SECRET_QUERY.sub(rf"\g<1>{REDACTED}", text)


class UrlSecretFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_url_secrets(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


_FILTER = UrlSecretFilter()


def install_url_redaction(*logger_names: str) -> None:
    """Attach the filter once to urllib3's request logger (and any other named logger)."""
    for name in logger_names or _LOGGERS:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)


def mask_secret(value: str | None) -> None:
    """Register a secret with Airflow's secrets masker, so task logs print ``***`` in its place."""
    if not value:
        return
    from airflow.sdk.log import mask_secret as airflow_mask_secret

    airflow_mask_secret(value)
