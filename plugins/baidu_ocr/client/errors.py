"""Baidu error codes -> a small exception hierarchy whose class decides the retry policy.

| class | codes | what the hook does |
|---|---|---|
| ``TokenError`` | 100, 110, 111 | refresh the token once, call again |
| ``RateLimited`` | 18, 140, 282006, HTTP 429 | back off with jitter, retry (``retryable``) |
| ``TransientError`` | 1, 2, 4, 282000, HTTP 5xx, timeouts | back off, retry (``retryable``) |
| ``QuotaExhausted`` | 17, 19 | stop the batch at once; finished images are still staged |
| ``BudgetExhausted`` | (none: the run's ``max_billable_calls``) | the same as a quota |
| ``ConfigError`` / ``AuthenticationFailed`` | 3, 6, 14, 216100 ... | fail the task, code and endpoint named |
| ``BadImage`` | 216200-216202, 216630 ... | recorded for that image, never retried |

Baidu answers most errors inside an HTTP 200 JSON body (``error_code``, ``error_msg``); HTTP statuses,
timeouts and dropped connections are mapped here too, so the hook never decides on bare numbers.
Every class pickles with its attributes (Celery workers and triggers move exceptions between processes),
and no message ever contains a secret: callers pass the endpoint and connection id, never a URL with
``access_token`` in it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from baidu_ocr.client.redact import redact
from baidu_ocr.exceptions import (
    AuthenticationFailed,
    BadImage,
    BaiduOcrError,
    BudgetExhausted,
    ConfigError,
    QuotaExhausted,
    RateLimited,
    TokenError,
    TransientError,
)

TOKEN_CODES = frozenset({100, 110, 111})
RATE_LIMIT_CODES = frozenset({18, 140, 282006})
TRANSIENT_CODES = frozenset({1, 2, 4, 282000, 282005, "SDK108"})
QUOTA_CODES = frozenset({17, 19})
CONFIG_CODES = frozenset({3, 6, 13, 14, 15, 216100, 216101, 216102, 216103, 216110, 282003, 282808, 282809})
# The bad-image codes the client itself answers with, before paying for a call it knows Baidu would refuse.
EMPTY_IMAGE = 216200
NOT_AN_IMAGE = 216201  # also a file Baidu cannot read, or input the endpoint does not take
IMAGE_SIZE_ERROR = 216202
BAD_IMAGE_CODES = frozenset(
    {
        120,
        EMPTY_IMAGE,
        NOT_AN_IMAGE,
        IMAGE_SIZE_ERROR,
        216630,
        216631,
        216633,
        216634,
        282110,
        282111,
        282112,
        282113,
        282114,
        282810,
    }
)

_CLASS_BY_CODE: dict[int | str, type[BaiduOcrError]] = {}
for _codes, _cls in (
    (TOKEN_CODES, TokenError),
    (RATE_LIMIT_CODES, RateLimited),
    (TRANSIENT_CODES, TransientError),
    (QUOTA_CODES, QuotaExhausted),
    (CONFIG_CODES, ConfigError),
    (BAD_IMAGE_CODES, BadImage),
):
    for _code in _codes:
        _CLASS_BY_CODE[_code] = _cls


def normalize_code(code: int | str | None) -> int | str | None:
    """Baidu sends ints; proxies and the SDK sometimes send strings ("18", "SDK108")."""
    if isinstance(code, str) and code.strip().lstrip("-").isdigit():
        return int(code)
    return code


def class_for_code(code: int | str | None) -> type[BaiduOcrError]:
    """The exception class for a Baidu ``error_code``; unknown codes are config errors (fail loudly)."""
    return _CLASS_BY_CODE.get(normalize_code(code), ConfigError)


def class_for_http_status(status: int) -> type[BaiduOcrError] | None:
    """HTTP-level failures: 429 is rate limiting, 5xx transient, other 4xx configuration."""
    if status == 429:
        return RateLimited
    if status >= 500:
        return TransientError
    if status >= 400:
        return ConfigError
    return None


def error_from_response(
    body: dict,
    *,
    endpoint: str | None = None,
    conn_id: str | None = None,
    secrets: Iterable[str | None] = (),
) -> BaiduOcrError | None:
    """Return the typed error a Baidu JSON body carries, or ``None`` for a successful body.

    ``error_msg`` is server text: it is redacted (URL credentials, registered secrets and ``secrets``)
    before it reaches an exception, a staged record, the warehouse or XCom.
    """
    if "error_code" not in body or body.get("error_code") in (0, "0", None):
        return None
    code = normalize_code(body.get("error_code"))
    log_id = body.get("log_id")
    cls = class_for_code(code)
    return cls(
        redact(str(body.get("error_msg") or "Baidu OCR error"), secrets),
        code=code,
        endpoint=endpoint,
        conn_id=conn_id,
        log_id=str(log_id) if log_id is not None else None,
    )


# What Baidu answers a call whose IAM API key it does not accept: 14 (IAM Certification failed), or the
# token family (100/110/111) from gateways that treat the header as a token, as Baidu's IAM API-key notes allow.
IAM_REFUSED_CODES = frozenset({14, *TOKEN_CODES})


def iam_key_refused(error: BaiduOcrError) -> AuthenticationFailed:
    """A call refused for its IAM API key, as an error that names the connection (there is nothing to
    refresh: the key is wrong, revoked, or may not call OCR)."""
    return AuthenticationFailed(
        f"Baidu refused the IAM API key: {error.message}. Check the connection's IAM API key "
        "(bce-v3/ALTAK-..., in the password or the extra 'iam_api_key') and that it may call OCR",
        code=error.code,
        endpoint=error.endpoint,
        conn_id=error.conn_id,
        log_id=error.log_id,
    )


def body_or_error(
    status: int,
    body: Any,
    *,
    endpoint: str,
    conn_id: str,
    secrets: Iterable[str | None],
    iam_key: bool,
) -> dict:
    """The body of one answer, or raise the typed error it stands for: a Baidu error in a JSON body first
    (with an IAM key, a refusal of the key), then the HTTP status; a body that is not a JSON object is transient.

    One copy for the sync hook and the triggerer's async client, so both classify every answer alike."""
    if isinstance(body, dict):
        error = error_from_response(body, endpoint=endpoint, conn_id=conn_id, secrets=secrets)
        if error is not None:
            raise iam_key_refused(error) if iam_key and error.code in IAM_REFUSED_CODES else error
    http_error = class_for_http_status(status)
    if http_error is not None or not isinstance(body, dict):
        raise (http_error or TransientError)(
            f"HTTP {status} from Baidu OCR", endpoint=endpoint, conn_id=conn_id
        )
    return body


# Stops that leave the rest of a batch for the next run (a run summary says "stopped early"), not failures.
PLANNED_STOPS = (QuotaExhausted.error_class, BudgetExhausted.error_class)
