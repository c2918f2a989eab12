"""Waiting for Baidu's async table jobs: one polling round, and the rules of the wait around it.

Baidu answers ``form_ocr/get_request_result`` with ``ret_code`` 1 (queued), 2 (running) or 3 (done); a job
takes seconds to minutes. The trigger (in the triggerer) and the operator (``deferrable=False``, in the
worker) wait the same way; only how they call (async client, sync hook) and sleep differ, so everything else
lives here once.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from baidu_ocr.errors import BaiduOcrError, TransientError

TABLE_JOB_DONE = 3
RESULT_ENDPOINT = "form_ocr_get_request_result"


def table_job_request(request_id: str, result_type: str) -> dict[str, str]:
    """The form of one ``get_request_result`` poll."""
    return {"request_id": request_id, "result_type": result_type}


def table_job_result(body: dict[str, Any], conn_id: str | None) -> dict[str, Any]:
    """The ``result`` of a ``get_request_result`` answer (``ret_code`` 3 means done); one without is transient."""
    result = body.get("result")
    if not isinstance(result, dict):
        raise TransientError(
            "get_request_result answered without a result", endpoint=RESULT_ENDPOINT, conn_id=conn_id
        )
    return result


@dataclass
class TableJobsProgress:
    """One polling round over some request ids: which finished, which failed for good, which still run."""

    done: list[str] = field(default_factory=list)
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)

    def take(
        self, request_id: str, *, result: dict[str, Any] | None = None, error: BaiduOcrError | None = None
    ) -> None:
        """File one poll's answer.

        A job whose poll fails with a per-image error has failed for good when it is a bad image;
        rate-limited and transient errors (after the caller's own retries) leave it pending for the next
        round. Anything else (quota, config, auth) concerns every job and is raised.
        """
        if error is not None:
            if error.retryable:
                self.pending.append(request_id)
            elif error.per_image:
                self.failed[request_id] = error.to_dict()
            else:
                raise error
        elif _ret_code(result or {}) == TABLE_JOB_DONE:
            self.done.append(request_id)
        else:
            self.pending.append(request_id)


def check_table_jobs(hook: Any, request_ids: Iterable[str]) -> TableJobsProgress:
    """Poll each job once through a sync hook (the operator's wait in the worker)."""
    progress = TableJobsProgress()
    for request_id in request_ids:
        try:
            result = hook.get_table_job_result(request_id, result_type="json")
        except BaiduOcrError as exc:
            progress.take(request_id, error=exc)
            continue
        progress.take(request_id, result=result)
    return progress


async def acheck_table_jobs(client: Any, request_ids: Iterable[str]) -> TableJobsProgress:
    """Poll each job once through an async client (the trigger), all jobs at once: the client's QPS limiter
    paces the calls. The same rules as :func:`check_table_jobs`, applied in request order."""
    request_ids = list(request_ids)
    answers = await asyncio.gather(
        *(client.get_table_job_result(rid, result_type="json") for rid in request_ids), return_exceptions=True
    )
    progress = TableJobsProgress()
    for request_id, answer in zip(request_ids, answers, strict=True):
        if isinstance(answer, BaiduOcrError):
            progress.take(request_id, error=answer)
        elif isinstance(answer, BaseException):
            raise answer
        else:
            progress.take(request_id, result=answer)
    return progress


def _ret_code(result: dict[str, Any]) -> int | None:
    try:
        return int(result.get("ret_code"))
    except (TypeError, ValueError):
        return None


@dataclass
class TableJobsWait:
    """Jobs waited for until all finished or ``deadline`` (UNIX time) passed; rounds are folded in here.

    The deadline is absolute, so a trigger restarted on another triggerer does not start its timeout over.
    """

    pending: list[str]
    deadline: float
    poll_interval: float
    done: list[str] = field(default_factory=list)
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)

    def fold(self, progress: TableJobsProgress) -> dict[str, Any] | None:
        """Take one round in; return the final event (``success`` or ``timeout``), or ``None`` to poll again."""
        self.done += progress.done
        self.failed.update(progress.failed)
        self.pending = progress.pending
        if not self.pending:
            return self.event("success")
        if self.deadline - time.time() <= 0:
            message = (
                f"{len(self.pending)} table job(s) still running at the deadline: {', '.join(self.pending)}"
            )
            return self.event("timeout", message=message)
        return None

    def sleep_seconds(self) -> float:
        return max(0.0, min(self.poll_interval, self.deadline - time.time()))

    def progress_line(self) -> str:
        return (
            f"Baidu table jobs: {len(self.done)} done, {len(self.failed)} failed, {len(self.pending)} running "
            f"({time.monotonic() - self.started:.0f}s elapsed)"
        )

    def event(self, status: str, **extra: Any) -> dict[str, Any]:
        return {"status": status, "done": self.done, "failed": self.failed, "pending": self.pending, **extra}
