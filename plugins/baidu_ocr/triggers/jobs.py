"""Triggers that wait for Baidu's async jobs without holding a worker: table jobs and document parser tasks.

Baidu answers ``form_ocr/get_request_result`` with ``ret_code`` 1 (queued), 2 (running) or 3 (done), and
``parser/task/query`` with ``status`` ``pending``, ``processing``, ``success`` or ``failed``; either takes
seconds to minutes. A trigger polls every pending job with async I/O
(:class:`~baidu_ocr.hooks.async_client.AsyncBaiduOcrClient`: aiohttp, with the hook's token cache, QPS limiter and error
classes), so one triggerer holds hundreds of waits without a thread each; it sleeps with ``asyncio.sleep``
between rounds and yields exactly one event: ``success``, ``error`` or ``timeout`` (the rules of the wait
are ``async_jobs.JobsWait``, shared with the operators). The event carries job ids and small per-job
metadata only; the operator fetches the results itself, so no OCR payload goes through the triggerer's
database rows.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from baidu_ocr.client.async_jobs import JobsProgress, JobsWait
from baidu_ocr.client.parser_tasks import acheck_parser_tasks
from baidu_ocr.client.table_jobs import acheck_table_jobs
from baidu_ocr.exceptions import BaiduOcrError


class _BaiduOcrJobsTrigger(BaseTrigger):
    """Wait until every job in ``jobs`` has finished, failed, or the deadline passed (not used directly).

    :param jobs: one small dict per job with its id under ``id_field`` (``None``: never submitted, not
        polled). Jobs travel back untouched in the event, so the operator resumes with no other state.
    :param carry: other small state the operator wants back in the event (counts), untouched.
    :param baidu_ocr_conn_id: the ``baidu_ocr`` connection the jobs were submitted with.
    :param poll_interval: seconds between polling rounds.
    :param deadline: UNIX time after which the trigger gives up with a ``timeout`` event. Absolute, so a
        trigger restarted on another triggerer does not start its timeout over.
    """

    id_field = "request_id"
    noun = "table job"

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

    def _client(self):
        """An async context manager giving the client that polls (tests give a scripted one)."""
        from baidu_ocr.hooks.async_client import AsyncBaiduOcrClient

        return AsyncBaiduOcrClient(self.baidu_ocr_conn_id)

    async def _check(self, client: Any, job_ids: list[str]) -> JobsProgress:
        raise NotImplementedError

    async def run(self) -> AsyncIterator[TriggerEvent]:
        wait = JobsWait(
            pending=[job[self.id_field] for job in self.jobs if job.get(self.id_field)],
            deadline=self.deadline,
            poll_interval=self.poll_interval,
            noun=self.noun,
        )
        try:
            async with self._client() as client:
                while True:
                    event = wait.fold(await self._check(client, wait.pending))
                    if event is not None:
                        break
                    self.log.info(wait.progress_line())
                    await asyncio.sleep(wait.sleep_seconds())
        except BaiduOcrError as exc:
            event = wait.event("error", message=str(exc), error_class=exc.error_class)
        yield TriggerEvent({**event, "jobs": self.jobs, "carry": self.carry})


class BaiduOcrTableJobTrigger(_BaiduOcrJobsTrigger):
    """Wait until every Baidu async table job (``form_ocr/request``) in ``jobs`` has finished, failed, or
    the deadline passed. Each job carries its ``request_id``; the parameters are
    :class:`_BaiduOcrJobsTrigger`'s."""

    async def _check(self, client: Any, job_ids: list[str]) -> JobsProgress:
        return await acheck_table_jobs(client, job_ids)


class BaiduOcrParserTaskTrigger(_BaiduOcrJobsTrigger):
    """Wait until every Baidu document parser task (``parser/task``) in ``jobs`` has succeeded, failed, or
    the deadline passed. Each job carries its ``task_id``; the parameters are
    :class:`_BaiduOcrJobsTrigger`'s."""

    id_field = "task_id"
    noun = "parser task"

    async def _check(self, client: Any, job_ids: list[str]) -> JobsProgress:
        return await acheck_parser_tasks(client, job_ids)
