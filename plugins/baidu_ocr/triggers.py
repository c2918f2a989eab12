"""Trigger that waits for Baidu's async table-recognition jobs (``form_ocr/request``) without holding a worker.

Baidu answers ``form_ocr/get_request_result`` with ``ret_code`` 1 (queued), 2 (running) or 3 (done); a job
takes seconds to minutes. :class:`BaiduOcrTableJobTrigger` polls every pending job through the sync hook in
a thread (``asyncio.to_thread``: the hook's token cache, QPS limiter and retries stay the single source of
truth), sleeps with ``asyncio.sleep`` between rounds and yields exactly one event: ``success``, ``error`` or
``timeout``. The event carries request ids and small per-job metadata only; the operator fetches the results
itself, so no OCR payload goes through the triggerer's database rows.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from baidu_ocr.errors import BadImage, BaiduOcrError, RateLimited, TransientError

TABLE_JOB_DONE = 3


@dataclass
class TableJobsProgress:
    """One polling round over some request ids: which finished, which failed for good, which still run."""

    done: list[str] = field(default_factory=list)
    failed: dict[str, dict[str, Any]] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)


def check_table_jobs(hook: Any, request_ids: Iterable[str]) -> TableJobsProgress:
    """Poll each job once. Shared by the trigger (in a thread) and the operator's in-worker polling.

    A job whose poll fails with a bad-image error has failed for good; rate-limited and transient errors
    (after the hook's own retries) leave it pending for the next round. Anything else (quota, config,
    auth) concerns every job and is raised.
    """
    progress = TableJobsProgress()
    for request_id in request_ids:
        try:
            result = hook.get_table_job_result(request_id, result_type="json")
        except BadImage as exc:
            progress.failed[request_id] = {
                "error_class": exc.error_class,
                "error_code": None if exc.code is None else str(exc.code),
                "error_msg": exc.message,
                "log_id": exc.log_id,
            }
            continue
        except (RateLimited, TransientError):
            progress.pending.append(request_id)
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


class BaiduOcrTableJobTrigger(BaseTrigger):
    """Wait until every Baidu async table job in ``jobs`` has finished, failed, or the deadline passed.

    :param jobs: one small dict per job with its ``request_id`` (``None``: never submitted, not polled).
        Jobs travel back untouched in the event, so the operator resumes with no other state.
    :param carry: other small state the operator wants back in the event (counts), untouched.
    :param baidu_ocr_conn_id: the ``baidu_ocr`` connection the jobs were submitted with.
    :param poll_interval: seconds between polling rounds.
    :param deadline: UNIX time after which the trigger gives up with a ``timeout`` event. Absolute, so a
        trigger restarted on another triggerer does not start its timeout over.
    """

    def __init__(
        self,
        *,
        jobs: list[dict[str, Any]],
        carry: dict[str, Any] | None = None,
        baidu_ocr_conn_id: str = "baidu_ocr_default",
        poll_interval: float = 5.0,
        deadline: float,
    ) -> None:
        super().__init__()
        self.jobs = jobs
        self.carry = carry or {}
        self.baidu_ocr_conn_id = baidu_ocr_conn_id
        self.poll_interval = poll_interval
        self.deadline = deadline

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "jobs": self.jobs,
                "carry": self.carry,
                "baidu_ocr_conn_id": self.baidu_ocr_conn_id,
                "poll_interval": self.poll_interval,
                "deadline": self.deadline,
            },
        )

    def _hook(self):
        from baidu_ocr.hooks import BaiduOcrHook

        return BaiduOcrHook(self.baidu_ocr_conn_id)

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self._hook()
        pending = [job["request_id"] for job in self.jobs if job.get("request_id")]
        done: list[str] = []
        failed: dict[str, dict[str, Any]] = {}
        while True:
            try:
                progress = await asyncio.to_thread(check_table_jobs, hook, pending)
            except BaiduOcrError as exc:
                yield TriggerEvent(
                    self._event("error", done, failed, pending, message=str(exc), error_class=exc.error_class)
                )
                return
            done += progress.done
            failed.update(progress.failed)
            pending = progress.pending
            if not pending:
                yield TriggerEvent(self._event("success", done, failed, pending))
                return
            remaining = self.deadline - time.time()
            if remaining <= 0:
                message = f"{len(pending)} table job(s) still running at the deadline: {', '.join(pending)}"
                yield TriggerEvent(self._event("timeout", done, failed, pending, message=message))
                return
            self.log.info(
                "Baidu table jobs: %d done, %d failed, %d running", len(done), len(failed), len(pending)
            )
            await asyncio.sleep(min(self.poll_interval, remaining))

    def _event(
        self,
        status: str,
        done: list[str],
        failed: dict[str, dict[str, Any]],
        pending: list[str],
        **extra: Any,
    ) -> dict[str, Any]:
        return {
            "status": status,
            "jobs": self.jobs,
            "carry": self.carry,
            "done": done,
            "failed": failed,
            "pending": pending,
            **extra,
        }
