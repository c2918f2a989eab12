"""Waiting for Baidu's async jobs (table jobs, document parser tasks): one polling round, and the wait around it.

A job is submitted once and then polled until Baidu says it is done or failed. The trigger (in the
triggerer) and the operators (``deferrable=False``, in the worker) wait the same way; only how they call
(async client, sync hook) and sleep differ, so everything else lives here once. What "done" means is the
job kind's: each kind passes a ``state_of(result)`` (``table_jobs.table_job_state``,
``parser_tasks.parser_task_state``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from baidu_ocr.exceptions import BaiduOcrError, TransientError

DONE, FAILED, PENDING = "done", "failed", "pending"
# result -> (DONE | FAILED | PENDING, the failure as BaiduOcrError.to_dict() when FAILED)
StateOf = Callable[[dict[str, Any]], tuple[str, dict[str, Any] | None]]


def job_result(body: dict[str, Any], endpoint: str, conn_id: str | None) -> dict[str, Any]:
    """The ``result`` of a poll's answer (its state is the job kind's); an answer without one is transient."""
    result = body.get("result")
    if not isinstance(result, dict):
        raise TransientError(f"{endpoint} answered without a result", endpoint=endpoint, conn_id=conn_id)
    return result


@dataclass
class JobsProgress:
    """One polling round over some job ids: which finished, which failed for good, which still run."""

    done: list[str] = field(default_factory=list)
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)

    def take(
        self,
        job_id: str,
        state_of: StateOf,
        *,
        result: dict[str, Any] | None = None,
        error: BaiduOcrError | None = None,
    ) -> None:
        """File one poll's answer.

        A job whose poll fails with a per-image error has failed for good when it is a bad image;
        rate-limited and transient errors (after the caller's own retries) leave it pending for the next
        round. Anything else (quota, config, auth) concerns every job and is raised. A job Baidu reports
        failed (``state_of``) is failed for good.
        """
        if error is not None:
            if error.retryable:
                self.pending.append(job_id)
            elif error.per_image:
                self.failed[job_id] = error.to_dict()
            else:
                raise error
            return
        state, failure = state_of(result or {})
        if state == DONE:
            self.done.append(job_id)
        elif state == FAILED:
            self.failed[job_id] = failure or {"error_class": "error"}
        else:
            self.pending.append(job_id)


def check_jobs(poll: Callable[[str], dict], job_ids: Iterable[str], state_of: StateOf) -> JobsProgress:
    """Poll each job once through a sync call (the operators' wait in the worker)."""
    progress = JobsProgress()
    for job_id in job_ids:
        try:
            result = poll(job_id)
        except BaiduOcrError as exc:
            progress.take(job_id, state_of, error=exc)
            continue
        progress.take(job_id, state_of, result=result)
    return progress


async def acheck_jobs(
    poll: Callable[[str], Awaitable[dict]], job_ids: Iterable[str], state_of: StateOf
) -> JobsProgress:
    """Poll each job once through an async call (the trigger), all jobs at once: the client's QPS limiter
    paces the calls. The same rules as :func:`check_jobs`, applied in job order."""
    job_ids = list(job_ids)
    answers = await asyncio.gather(*(poll(job_id) for job_id in job_ids), return_exceptions=True)
    progress = JobsProgress()
    for job_id, answer in zip(job_ids, answers, strict=True):
        if isinstance(answer, BaiduOcrError):
            progress.take(job_id, state_of, error=answer)
        elif isinstance(answer, BaseException):
            raise answer
        else:
            progress.take(job_id, state_of, result=answer)
    return progress


@dataclass
class JobsWait:
    """Jobs waited for until all finished or ``deadline`` (UNIX time) passed; rounds are folded in here.

    The deadline is absolute, so a trigger restarted on another triggerer does not start its timeout over.
    ``noun`` names the jobs in messages ("table job", "parser task").
    """

    pending: list[str]
    deadline: float
    poll_interval: float
    noun: str = "table job"
    done: list[str] = field(default_factory=list)
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def fold(self, progress: JobsProgress) -> dict[str, Any] | None:
        """Take one round in; return the final event (``success`` or ``timeout``), or ``None`` to poll again."""
        self.done += progress.done
        self.failed.update(progress.failed)
        self.pending = progress.pending
        if not self.pending:
            return self.event("success")
        if self.deadline - time.time() <= 0:
            message = (
                f"{len(self.pending)} {self.noun}(s) still running at the deadline: {', '.join(self.pending)}"
            )
            return self.event("timeout", message=message)
        return None

    def sleep_seconds(self) -> float:
        return max(0.0, min(self.poll_interval, self.deadline - time.time()))

    def progress_line(self) -> str:
        return (
            f"Baidu {self.noun}s: {len(self.done)} done, {len(self.failed)} failed, {len(self.pending)} "
            f"running ({time.monotonic() - self.started:.0f}s elapsed)"
        )

    def event(self, status: str, **extra: Any) -> dict[str, Any]:
        return {"status": status, "done": self.done, "failed": self.failed, "pending": self.pending, **extra}
