"""Baidu's async document parser (long documents -> Markdown): the submit form, the query's answer, "done".

Submit ``POST /rest/2.0/brain/online/v2/parser/task`` with ``file_data`` (base64, at most 50 MB) and
``file_name`` (its suffix tells Baidu the format: PDF up to 2,000 pages, OFD, images, Word, ...); Baidu
answers ``result.task_id``. Query ``.../parser/task/query`` with ``task_id``: ``result.status`` is
``pending``, ``processing``, ``success`` or ``failed`` (``task_error`` says why); on success
``markdown_url`` and ``parse_result_url`` (layout JSON: ``pages[].layouts[]``...) link to files valid for
30 days. Waiting for tasks follows ``async_jobs`` (the same rules as table jobs).

A task Baidu reports ``failed`` is a per-document failure recorded as ``bad_image``: Baidu read the file and
said it cannot parse it, and submitting it again would bill the same answer.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterable, Mapping
from typing import Any

from baidu_ocr.client.async_jobs import (
    DONE,
    FAILED,
    PENDING,
    JobsProgress,
    acheck_jobs,
    check_jobs,
    job_result,
)
from baidu_ocr.client.errors import NOT_AN_IMAGE
from baidu_ocr.client.forms import form_value
from baidu_ocr.client.redact import redact
from baidu_ocr.exceptions import BadImage, TransientError

SUBMIT_ENDPOINT = "parser_task"
QUERY_ENDPOINT = "parser_task_query"
MAX_FILE_DATA_BYTES = 50 * 1024 * 1024  # file_data, base64; larger files go by file_url (PDF: 300 MB)
SUCCESS, TASK_FAILED = "success", "failed"
RUNNING_STATES = frozenset({"pending", "processing"})


def parser_submit_form(data: bytes, file_name: str, options: Mapping[str, Any]) -> dict[str, str]:
    """The submit form: the file as base64, its name, the options (dicts such as ``return_doc_chunks`` as JSON).

    :raises BadImage: 216201 for an empty file, 216202 when its base64 is over 50 MB.
    """
    from baidu_ocr.inputs.pdfs import check_encoded_size  # imports PIL: not at DAG parse time

    if not data:
        raise BadImage("The document is empty", code=NOT_AN_IMAGE, endpoint=SUBMIT_ENDPOINT)
    check_encoded_size(data, "document", MAX_FILE_DATA_BYTES, SUBMIT_ENDPOINT)
    form = {
        k: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else form_value(v)
        for k, v in options.items()
        if v is not None
    }
    return {**form, "file_data": base64.b64encode(data).decode("ascii"), "file_name": file_name}


def parser_task_id(body: dict[str, Any], conn_id: str | None) -> str:
    """``result.task_id`` of a submit answer; an answer without one is transient."""
    task_id = (body.get("result") or {}).get("task_id") if isinstance(body.get("result"), dict) else None
    if not task_id:
        raise TransientError(
            "parser/task answered without a task_id", endpoint=SUBMIT_ENDPOINT, conn_id=conn_id
        )
    return str(task_id)


def parser_task_result(body: dict[str, Any], conn_id: str | None) -> dict[str, Any]:
    """The ``result`` of a ``parser/task/query`` answer (``status`` says where the task is)."""
    return job_result(body, QUERY_ENDPOINT, conn_id)


def parser_task_state(result: dict[str, Any]) -> tuple[str, dict[str, Any] | None]:
    """``success`` is done; ``failed`` is a per-document failure (``task_error`` redacted); else it runs."""
    status = str(result.get("status") or "").lower()
    if status == SUCCESS:
        return DONE, None
    if status == TASK_FAILED:
        reason = redact(str(result.get("task_error") or "the parser task failed"))
        return FAILED, {
            "error_class": BadImage.error_class,
            "error_code": None,
            "error_msg": reason,
            "log_id": None,
        }
    return PENDING, None


def check_parser_tasks(hook: Any, task_ids: Iterable[str]) -> JobsProgress:
    """Poll each task once through a sync hook (the operator's wait in the worker)."""
    return check_jobs(hook.get_parser_task, task_ids, parser_task_state)


async def acheck_parser_tasks(client: Any, task_ids: Iterable[str]) -> JobsProgress:
    """Poll each task once through an async client (the trigger), all tasks at once."""
    return await acheck_jobs(client.get_parser_task, task_ids, parser_task_state)
