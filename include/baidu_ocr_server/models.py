"""The server's state, moto-style: credentials, tokens, QPS windows, quota, async jobs and counters.

Plain Python, thread-safe (one lock), no HTTP. Refusals are raised as :class:`BaiduError` values and
rendered into Baidu's JSON in one place (``responses.render_error``). Time comes from an injectable
``clock`` so tests can expire tokens, signatures and results and finish table jobs without sleeping.
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from baidu_ocr_server import bce
from baidu_ocr_server.engines.base import Engine, Table
from baidu_ocr_server.errors import BaiduError, OAuthError
from baidu_ocr_server.faults import FaultConfig, FaultDice
from baidu_ocr_server.jobs import DEFAULT_RESULT_TTL_S, JobStore
from baidu_ocr_server.links import FileLinks
from baidu_ocr_server.parser import ParserTasks

OAUTH_SCOPE = (
    "public brain_all_scope vis-ocr_ocr brain_ocr_scope brain_ocr_general brain_ocr_general_basic "
    "brain_ocr_accurate brain_ocr_idcard brain_ocr_form wise_adapt lebo_resource_base lightservice_public"
)
BEIJING = timezone(timedelta(hours=8))  # Baidu's daily quota resets at midnight Beijing time


# Baidu Cloud IAM API keys look like ``bce-v3/ALTAK-<id>/<secret>``; this one is the local server's default.
DEFAULT_IAM_API_KEY = "bce-v3/ALTAK-localtestkey0000000000/0123456789abcdef0123456789abcdef01234567"
BEARER = "bearer "


@dataclass(frozen=True)
class Credentials:
    api_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    app_id: str = "10000000"
    #: IAM API keys accepted as ``Authorization: Bearer <key>`` instead of an access token.
    iam_api_keys: tuple[str, ...] = field(default=(DEFAULT_IAM_API_KEY,), repr=False)


@dataclass(frozen=True)
class JobStatus:
    """What ``get_request_result`` reports: ret_code 1 not started, 2 running, 3 done."""

    ret_code: int
    percent: int
    tables: list[Table] | None = None
    error: BaseException | None = None


@dataclass
class _EndpointCounters:
    calls: int = 0
    accepted: int = 0  # passed authentication, quota and the QPS window
    rejected: int = 0  # refused at admission (110/111/14/17/18)
    ok: int = 0
    failed: int = 0  # errors after admission, injected ones included

    def as_dict(self) -> dict[str, int]:
        return dict(vars(self))


class OcrBackend:
    """One Baidu account as the server sees it. Every public method is safe to call from many threads."""

    def __init__(
        self,
        engine: Engine,
        credentials: Credentials,
        faults: FaultConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
        result_ttl_s: float = DEFAULT_RESULT_TTL_S,
    ) -> None:
        """``result_ttl_s``: how long a finished table job or parser task (and its file links) is kept."""
        self.engine = engine
        self.credentials = credentials
        self.clock = clock
        self._sleep = sleep
        self._lock = threading.Lock()
        self._startup_faults = faults or FaultConfig()
        self._faults = self._startup_faults
        self._dice = FaultDice(self._faults.error_rates, self._faults.seed)
        self._tokens: dict[
            str, float
        ] = {}  # token -> issued at (its TTL is read at use: --token-ttl applies)
        self.table_jobs: JobStore[list[Table]] = JobStore(
            clock=clock, id_prefix=f"{credentials.app_id}_", thread_name="table-job", ttl_s=result_ttl_s
        )
        self.parser_tasks = ParserTasks(
            engine, clock=clock, seconds=lambda: self._faults.parser_task_seconds, ttl_s=result_ttl_s
        )
        self.file_links = FileLinks(clock, result_ttl_s)
        self._reset_counters()

    # -- configuration ----------------------------------------------------------------------------------
    @property
    def faults(self) -> FaultConfig:
        return self._faults

    def configure(self, **changes: Any) -> FaultConfig:
        """Change fault options at run time; a new ``seed`` or ``error_rates`` re-seeds the dice."""
        with self._lock:
            self._faults = self._faults.updated(**changes)
            if {"seed", "error_rates"} & set(changes):
                self._dice = FaultDice(self._faults.error_rates, self._faults.seed)
            return self._faults

    def reset(self) -> None:
        """Back to the start-up faults with fresh counters, QPS windows and quota; tokens stay valid."""
        with self._lock:
            self._faults = self._startup_faults
            self._dice = FaultDice(self._faults.error_rates, self._faults.seed)
            self._reset_counters()

    def _reset_counters(self) -> None:
        self._endpoints: dict[str, _EndpointCounters] = defaultdict(_EndpointCounters)
        self._errors: Counter[str] = Counter()
        self._images: Counter[str] = Counter()
        self._windows: dict[str, deque[float]] = defaultdict(deque)
        self._tokens_issued = 0
        self._token_failures = 0
        self._billable = 0
        self._quota_day: str | None = None
        self._quota_used = 0
        self._in_flight = 0
        self._max_in_flight = 0
        self._latencies_ms: list[float] = []
        self._table_jobs = 0
        self._per_second: dict[str, Counter[int]] = defaultdict(Counter)

    # -- tokens -----------------------------------------------------------------------------------------
    def issue_token(self, grant_type: str | None, client_id: str | None, client_secret: str | None) -> dict:
        """The client-credentials grant, with Baidu's body on success and its OAuth errors on failure."""
        if grant_type != "client_credentials":
            self._count_token_failure()
            raise OAuthError("unsupported_grant_type", "The authorization grant type is not supported", 400)
        if not client_id or not secrets.compare_digest(client_id, self.credentials.api_key):
            self._count_token_failure()
            raise OAuthError("invalid_client", "unknown client id")
        if not client_secret or not secrets.compare_digest(client_secret, self.credentials.secret_key):
            self._count_token_failure()
            raise OAuthError("invalid_client", "Client authentication failed")
        now = self.clock()
        with self._lock:
            ttl = int(self._faults.token_ttl)
            token = f"24.{secrets.token_hex(16)}.{ttl}.{int(now)}.{secrets.randbelow(10**6)}-{self.credentials.app_id}"
            self._tokens[token] = now
            self._tokens_issued += 1
        return {
            "refresh_token": f"25.{secrets.token_hex(16)}.315360000.{int(now)}.{secrets.randbelow(10**6)}",
            "expires_in": ttl,
            "session_key": secrets.token_urlsafe(24),
            "access_token": token,
            "scope": OAUTH_SCOPE,
            "session_secret": secrets.token_hex(16),
        }

    def _count_token_failure(self) -> None:
        with self._lock:
            self._token_failures += 1

    def authenticate(
        self,
        access_token: str | None,
        authorization: str | None,
        signed: bce.SignedRequest | None = None,
    ) -> None:
        """Token auth (110 unknown, 111 expired); without a token, an IAM API key as ``Authorization: Bearer
        bce-v3/...`` (14 for a key this account does not have) or a BCE-signed request (``signed``: the parts
        the signature covers), 14 unless it is signed with this account's API Key / Secret Key and unexpired.
        """
        if access_token:
            with self._lock:
                issued_at = self._tokens.get(access_token)
                ttl = self._faults.token_ttl
            if issued_at is None:
                raise BaiduError(110)
            if self.clock() >= issued_at + ttl:
                raise BaiduError(111)
            return
        if authorization and authorization[: len(BEARER)].lower() == BEARER:
            key = authorization[len(BEARER) :].strip()
            # Compare against every key (no early exit): the time taken says nothing about which matched.
            matches = [
                secrets.compare_digest(key.encode(), k.encode()) for k in self.credentials.iam_api_keys
            ]
            if not any(matches):
                raise BaiduError(14)
            return
        if authorization and authorization.lower().startswith("bce-auth-v1/"):
            if signed is None:
                raise BaiduError(14)
            try:
                bce.verify(authorization, signed, secret_for=self._secret_for, now=self.clock())
            except bce.SignatureRefused:
                raise BaiduError(14) from None
            return
        raise BaiduError(110)

    def _secret_for(self, access_key: str) -> str | None:
        """The Secret Key of a BCE access key this account has (its API Key), else ``None``."""
        if secrets.compare_digest(access_key.encode(), self.credentials.api_key.encode()):
            return self.credentials.secret_key
        return None

    # -- admission: quota and QPS -----------------------------------------------------------------------
    def count_call(self, endpoint: str) -> None:
        """Count a call on arrival, refused or not, also per whole second (what Baidu's QPS meter sees)."""
        second = int(self.clock())
        with self._lock:
            self._endpoints[endpoint].calls += 1
            self._per_second[endpoint][second] += 1

    def admit(self, endpoint: str, *, billable: bool) -> None:
        """Reserve one unit of daily quota (billable calls) and a slot in the endpoint's QPS window.

        Refused calls take neither: a client hammering over the limit must not lock itself out longer.
        """
        now = self.clock()
        with self._lock:
            faults = self._faults
            if billable and faults.daily_quota is not None:
                self._roll_quota_day(now)
                if self._quota_used >= faults.daily_quota:
                    raise BaiduError(17)
            if faults.qps is not None:
                window = self._windows[endpoint]
                while window and window[0] <= now - 1.0:
                    window.popleft()
                if len(window) >= faults.qps:
                    raise BaiduError(18)
                window.append(now)
            if billable and faults.daily_quota is not None:
                self._quota_used += 1
            self._endpoints[endpoint].accepted += 1

    def _roll_quota_day(self, now: float) -> None:
        day = datetime.fromtimestamp(now, BEIJING).date().isoformat()
        if day != self._quota_day:
            self._quota_day, self._quota_used = day, 0

    def record_rejected(self, endpoint: str, code: int | str) -> None:
        with self._lock:
            self._endpoints[endpoint].rejected += 1
            self._errors[str(code)] += 1

    def record_outcome(self, endpoint: str, *, billable: bool, error: int | str | None = None) -> None:
        """Close an admitted call: billable successes count; failures give back their quota unit."""
        with self._lock:
            counters = self._endpoints[endpoint]
            if error is None:
                counters.ok += 1
                if billable:
                    self._billable += 1
                return
            counters.failed += 1
            self._errors[str(error)] += 1
            if billable and self._faults.daily_quota is not None and self._quota_used > 0:
                self._quota_used -= 1

    def record_error(self, code: int | str) -> None:
        """An error outside any endpoint's admission (unknown path, unsupported endpoint, token auth)."""
        with self._lock:
            self._errors[str(code)] += 1

    # -- faults -----------------------------------------------------------------------------------------
    def roll_fault(self) -> str | None:
        with self._lock:
            dice = self._dice
        return dice.roll()

    def apply_latency(self) -> None:
        """Sleep ``latency_ms`` and record how long the sleep really took (tests assert on this)."""
        delay_ms = self._faults.latency_ms
        if delay_ms <= 0:
            return
        started = time.monotonic()
        self._sleep(delay_ms / 1000.0)
        slept_ms = (time.monotonic() - started) * 1000.0
        with self._lock:
            self._latencies_ms.append(slept_ms)

    @contextmanager
    def in_flight(self) -> Iterator[None]:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            yield
        finally:
            with self._lock:
                self._in_flight -= 1

    def record_image(self, image: bytes) -> str:
        digest = hashlib.sha256(image).hexdigest()
        with self._lock:
            self._images[digest] += 1
        return digest

    # -- async table jobs -------------------------------------------------------------------------------
    def submit_table_job(self, image: bytes) -> str:
        """Start ``engine.recognize_tables`` in the background; the job reports done after
        ``table_job_seconds`` (by the clock) AND when the engine has finished."""
        job = self.table_jobs.submit(
            lambda: self.engine.recognize_tables(image), duration=self._faults.table_job_seconds
        )
        with self._lock:
            self._table_jobs += 1
        return job.job_id

    def wait_for_table_job(self, request_id: str) -> None:
        """Block until the engine finished (``is_sync=true``); the job then reports done at once."""
        self.table_jobs.get(request_id).duration = 0.0
        self.table_jobs.wait(request_id)

    def table_job(self, request_id: str) -> JobStatus:
        job = self.table_jobs.get(request_id)
        elapsed = self.clock() - job.submitted_at
        if job.duration > 0 and elapsed < job.duration:
            fraction = max(0.0, elapsed / job.duration)
            return JobStatus(ret_code=1 if fraction < 0.1 else 2, percent=min(99, int(fraction * 100)))
        if not job.future.done():
            return JobStatus(ret_code=2, percent=99)
        error = job.future.exception()
        if error is not None:
            return JobStatus(ret_code=3, percent=100, error=error)
        return JobStatus(ret_code=3, percent=100, tables=job.future.result())

    def close(self) -> None:
        self.table_jobs.close()
        self.parser_tasks.close()

    # -- read-back --------------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """JSON-ready counters; served by ``GET /_admin/stats``."""
        with self._lock:
            latencies = list(self._latencies_ms)
            return {
                "endpoints": {name: counters.as_dict() for name, counters in sorted(self._endpoints.items())},
                "tokens_issued": self._tokens_issued,
                "token_failures": self._token_failures,
                "errors": dict(self._errors),
                "images": dict(self._images),
                "billable": self._billable,
                "quota_used_today": self._quota_used,
                "in_flight": self._in_flight,
                "max_in_flight": self._max_in_flight,
                "latency_ms": {
                    "count": len(latencies),
                    "min": min(latencies, default=0.0),
                    "max": max(latencies, default=0.0),
                    "total": sum(latencies),
                },
                "table_jobs": self._table_jobs,
                "parser_tasks": self.parser_tasks.submitted,
                "calls_per_second": {
                    name: {str(second): n for second, n in sorted(seconds.items())}
                    for name, seconds in sorted(self._per_second.items())
                },
                "faults": self._faults.as_dict(),
                "now": datetime.fromtimestamp(self.clock(), UTC).isoformat(),
            }
