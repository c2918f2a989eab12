"""Baidu's async table jobs (``form_ocr/request``): the poll's form and answer, and what "done" means.

Baidu answers ``form_ocr/get_request_result`` with ``ret_code`` 1 (queued), 2 (running) or 3 (done); a job
takes seconds to minutes. How jobs are waited for (rounds, deadline, which errors leave a job pending) is
``async_jobs``, shared with the document parser's tasks.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from baidu_ocr.client.async_jobs import DONE, PENDING, JobsProgress, acheck_jobs, check_jobs, job_result

TABLE_JOB_DONE = 3
RESULT_ENDPOINT = "form_ocr_get_request_result"


def table_job_request(request_id: str, result_type: str) -> dict[str, str]:
    """The form of one ``get_request_result`` poll."""
    return {"request_id": request_id, "result_type": result_type}


def table_job_result(body: dict[str, Any], conn_id: str | None) -> dict[str, Any]:
    """The ``result`` of a ``get_request_result`` answer (``ret_code`` 3 means done)."""
    return job_result(body, RESULT_ENDPOINT, conn_id)


def table_job_state(result: dict[str, Any]) -> tuple[str, None]:
    """``ret_code`` 3 is done; anything else still runs (a failed recognition is an error answer instead)."""
    try:
        ret_code = int(result.get("ret_code"))
    except (TypeError, ValueError):
        ret_code = None
    return (DONE if ret_code == TABLE_JOB_DONE else PENDING), None


def check_table_jobs(hook: Any, request_ids: Iterable[str]) -> JobsProgress:
    """Poll each job once through a sync hook (the operator's wait in the worker)."""
    return check_jobs(
        lambda rid: hook.get_table_job_result(rid, result_type="json"), request_ids, table_job_state
    )


async def acheck_table_jobs(client: Any, request_ids: Iterable[str]) -> JobsProgress:
    """Poll each job once through an async client (the trigger), all jobs at once."""
    return await acheck_jobs(
        lambda rid: client.get_table_job_result(rid, result_type="json"), request_ids, table_job_state
    )
