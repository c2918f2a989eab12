"""ID numbers kept out of the S3 client's debug logs.

A scan may be named after its holder's ID number (``scans/110101199003071234_front.png``). The provider's own
log lines show keys masked; at DEBUG, botocore and urllib3 log every request with its key (the URL, the
signed canonical request, the endpoint parameters, response bodies that list keys). A filter on those
loggers masks every ID-number-shaped run in a record before any handler sees it, whoever set the level, as
``client.redact`` does for credentials on urllib3. Filters run only for records that pass the level check:
nothing is done at INFO.
"""

from __future__ import annotations

import importlib
import logging

from baidu_ocr.pii.policy import mask_digit_runs, mask_id_numbers_in_text

# The libraries whose loggers carry S3 keys, and the modules that create them (imported first, so their
# loggers exist when the filter is installed).
_LIBRARIES = ("botocore", "boto3", "s3transfer", "urllib3")
_LOGGING_MODULES = (
    "botocore.auth",
    "botocore.endpoint",
    "botocore.hooks",
    "botocore.parsers",
    "botocore.regions",
    "botocore.retryhandler",
    "botocore.utils",
    "urllib3.connectionpool",
)


class IdNumberLogFilter(logging.Filter):
    """Mask ID numbers in a record's message (formatted once, then kept as the record's text)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a record that cannot be formatted is left to the handler
            return True
        masked = mask_digit_runs(mask_id_numbers_in_text(message) or message)
        if masked != message:
            record.msg, record.args = masked, None
        return True


_FILTER = IdNumberLogFilter()


def install_id_number_log_filter() -> None:
    """Put the filter on every logger of the S3 client's libraries, and mask ``http.client``'s debug print
    (``client.redact``: it masks ID-number runs too), before the first S3 request (idempotent; cheap)."""
    from baidu_ocr.client.redact import install_url_redaction

    install_url_redaction()
    for module in _LOGGING_MODULES:
        try:
            importlib.import_module(module)
        except ImportError:  # pragma: no cover - an optional part of a library
            continue
    names = [name for name in list(logging.root.manager.loggerDict) if name.split(".")[0] in _LIBRARIES]
    for name in {*names, *_LIBRARIES}:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
