"""The background jobs of the local server (async table jobs, parser tasks): run, look up, forget.

One store for both, so their rules live in one place:

- A job id is its prefix plus ``secrets.token_urlsafe`` (128 random bits): ids are the only thing between
  one client and another's results, so they must not be guessable.
- A job is *done* when its engine work has finished AND its simulated duration has passed by the server
  clock; a done job is forgotten ``ttl_s`` after that (Baidu keeps results for days; a local server needs
  hours at most), so the store does not grow with every job ever run.
- At most ``max_jobs`` are kept: when full, the oldest done job makes room; when every job is still
  running, a submit is refused with 282006 (batch task limit reached), which clients treat as rate limiting.
- A job id never issued, or forgotten -> 282808 (request id not exist).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from baidu_ocr_server.errors import BaiduError

T = TypeVar("T")
ID_RANDOM_BYTES = 16
DEFAULT_MAX_JOBS = 256
DEFAULT_RESULT_TTL_S = 6 * 3600.0
WORKERS = 2


@dataclass
class Job(Generic[T]):
    job_id: str
    submitted_at: float  # by the server clock
    duration: float  # the simulated duration (table_job_seconds, parser_task_seconds)
    future: Future[T] = field(init=False, repr=False)
    finished_at: float | None = None  # server clock when the engine work ended (set before ``future``)

    def done_at(self) -> float | None:
        """When the job reports done by the clock; ``None`` while the engine is still at work."""
        if self.finished_at is None:
            return None
        return max(self.submitted_at + self.duration, self.finished_at)


class JobStore(Generic[T]):
    """Jobs of one kind run in a small thread pool, bounded by count and by age once done. Thread-safe."""

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        id_prefix: str,
        thread_name: str,
        max_jobs: int = DEFAULT_MAX_JOBS,
        ttl_s: float = DEFAULT_RESULT_TTL_S,
    ) -> None:
        if max_jobs < 1 or ttl_s <= 0:
            raise ValueError("max_jobs and ttl_s must be positive")
        self.clock = clock
        self.id_prefix = id_prefix
        self.max_jobs = max_jobs
        self.ttl_s = ttl_s
        self._thread_name = thread_name
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job[T]] = OrderedDict()
        self._pool: ThreadPoolExecutor | None = None
        self.submitted = 0  # jobs ever started

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)

    def submit(self, work: Callable[[], T], *, duration: float) -> Job[T]:
        """Start ``work`` in the pool as a new job (282006 when the store is full of running jobs)."""
        now = self.clock()
        with self._lock:
            self._forget_expired(now)
            if len(self._jobs) >= self.max_jobs:
                done = next((job_id for job_id, job in self._jobs.items() if _is_done(job, now)), None)
                if done is None:
                    raise BaiduError(282006)
                del self._jobs[done]
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix=self._thread_name)
            job: Job[T] = Job(f"{self.id_prefix}{secrets.token_urlsafe(ID_RANDOM_BYTES)}", now, duration)
            job.future = self._pool.submit(self._run, job, work)
            self._jobs[job.job_id] = job
            self.submitted += 1
        return job

    def _run(self, job: Job[T], work: Callable[[], T]) -> T:
        try:
            return work()
        finally:
            job.finished_at = self.clock()  # before the future resolves: done means finished_at is set

    def get(self, job_id: str) -> Job[T]:
        now = self.clock()
        with self._lock:
            self._forget_expired(now)
            job = self._jobs.get(job_id)
        if job is None:
            raise BaiduError(282808)
        return job

    def wait(self, job_id: str, timeout: float | None = None) -> None:
        """Block until the engine finished ``job_id`` (without raising its error here)."""
        self.get(job_id).future.exception(timeout=timeout)

    def _forget_expired(self, now: float) -> None:
        expired = [job_id for job_id, job in self._jobs.items() if _expired(job, now, self.ttl_s)]
        for job_id in expired:
            del self._jobs[job_id]

    def close(self) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)


def _is_done(job: Job, now: float) -> bool:
    done_at = job.done_at()
    return done_at is not None and done_at <= now


def _expired(job: Job, now: float, ttl_s: float) -> bool:
    done_at = job.done_at()
    return done_at is not None and now >= done_at + ttl_s
