"""Table operator: Baidu's current sync ``table`` (v2) API with its Excel file, or the old async ``form_ocr``.

Baidu marks ``form_ocr/request`` + ``get_request_result`` as no longer updated and about to go offline; the
synchronous ``table`` endpoint answers the cells at once and, with ``return_excel=true``, the workbook as
base64 in ``excel_file``. So ``api="table"`` is the default, and ``api="form_ocr"`` (submit, wait in the
triggerer or the worker, fetch) stays for accounts that still use it.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Sequence
from functools import partial
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from airflow.exceptions import AirflowException

from baidu_ocr.client.table_jobs import check_table_jobs
from baidu_ocr.exceptions import TableJobsTimedOut
from baidu_ocr.operators.jobs import AsyncJobsOperator
from baidu_ocr.operators.ocr import BaiduOcrBatchOperator
from baidu_ocr.pipeline.manifests import BatchManifest
from baidu_ocr.pipeline.records import OcrOutcome, options_hash
from baidu_ocr.pipeline.staging import (
    DEFAULT_EXCEL_PREFIX,
    XLSX_CONTENT_TYPE,
    excel_key,
    s3_uri,
    write_output_file,
)
from baidu_ocr.triggers.jobs import BaiduOcrTableJobTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

    from baidu_ocr.client.async_jobs import JobsProgress
    from baidu_ocr.inputs.sources import FetchedImages

TABLE_RECORD_ENDPOINT = "form_ocr"  # what the warehouse calls an async table job's document
TABLE_V2 = "table"  # the sync endpoint, and what the warehouse calls its documents
TABLE_APIS = (TABLE_V2, TABLE_RECORD_ENDPOINT)
FORM_OCR_BILLED = "form_ocr_request"
EXCEL_URI = "excel_uri"  # replaces ``excel_file`` in a staged result: where the workbook went
ZIP_MAGIC = b"PK\x03\x04"  # an .xlsx is a zip archive


class BaiduOcrTableOperator(AsyncJobsOperator, BaiduOcrBatchOperator):
    """Recognize tables in S3 images; stage the cells' raw results and keep each table's Excel file in S3.

    ``api="table"`` (default): Baidu's current synchronous ``table`` (v2) endpoint, one call per image (per
    page of a PDF), run like :class:`~baidu_ocr.operators.ocr.BaiduOcrBatchOperator`. With ``excel_prefix``
    set, ``return_excel=true`` is sent and the workbook Baidu returns (base64 ``excel_file``) is decoded and
    written to ``s3://<bucket>/<excel_prefix>/<sha256>-<options hash>.xlsx`` (:func:`~baidu_ocr.pipeline.staging.excel_key`):
    keyed by content, so a rerun, which skips what the warehouse holds, neither pays nor writes twice. The
    staged result keeps ``excel_uri`` instead of the base64.

    ``api="form_ocr"`` (opt-in, for accounts that still use Baidu's old async API): reads and hashes the
    images, skips content already in the warehouse, submits one job per image (``form_ocr/request``), then
    waits: in the triggerer with ``deferrable=True``, else by polling in the worker. When every job has
    finished, each job's JSON result is staged (endpoint ``form_ocr``) and, with ``excel_prefix``, its Excel
    file is copied to ``s3://<bucket>/<excel_prefix>/<sha256>-<options hash>.xls[x]`` (named by content, as
    above; the staged result's ``excel_uri`` says where). A result or workbook that cannot be fetched fails
    that image only (``result_file``); the other jobs, paid for, are staged.

    :param api: ``"table"`` (sync v2, default) or ``"form_ocr"`` (async, deferrable).
    :param dict options: options for the endpoint (``table``: e.g. ``{"cell_contents": "true"}``;
        ``form_ocr/request``: e.g. ``{"request_type": "excel"}``).
    :param excel_prefix: key prefix (in ``bucket``) for the Excel files (``None``: no Excel).
    :param bool deferrable: ``form_ocr`` only: wait in the triggerer instead of occupying a worker slot
        (default: the ``[operators] default_deferrable`` option).
    :param float poll_interval: ``form_ocr`` only: seconds between polls of the job status.
    :param float timeout: ``form_ocr`` only: seconds to wait for all jobs before failing (finished ones are
        staged first).

    The other parameters are those of :class:`~baidu_ocr.operators.ocr.BaiduOcrBatchOperator` (the
    endpoint is fixed) and :class:`~baidu_ocr.operators.base.S3ImageBatchOperator`.
    """

    template_fields: Sequence[str] = (
        "bucket",
        "keys",
        "api",
        "options",
        "excel_prefix",
        "staging_bucket",
        "staging_prefix",
        "warehouse_conn_id",
        "pages",
        "max_billable_calls",
    )
    template_fields_renderers = {"options": "json", "keys": "json", "pages": "json"}
    ui_color = "#e6f4ea"
    job_noun = "table job"
    id_field = "request_id"
    trigger_class = BaiduOcrTableJobTrigger

    def __init__(
        self,
        *,
        api: str = TABLE_V2,
        excel_prefix: str | None = DEFAULT_EXCEL_PREFIX,
        **kwargs: Any,
    ) -> None:
        super().__init__(endpoint=TABLE_V2, **kwargs)
        self.api = api
        self.excel_prefix = excel_prefix

    @property
    def record_endpoint(self) -> str:  # type: ignore[override]
        return TABLE_RECORD_ENDPOINT if self.api == TABLE_RECORD_ENDPOINT else TABLE_V2

    @property
    def billing_endpoint(self) -> str:
        """``form_ocr``: the submissions are what Baidu bills (``form_ocr_request``), not the polls."""
        return FORM_OCR_BILLED if self.api == TABLE_RECORD_ENDPOINT else TABLE_V2

    def execute(self, context: Context) -> BatchManifest:
        if self.api not in TABLE_APIS:
            raise AirflowException(f"api must be one of {', '.join(TABLE_APIS)}, not {self.api!r}")
        if self.api == TABLE_RECORD_ENDPOINT:
            return self._submit_and_wait(context)
        if self.excel_prefix:
            # Sent, so part of the documents' key: results without a workbook are other documents.
            self.options = {"return_excel": "true", **self.options}
        return super().execute(context)

    def _before_staging(self, outcome: OcrOutcome) -> None:
        """Move the workbook out of a ``table`` answer into S3; the staged result keeps where it went."""
        result = outcome.result
        if not outcome.ok or not isinstance(result, dict) or "excel_file" not in result:
            return
        encoded = result.pop("excel_file")
        if not self.excel_prefix:
            return
        try:
            workbook = base64.b64decode(str(encoded), validate=True)
        except (binascii.Error, ValueError):
            workbook = b""
        if not workbook.startswith(ZIP_MAGIC):
            # The cells are still good: they are staged; only the workbook is missing, and the log says so.
            self.log.warning("Baidu's excel_file for %s is not an .xlsx workbook; not stored", outcome.key)
            result["excel_error"] = "excel_file is not a base64 .xlsx workbook"
            return
        key = excel_key(
            self.excel_prefix, outcome.content_sha256, options_hash(self.options), outcome.page_no
        )
        result[EXCEL_URI] = write_output_file(
            self.s3_hook,
            workbook,
            self.bucket,
            key,
            content_type=XLSX_CONTENT_TYPE,
            sse=self.staging_sse,
            kms_key_id=self.staging_kms_key_id,
        )

    def _submit(self, fetched: FetchedImages, key: str, job: dict[str, Any]) -> None:
        prepared = self.hook.prepare(self._image_source(fetched, key), endpoint="form_ocr_request")
        job.update(bytes=prepared.source_bytes, width=prepared.width, height=prepared.height)
        job["request_id"] = self.hook.submit_table_job(prepared, **self.options)

    def _poll(self, pending: list[str]) -> JobsProgress:
        return check_table_jobs(self.hook, pending)

    def _finish(self, context: Context, event: dict[str, Any]) -> BatchManifest:
        """Fetch each finished job's result, copy its Excel, stage the records; fail late on a timeout."""
        outcomes: list[OcrOutcome] = []
        for job, outcome, error in self._ended_jobs(event):
            if error is None:
                self._read_back(job, outcome, partial(self._job_result, job))
            else:
                outcome.fail(error)
            outcomes.append(outcome)
        return self._stage_and_check(context, event, outcomes, TableJobsTimedOut)

    def _job_result(self, job: dict[str, Any]) -> dict[str, Any]:
        """A finished job's JSON result and, with ``excel_prefix``, its Excel copied (``excel_uri`` says where)."""
        result = self.hook.get_table_job_result(job["request_id"], result_type="json")
        if self.excel_prefix:
            target = self._copy_excel(job["key"], job["request_id"], job["content_sha256"])
            result[EXCEL_URI] = s3_uri(self.bucket, target)
        return result

    def _copy_excel(self, key: str, request_id: str, content_sha256: str) -> str:
        result = self.hook.get_table_job_result(request_id, result_type="excel")
        url = str(result.get("result_data") or "")
        suffix = PurePosixPath(urlparse(url).path).suffix.lower()
        suffix = suffix if suffix in (".xls", ".xlsx") else ".xls"  # server text: only Excel suffixes
        # Named by content and options, as table v2's: never by the source key (inv.png and inv.jpg were one
        # workbook; a key's ``..`` went into the object key), and a rerun writes the same object.
        target = excel_key(self.excel_prefix, content_sha256, options_hash(self.options), suffix=suffix)
        write_output_file(
            self.s3_hook,
            self.hook.download(url),
            self.bucket,
            target,
            sse=self.staging_sse,
            kms_key_id=self.staging_kms_key_id,
        )
        self.log.info("Copied the Excel result of %s to %s", key, s3_uri(self.bucket, target))
        return target
