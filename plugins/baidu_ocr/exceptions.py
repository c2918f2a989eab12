"""Every exception the provider raises that a user may catch, in one place.

``BaiduOcrError`` and its subclasses are Baidu's answers (``client/errors.py`` maps codes to them, and a
class decides the retry policy); the rest are the pipeline's own verdicts: a batch, a run, staging, the
warehouse. Every class pickles with its attributes (Celery workers and triggers move exceptions between
processes), and no message ever contains a secret.
"""

from __future__ import annotations

from airflow.exceptions import AirflowException
from airflow.sdk.exceptions import AirflowFailException

# Raised by the pure PII layer (no Airflow imports there), so it is defined there and named here.
from baidu_ocr.pii.sealing import SealedIdNumbersError


class BaiduOcrError(AirflowException):
    """Base class: a Baidu OCR call failed. ``error_class`` is the stable name stored in the warehouse."""

    error_class = "error"
    #: Worth calling again after a backoff (the hook's retry policy reads this, nothing else).
    retryable = False
    #: Concerns one image only: a batch records it for that image and goes on; any other error stops it.
    per_image = False

    def __init__(
        self,
        message: str,
        *,
        code: int | str | None = None,
        endpoint: str | None = None,
        conn_id: str | None = None,
        log_id: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.endpoint = endpoint
        self.conn_id = conn_id
        self.log_id = log_id

    def __reduce__(self):
        kwargs = {
            "code": self.code,
            "endpoint": self.endpoint,
            "conn_id": self.conn_id,
            "log_id": self.log_id,
        }
        return (_rebuild, (type(self), self.message, kwargs))

    def to_dict(self) -> dict[str, str | None]:
        """The error as a staged record, a manifest or a trigger event stores it (strings, JSON-safe)."""
        return {
            "error_class": self.error_class,
            "error_code": None if self.code is None else str(self.code),
            "error_msg": self.message,
            "log_id": self.log_id,
        }

    def __str__(self) -> str:
        parts = []
        if self.conn_id:
            parts.append(f"connection {self.conn_id!r}")
        if self.endpoint:
            parts.append(f"endpoint {self.endpoint!r}")
        if self.code is not None:
            parts.append(f"error_code {self.code}")
        if self.log_id:
            parts.append(f"log_id {self.log_id}")
        where = f" ({', '.join(parts)})" if parts else ""
        return f"{self.message}{where}"


def _rebuild(cls, message, kwargs):
    return cls(message, **kwargs)


class TokenError(BaiduOcrError):
    """The access token is invalid or expired (100, 110, 111): the hook refreshes it once and calls again
    itself, so it is not ``retryable`` by backoff."""

    error_class = "token"


class AuthenticationFailed(BaiduOcrError):
    """The token endpoint refused the API Key / Secret Key: nothing to retry, fix the connection."""

    error_class = "auth"


class RateLimited(BaiduOcrError):
    """QPS or concurrency limit (18, 282006, HTTP 429): back off with jitter and retry."""

    error_class = "rate_limited"
    retryable = True
    per_image = True


class TransientError(BaiduOcrError):
    """Server-side hiccup (1, 2, 4, 282000, HTTP 5xx, timeouts, connection errors): retry with backoff."""

    error_class = "transient"
    retryable = True
    per_image = True


class QuotaExhausted(BaiduOcrError):
    """Daily or total call quota used up (17, 19): stop the batch at once; retrying only burns time."""

    error_class = "quota"


class BudgetExhausted(BaiduOcrError):
    """The run's ``max_billable_calls`` is spent: stop the batch like a quota; the rest waits for a rerun."""

    error_class = "budget"


class ConfigError(BaiduOcrError):
    """Permission or request configuration (3, 6, 14, 216100, 282003, ...): fail the task, name the code."""

    error_class = "config"


class BadImage(BaiduOcrError):
    """This image cannot be recognized (216200-216202, 216630..., 282810): record it, never retry it."""

    error_class = "bad_image"
    per_image = True


class ResultFileError(BaiduOcrError):
    """A finished job's result file (a table's workbook, a parser task's layout JSON) was refused (a host,
    a redirect or a size not allowed), is gone (HTTP 4xx) or is not what it claims: that document fails, the
    batch's other (paid) jobs are still staged. Not final: the next run submits the document again."""

    error_class = "result_file"
    per_image = True


# ---- the pipeline's own verdicts ----


class SubmitStopped(AirflowException):
    """Submitting stopped on an error that concerns every job (permission, credentials, ...); the jobs
    already submitted were waited for and staged first."""


class ParserTasksTimedOut(AirflowException):
    """Baidu had not finished every parser task by the operator's ``timeout``."""


class TableJobsTimedOut(AirflowException):
    """Baidu had not finished every table job by the operator's ``timeout``."""


class S3SourceUnavailable(AirflowFailException):
    """The S3 prefix to OCR cannot be listed: its bucket does not exist, or access is denied. A retry would
    fail the same way, so the task fails at once (``AirflowFailException``: no retry) with the cause."""


class BatchFailureRatioExceeded(AirflowException):
    """Too many images of a batch failed: something is wrong beyond a few bad scans."""


class RunFailed(AirflowException):
    """The run did not do everything it should have; its summary (logged first) says what it did."""


class RunStoppedEarly(RunFailed):
    """A batch stopped sending (``max_billable_calls`` reached, or Baidu's daily quota, error 17): what
    finished is loaded; the images left unsent are OCRed by the next run, which pays only for them."""


class RunHadFailedBatches(RunFailed):
    """Some OCR batches of the run failed; what the others staged was loaded."""


class WarehouseLoadFailed(RunFailed):
    """The load did not finish: staged results are kept for a rerun, which loads them without paying again."""


class ReviewsNotStored(RunFailed):
    """Some reviewers' answers could not be written to the warehouse (each is logged with its document); the
    other answers were stored. Those documents stay ``needs_review``; a retry stores them again."""


__all__ = [
    "AuthenticationFailed",
    "BadImage",
    "BaiduOcrError",
    "BatchFailureRatioExceeded",
    "BudgetExhausted",
    "ConfigError",
    "ParserTasksTimedOut",
    "QuotaExhausted",
    "RateLimited",
    "ReviewsNotStored",
    "ResultFileError",
    "RunFailed",
    "RunHadFailedBatches",
    "RunStoppedEarly",
    "S3SourceUnavailable",
    "SealedIdNumbersError",
    "SubmitStopped",
    "TableJobsTimedOut",
    "TokenError",
    "TransientError",
    "WarehouseLoadFailed",
]
