"""Parser operator: long documents in S3 -> Baidu's async document parser -> Markdown and layout, staged."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any

from baidu_ocr.client.parser_tasks import SUBMIT_ENDPOINT, check_parser_tasks
from baidu_ocr.exceptions import ParserTasksTimedOut
from baidu_ocr.operators.jobs import AsyncJobsOperator
from baidu_ocr.pipeline.manifests import BatchManifest
from baidu_ocr.pipeline.records import OcrOutcome
from baidu_ocr.triggers.jobs import BaiduOcrParserTaskTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

    from baidu_ocr.client.async_jobs import JobsProgress
    from baidu_ocr.inputs.sources import FetchedImages


class BaiduOcrParserOperator(AsyncJobsOperator):
    """Parse S3 documents (PDF, OFD, images, Word, ...) into Markdown with Baidu's async document parser.

    ``execute`` reads and hashes the documents, skips content the warehouse already holds for the same
    options, submits one parser task per new document (``parser/task``), then waits: in the triggerer with
    ``deferrable=True``, else by polling in the worker, with the same rules (``async_jobs.JobsWait``). When
    every task has finished, each document is staged as one raw record (endpoint ``parser_task``, page 0,
    its page count) holding the task id, the Markdown and the layout JSON; the load writes it to
    ``ocr_parsed_documents``. A task Baidu reports failed is a failed document (``bad_image``: not
    resubmitted by a rerun), counted against ``max_failure_ratio``.

    An error that concerns every document (quota, permission, credentials) stops submitting: the tasks
    already submitted are still waited for and staged (they are paid for), then the task fails.

    :param dict options: parser options sent with each document (``{"recognize_formula": True}``); part of the
        dedup key.
    :param deferrable: wait in the triggerer instead of occupying a worker slot (default: the
        ``[operators] default_deferrable`` option).
    :param poll_interval: seconds between polls of the task status.
    :param timeout: seconds to wait for all tasks before failing (finished ones are staged first).

    The other parameters are those of :class:`~baidu_ocr.operators.base.S3ImageBatchOperator`.
    """

    template_fields: Sequence[str] = (
        "bucket",
        "keys",
        "options",
        "staging_bucket",
        "staging_prefix",
        "warehouse_conn_id",
        "max_billable_calls",
        "adopted_staging",
    )
    template_fields_renderers = {"options": "json", "keys": "json"}
    ui_color = "#e8f0fe"
    job_noun = "parser task"
    id_field = "task_id"
    trigger_class = BaiduOcrParserTaskTrigger
    record_endpoint = SUBMIT_ENDPOINT

    def execute(self, context: Context) -> BatchManifest:
        return self._submit_and_wait(context)

    def _submit(self, fetched: FetchedImages, key: str, job: dict[str, Any]) -> None:
        from baidu_ocr.inputs.sources import read_image_source

        source = self._image_source(fetched, key)
        data = read_image_source(source if isinstance(source, bytes) else source.get())
        job.update(bytes=len(data), page_count=_page_count(data))
        job["task_id"] = self.hook.submit_parser_task(data, file_name=PurePosixPath(key).name, **self.options)

    def _poll(self, pending: list[str]) -> JobsProgress:
        return check_parser_tasks(self.hook, pending)

    def _finish(self, context: Context, event: dict[str, Any]) -> BatchManifest:
        """Fetch each finished task's Markdown and layout, stage the records; fail late on a timeout/stop."""
        outcomes: list[OcrOutcome] = []
        for job, outcome, error in self._ended_jobs(event):
            task_id = job.get("task_id")
            if error is None:
                self._read_back(job, outcome, partial(self._parsed_result, task_id))
                if outcome.ok:
                    outcome.page_count = _layout_pages(outcome.result) or outcome.page_count
                else:  # its result files could not be had: which paid task it was is kept
                    outcome.result = {"task_id": task_id}
            else:
                outcome.fail(error)
                if task_id:
                    outcome.result = {
                        "task_id": task_id,
                        "status": "failed",
                        "task_error": error.get("error_msg"),
                    }
            outcomes.append(outcome)
        return self._stage_and_check(context, event, outcomes, ParserTasksTimedOut)

    def _parsed_result(self, task_id: str) -> dict[str, Any]:
        """The query's result without its links (signed for 30 days), plus the Markdown and layout JSON."""
        from baidu_ocr.client.downloads import json_result_file

        result = self.hook.get_parser_task(task_id)
        markdown_url, layout_url = result.pop("markdown_url", None), result.pop("parse_result_url", None)
        layout = json_result_file(self.hook.download(layout_url), "layout") if layout_url else None
        if markdown_url:
            markdown = self.hook.download(markdown_url).decode("utf-8", errors="replace")
        else:  # Baidu's examples show answers with the layout only: its pages' text, in order
            markdown = "\n\n".join(str(p.get("text") or "") for p in _pages(layout))
        return {**result, "markdown": markdown, "parse_result": layout}


def _pages(layout: Any) -> list[dict]:
    pages = layout.get("pages") if isinstance(layout, dict) else None
    return [p for p in pages if isinstance(p, dict)] if isinstance(pages, list) else []


def _layout_pages(result: dict[str, Any]) -> int | None:
    return len(_pages(result.get("parse_result"))) or None


def _page_count(data: bytes) -> int | None:
    """Pages of a PDF or OFD counted locally; ``None`` for other files (Baidu's layout JSON then says)."""
    from baidu_ocr.exceptions import BadImage
    from baidu_ocr.inputs.documents import OFD, PDF, document_kind, ofd_page_count, pdf_page_count

    kind = document_kind(data)
    if kind == PDF:
        try:
            return pdf_page_count(data)
        except BadImage:
            return None  # Baidu decides: its task fails with the reason
    if kind == OFD:
        return ofd_page_count(data)
    return None
