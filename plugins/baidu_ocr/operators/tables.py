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
from typing import TYPE_CHECKING, Any

from airflow.exceptions import AirflowException

from baidu_ocr.client.table_jobs import check_table_jobs
from baidu_ocr.exceptions import ResultFileError, TableJobsTimedOut
from baidu_ocr.operators.jobs import AsyncJobsOperator
from baidu_ocr.operators.ocr import BaiduOcrBatchOperator
from baidu_ocr.pii.policy import mask_id_numbers_in_text
from baidu_ocr.pii.workbooks import protect_workbook
from baidu_ocr.pipeline.manifests import BatchManifest
from baidu_ocr.pipeline.records import OcrOutcome, options_hash
from baidu_ocr.pipeline.staging import (
    DEFAULT_EXCEL_PREFIX,
    DEFAULT_EXPIRY_DAYS,
    ensure_staging_expiry,
    excel_key,
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

    Workbooks are stored with every ID number in them masked (``baidu_ocr.pii.workbooks``), under an
    ``excel_prefix`` whose objects expire (an S3 lifecycle rule, as for staging): a clear number printed in a
    table cell never reaches S3.

    ``api="form_ocr"`` (opt-in, for accounts that still use Baidu's old async API): reads and hashes the
    images, skips content already in the warehouse, submits one job per image (``form_ocr/request``), then
    waits: in the triggerer with ``deferrable=True``, else by polling in the worker. When every job has
    finished, each job's JSON result is staged (endpoint ``form_ocr``) and, with ``excel_prefix``, its Excel
    file is copied to ``s3://<bucket>/<excel_prefix>/<sha256>-<options hash>.xlsx`` (named by content, as
    above; the staged result's ``excel_uri`` says where). Baidu's legacy ``.xls`` (BIFF) cannot be masked in
    place: it is stored as a masked ``.csv`` of its cells instead. A result or workbook that cannot be
    fetched or read fails that image only (``result_file``); the other jobs, paid for, are staged.

    :param api: ``"table"`` (sync v2, default) or ``"form_ocr"`` (async, deferrable).
    :param dict options: options for the endpoint (``table``: e.g. ``{"cell_contents": "true"}``;
        ``form_ocr/request``: e.g. ``{"request_type": "excel"}``).
    :param excel_prefix: key prefix (in ``bucket``) for the Excel files (``None``: no Excel).
    :param excel_expiry_days: make sure workbooks under ``excel_prefix`` expire after this many days (an S3
        lifecycle rule on ``bucket``; ``None``: leave the bucket's lifecycle alone). Copy what you keep.
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
        "adopted_staging",
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
        excel_expiry_days: int | None = DEFAULT_EXPIRY_DAYS,
        **kwargs: Any,
    ) -> None:
        super().__init__(endpoint=TABLE_V2, **kwargs)
        self.api = api
        self.excel_prefix = excel_prefix
        self.excel_expiry_days = excel_expiry_days
        self._excel_expiry_ensured = False  # once per task, on the first workbook

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
        try:
            if not workbook.startswith(ZIP_MAGIC):
                raise ValueError("not a base64 .xlsx workbook")
            result[EXCEL_URI] = self._store_workbook(workbook, outcome.content_sha256, outcome.page_no)
        except ValueError:
            # The cells are still good: they are staged; only the workbook is missing, and the log says so.
            self.log.warning(
                "Baidu's excel_file for %s is not an .xlsx workbook; not stored",
                mask_id_numbers_in_text(outcome.key),
            )
            result["excel_error"] = "excel_file is not a base64 .xlsx workbook"

    def _store_workbook(self, data: bytes, content_sha256: str, page_no: int | None = None) -> str:
        """Store a workbook with its ID numbers masked, named by content under the expiring
        ``excel_prefix``; return its ``s3://`` URI.

        :raises ValueError: ``data`` is not a readable workbook."""
        stored = protect_workbook(data)
        if self.excel_expiry_days and not self._excel_expiry_ensured:
            ensure_staging_expiry(self.s3_hook, self.bucket, self.excel_prefix, self.excel_expiry_days)
            self._excel_expiry_ensured = True
        key = excel_key(
            self.excel_prefix, content_sha256, options_hash(self.options), page_no, suffix=stored.suffix
        )
        return write_output_file(
            self.s3_hook,
            stored.data,
            self.bucket,
            key,
            content_type=stored.content_type,
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
            result[EXCEL_URI] = self._copy_excel(job["key"], job["request_id"], job["content_sha256"])
        return result

    def _copy_excel(self, key: str, request_id: str, content_sha256: str) -> str:
        """Fetch a finished job's workbook and store it masked (``_store_workbook``); return its URI.

        :raises ResultFileError: the file is not a readable ``.xlsx`` or ``.xls`` workbook."""
        result = self.hook.get_table_job_result(request_id, result_type="excel")
        url = str(result.get("result_data") or "")
        # Named by content and options, as table v2's: never by the source key (inv.png and inv.jpg were one
        # workbook; a key's ``..`` went into the object key), and a rerun writes the same object. The suffix
        # is what the bytes are once masked (.xlsx, or .csv for a legacy .xls), not what the link says.
        try:
            uri = self._store_workbook(self.hook.download(url), content_sha256)
        except ValueError as exc:
            raise ResultFileError(
                f"The Excel result of table job {request_id} cannot be stored: {exc}",
                endpoint="form_ocr_get_request_result",
            ) from None
        self.log.info("Copied the Excel result of %s to %s", mask_id_numbers_in_text(key), uri)
        return uri
