"""Waiting for Baidu's async table jobs: one polling round, and the rules of the wait around it.

Baidu answers ``form_ocr/get_request_result`` with ``ret_code`` 1 (queued), 2 (running) or 3 (done); a job
takes seconds to minutes. The trigger (in the triggerer) and the operator (``deferrable=False``, in the
worker) wait the same way; only how they sleep differs, so everything else lives here once.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from baidu_ocr.errors import BaiduOcrError

TABLE_JOB_DONE = 3


@dataclass
class TableJobsProgress:
    """One polling round over some request ids: which finished, which failed for good, which still run."""

    done: list[str] = field(default_factory=list)
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)


def check_table_jobs(hook: Any, request_ids: Iterable[str]) -> TableJobsProgress:
    """Poll each job once.

    A job whose poll fails with a per-image error has failed for good when it is a bad image; rate-limited
    and transient errors (after the hook's own retries) leave it pending for the next round. Anything else
    (quota, config, auth) concerns every job and is raised.
    """
    progress = TableJobsProgress()
    for request_id in request_ids:
        try:
            result = hook.get_table_job_result(request_id, result_type="json")
        except BaiduOcrError as exc:
            if exc.retryable:
                progress.pending.append(request_id)
            elif exc.per_image:
                progress.failed[request_id] = exc.to_dict()
            else:
                raise
            continue
        if _ret_code(result) == TABLE_JOB_DONE:
            progress.done.append(request_id)
        else:
            progress.pending.append(request_id)
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
