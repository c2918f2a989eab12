"""Airflow operators for Baidu OCR: S3 images in, staged raw records (or one result) out.

- :class:`BaiduOcrBatchOperator` OCRs a batch of S3 keys through ``BaiduOcrHook.ocr_many``, skipping content
  the warehouse already holds, and stages the raw records as Parquet; XCom gets a small manifest.
- :class:`BaiduOcrImageOperator` OCRs one image and returns Baidu's JSON (for small, ad-hoc uses).
- :class:`BaiduOcrTableOperator` runs Baidu's async table recognition: submit, then wait in the triggerer
  (``deferrable=True``, :class:`~baidu_ocr.triggers.BaiduOcrTableJobTrigger`) or in the worker, then stage
  each job's JSON result and optionally copy its Excel file to S3.
- :class:`BaiduOcrWarehouseLoadOperator` reads staged records, normalizes them into tables and upserts them.

Constructors only store arguments: the DAG processor builds operators on every parse.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from airflow.exceptions import AirflowException
from airflow.sdk import BaseOperator
from airflow.sdk.configuration import conf

from baidu_ocr.errors import BadImage, BaiduOcrError
from baidu_ocr.records import OcrOutcome, options_hash
from baidu_ocr.staging import (
    DEFAULT_STAGING_PREFIX,
    BatchManifest,
    FetchedImages,
    S3ImageSource,
    batch_file_name,
    fetch_images,
    manifest_list,
    s3_uri,
    staging_key,
    write_records,
)
from baidu_ocr.triggers import BaiduOcrTableJobTrigger, check_table_jobs

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.sdk import Context

    from baidu_ocr.hooks import BaiduOcrHook

TABLE_RECORD_ENDPOINT = "form_ocr"  # what the warehouse calls an async table job's document
DEFAULT_MEMORY_BUDGET = 128 * 1024 * 1024


class BatchFailureRatioExceeded(AirflowException):
    """Too many images of a batch failed: something is wrong beyond a few bad scans."""


class TableJobsTimedOut(AirflowException):
    """Baidu had not finished every table job by the operator's ``timeout``."""


@dataclass
class ImageSelection:
    """Which keys of a batch to OCR; the rest are already in the warehouse or repeat a key's content."""

    to_ocr: list[str] = field(default_factory=list)
    known: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)


def select_images_to_ocr(keys: Sequence[str], sha256: dict[str, str], already: set[str]) -> ImageSelection:
    """Keep the first key of each content hash that the warehouse does not hold yet (order preserved)."""
    selection = ImageSelection()
    seen: set[str] = set()
    for key in keys:
        digest = sha256.get(key)
        if digest is None:
            continue  # unreadable: reported separately
        if digest in already:
            selection.known.append(key)
        elif digest in seen:
            selection.duplicates.append(key)
        else:
            seen.add(digest)
            selection.to_ocr.append(key)
    return selection


def failure_ratio(n_ok: int, n_failed: int) -> float:
    attempted = n_ok + n_failed
    return n_failed / attempted if attempted else 0.0


class _S3ImagesOperator(BaseOperator):
    """What the S3-batch operators share: hooks, reading/hashing keys, skipping known content, staging."""

    def __init__(
        self,
        *,
        bucket: str,
        keys: Sequence[str],
        options: dict[str, Any] | None = None,
        staging_bucket: str | None = None,
        staging_prefix: str = DEFAULT_STAGING_PREFIX,
        warehouse_conn_id: str | None = None,
        max_failure_ratio: float = 0.2,
        baidu_ocr_conn_id: str = "baidu_ocr_default",
        aws_conn_id: str | None = "aws_default",
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.bucket = bucket
        self.keys = keys
        self.options = options or {}
        self.staging_bucket = staging_bucket
        self.staging_prefix = staging_prefix
        self.warehouse_conn_id = warehouse_conn_id
        self.max_failure_ratio = max_failure_ratio
        self.baidu_ocr_conn_id = baidu_ocr_conn_id
        self.aws_conn_id = aws_conn_id
        self.memory_budget = memory_budget

    record_endpoint: str = ""  # the endpoint name the warehouse stores for this operator's documents

    @cached_property
    def s3_hook(self) -> S3Hook:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        return S3Hook(aws_conn_id=self.aws_conn_id)

    def _already_processed(self, hashes: set[str]) -> set[str]:
        if not self.warehouse_conn_id or not hashes:
            return set()
        from baidu_ocr.warehouse import WarehouseLoader

        loader = WarehouseLoader(self.warehouse_conn_id)
        loader.ensure_schema()
        return set(loader.already_processed(hashes, self.record_endpoint, options_hash(self.options)))

    def _read_and_select(self) -> tuple[list[str], FetchedImages, ImageSelection]:
        keys = [str(k) for k in self.keys]
        fetched = fetch_images(self.s3_hook, self.bucket, keys, memory_budget=self.memory_budget)
        for key, reason in fetched.unreadable.items():
            self.log.warning("Cannot read s3://%s/%s: %s", self.bucket, key, reason)
        already = self._already_processed(set(fetched.sha256.values()))
        selection = select_images_to_ocr(keys, fetched.sha256, already)
        self.log.info(
            "%d key(s): %d to OCR, %d already in the warehouse, %d duplicate content, %d unreadable",
            len(keys),
            len(selection.to_ocr),
            len(selection.known),
            len(selection.duplicates),
            len(fetched.unreadable),
        )
        return keys, fetched, selection

    def _image_source(self, fetched: FetchedImages, key: str) -> Any:
        data = fetched.cached.pop(key, None)
        return data if data is not None else S3ImageSource(self.s3_hook, self.bucket, key)

    def _stage(self, context: Context, records: list[dict[str, Any]]) -> str | None:
        if not records:
            return None
        ti = context["ti"]
        batch_no = ti.map_index if ti.map_index is not None and ti.map_index >= 0 else 0
        bucket = self.staging_bucket or self.bucket
        key = staging_key(
            self.staging_prefix, ti.dag_id, ti.run_id, f"{ti.task_id}/{batch_file_name(batch_no)}"
        )
        return write_records(self.s3_hook, records, bucket, key)

    def _record(self, context: Context, outcome: OcrOutcome) -> dict[str, Any]:
        ti = context["ti"]
        return outcome.to_record(
            endpoint=self.record_endpoint,
            options=self.options,
            source_uri=s3_uri(self.bucket, outcome.key),
            dag_id=ti.dag_id,
            run_id=ti.run_id,
        )

    @staticmethod
    def _manifest(
        *,
        uri: str | None,
        n_seen: int,
        outcomes: list[OcrOutcome],
        n_unreadable: int,
        n_skipped: int,
        stats: dict,
        started_at: float,
    ) -> BatchManifest:
        failed_by_class: dict[str, int] = {}
        for outcome in outcomes:
            if not outcome.ok:
                name = outcome.error_class or "error"
                failed_by_class[name] = failed_by_class.get(name, 0) + 1
        if n_unreadable:
            failed_by_class["unreadable"] = n_unreadable
        return BatchManifest(
            uri=uri,
            n_seen=n_seen,
            n_ok=sum(1 for o in outcomes if o.ok),
            n_failed=sum(failed_by_class.values()),
            n_skipped=n_skipped,
            failed_by_class=failed_by_class,
            stats=stats,
            started_at=started_at,
            finished_at=time.time(),
        )

    def _publish_then_check(
        self, context: Context, manifest: BatchManifest, error: BaseException | None = None
    ) -> BatchManifest:
        """Return the manifest, or fail (``error``, or too many failed images) after publishing it anyway.

        A failed task returns nothing, yet what it staged has been paid for: the manifest goes to XCom as the
        return value before the exception, so the ``all_done`` load still picks the staged records up and a
        rerun does not pay for them again.
        """
        try:
            if error is not None:
                raise error
            self._check_failure_ratio(manifest)
        except Exception as exc:
            context["ti"].xcom_push(
                key="return_value", value={**manifest, "error": f"{type(exc).__name__}: {exc}"}
            )
            raise
        return manifest

    def _check_failure_ratio(self, manifest: BatchManifest) -> None:
        ratio = failure_ratio(manifest["n_ok"], manifest["n_failed"])
        if ratio > float(self.max_failure_ratio):
            raise BatchFailureRatioExceeded(
                f"{manifest['n_failed']} of {manifest['n_ok'] + manifest['n_failed']} images failed "
                f"({ratio:.0%} > max_failure_ratio {float(self.max_failure_ratio):.0%}): {manifest['failed_by_class']}; "
                f"what succeeded is staged at {manifest['uri']}"
            )


class BaiduOcrBatchOperator(_S3ImagesOperator):
    """OCR a batch of images in S3 and stage the raw results as Parquet; return a small manifest.

    Each key is read once and hashed (SHA-256 of the original bytes). Content the warehouse already holds
    for the same endpoint and options, and content repeated under another key of the batch, is skipped
    before any billable call. Per-image failures are recorded, not raised; the task fails only when more
    than ``max_failure_ratio`` of the OCRed images failed, or when an error stops the whole batch (quota
    exhausted, wrong keys) -- in both cases after staging what succeeded.

    :param bucket: S3 bucket of the images.
    :param keys: S3 keys of the images (one batch; see ``staging.plan_batches``).
    :param endpoint: Baidu OCR endpoint name, e.g. ``general_basic``, ``accurate``, ``idcard``.
    :param options: endpoint options sent to Baidu (``{"detect_direction": "true"}``); part of the dedup key.
    :param staging_bucket: bucket for the staged Parquet (default: ``bucket``).
    :param staging_prefix: key prefix for staged files: ``<prefix>/<dag_id>/<run_id>/<task_id>/batch-<n>.parquet``.
    :param warehouse_conn_id: common-sql connection of the warehouse to ask what is already processed
        (``None``: OCR everything).
    :param max_failure_ratio: fail the task when more than this share of OCRed images failed.
    :param baidu_ocr_conn_id: the ``baidu_ocr`` connection.
    :param aws_conn_id: the AWS connection for S3.
    :param concurrency: calls in flight (default: the hook's, from the connection's QPS).
    :param memory_budget: bytes of images kept in memory between hashing and OCR; beyond it, re-read.
    """

    template_fields: Sequence[str] = (
        "bucket",
        "keys",
        "endpoint",
        "options",
        "staging_bucket",
        "staging_prefix",
        "warehouse_conn_id",
        "max_failure_ratio",
    )
    template_fields_renderers = {"options": "json", "keys": "json"}
    ui_color = "#e8f0fe"

    def __init__(
        self, *, endpoint: str = "general_basic", concurrency: int | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.endpoint = endpoint
        self.concurrency = concurrency

    @property
    def record_endpoint(self) -> str:  # type: ignore[override]
        return self.endpoint

    def execute(self, context: Context) -> BatchManifest:
        from baidu_ocr.hooks import BaiduOcrHook

        started_at = time.time()
        hook = BaiduOcrHook(self.baidu_ocr_conn_id, concurrency=self.concurrency)
        keys, fetched, selection = self._read_and_select()
        items = ((key, self._image_source(fetched, key)) for key in selection.to_ocr)
        outcomes: list[OcrOutcome] = []
        stopped: BaiduOcrError | None = None
        try:
            for outcome in hook.ocr_many(
                items, endpoint=self.endpoint, total=len(selection.to_ocr), **self.options
            ):
                outcomes.append(outcome)
        except BaiduOcrError as exc:  # batch-stopping: stage what finished, then fail
            stopped = exc
        for outcome in outcomes:  # rejected before hashing (e.g. re-read past the memory budget)
            outcome.content_sha256 = outcome.content_sha256 or fetched.sha256.get(outcome.key)
        records = [self._record(context, o) for o in outcomes if o.content_sha256]
        uri = self._stage(context, records)
        manifest = self._manifest(
            uri=uri,
            n_seen=len(keys),
            outcomes=outcomes,
            n_unreadable=len(fetched.unreadable),
            n_skipped=len(selection.known) + len(selection.duplicates),
            stats=hook.stats.snapshot(),
            started_at=started_at,
        )
        self.log.info(
            "Batch done: %d ok, %d failed %s, %d skipped; %d billable calls; staged at %s",
            manifest["n_ok"],
            manifest["n_failed"],
            manifest["failed_by_class"],
            manifest["n_skipped"],
            manifest["stats"]["billable_calls"],
            uri,
        )
        return self._publish_then_check(context, manifest, stopped)


class BaiduOcrImageOperator(BaseOperator):
    """OCR one image (S3 key or local path) and return Baidu's JSON response through XCom.

    Meant for single documents; for many images use :class:`BaiduOcrBatchOperator`, which stages results
    in S3 instead of XCom.

    :param image: an S3 key (with ``bucket``), an ``s3://bucket/key`` URI, or a local file path.
    :param bucket: S3 bucket when ``image`` is a bare key.
    :param endpoint: Baidu OCR endpoint name.
    :param options: endpoint options sent to Baidu.
    :param baidu_ocr_conn_id: the ``baidu_ocr`` connection.
    :param aws_conn_id: the AWS connection for S3.
    """

    template_fields: Sequence[str] = ("image", "bucket", "endpoint", "options")
    template_fields_renderers = {"options": "json"}
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        image: str,
        bucket: str | None = None,
        endpoint: str = "general_basic",
        options: dict[str, Any] | None = None,
        baidu_ocr_conn_id: str = "baidu_ocr_default",
        aws_conn_id: str | None = "aws_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.image = image
        self.bucket = bucket
        self.endpoint = endpoint
        self.options = options or {}
        self.baidu_ocr_conn_id = baidu_ocr_conn_id
        self.aws_conn_id = aws_conn_id

    def _source(self) -> Any:
        if self.image.startswith("s3://") or self.bucket:
            from airflow.providers.amazon.aws.hooks.s3 import S3Hook

            s3 = S3Hook(aws_conn_id=self.aws_conn_id)
            bucket, key = s3.get_s3_bucket_key(self.bucket, self.image, "bucket", "image")
            return S3ImageSource(s3, bucket, key)
        return self.image  # a local path

    def execute(self, context: Context) -> dict[str, Any]:
        from baidu_ocr.hooks import BaiduOcrHook

        hook = BaiduOcrHook(self.baidu_ocr_conn_id)
        result = hook.ocr(self._source(), endpoint=self.endpoint, **self.options)
        self.log.info("Baidu OCR %s: log_id %s", self.endpoint, result.get("log_id"))
        return result


class BaiduOcrTableOperator(_S3ImagesOperator):
    """Recognize tables in S3 images with Baidu's async ``form_ocr`` API; stage results, copy Excel files.

    ``execute`` reads and hashes the images, skips content already in the warehouse, submits one job per
    image (``form_ocr/request``), then waits: in the triggerer with ``deferrable=True``, else by polling in
    the worker. When every job has finished, each job's JSON result is staged as a raw record (endpoint
    ``form_ocr``) and, with ``excel_prefix``, its Excel file is copied to ``s3://<bucket>/<excel_prefix>/``.

    :param bucket: S3 bucket of the images (and of the Excel copies).
    :param keys: S3 keys of the table images.
    :param options: options for ``form_ocr/request`` (e.g. ``{"request_type": "excel"}``).
    :param excel_prefix: key prefix for copies of Baidu's Excel results (``None``: don't copy).
    :param deferrable: wait in the triggerer instead of occupying a worker slot.
    :param poll_interval: seconds between polls of the job status.
    :param timeout: seconds to wait for all jobs before failing (finished ones are staged first).
    :param staging_bucket: see :class:`BaiduOcrBatchOperator`.
    :param staging_prefix: see :class:`BaiduOcrBatchOperator`.
    :param warehouse_conn_id: see :class:`BaiduOcrBatchOperator`.
    :param max_failure_ratio: see :class:`BaiduOcrBatchOperator`.
    :param baidu_ocr_conn_id: the ``baidu_ocr`` connection.
    :param aws_conn_id: the AWS connection for S3.
    """

    template_fields: Sequence[str] = (
        "bucket",
        "keys",
        "options",
        "excel_prefix",
        "staging_bucket",
        "staging_prefix",
        "warehouse_conn_id",
        "max_failure_ratio",
        "poll_interval",
        "deferrable",
    )
    template_fields_renderers = {"options": "json", "keys": "json"}
    ui_color = "#e6f4ea"
    record_endpoint = TABLE_RECORD_ENDPOINT

    def __init__(
        self,
        *,
        excel_prefix: str | None = None,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 5.0,
        timeout: float = 3600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.excel_prefix = excel_prefix
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout

    def _hook(self) -> BaiduOcrHook:
        from baidu_ocr.hooks import BaiduOcrHook

        return BaiduOcrHook(self.baidu_ocr_conn_id)

    def execute(self, context: Context) -> BatchManifest:
        started_at = time.time()
        hook = self._hook()
        keys, fetched, selection = self._read_and_select()
        jobs = [self._submit(hook, fetched, key) for key in selection.to_ocr]
        carry = {
            "started_at": started_at,
            "billable_calls": hook.stats.snapshot()["billable_calls"],
            "n_seen": len(keys),
            "n_skipped": len(selection.known) + len(selection.duplicates),
            "n_unreadable": len(fetched.unreadable),
        }
        request_ids = [job["request_id"] for job in jobs if job["request_id"]]
        deadline = time.time() + self.timeout
        if request_ids and str(self.deferrable).lower() == "true":  # templated: may render as text
            self.log.info("Submitted %d table job(s); deferring until they finish", len(request_ids))
            self.defer(
                trigger=BaiduOcrTableJobTrigger(
                    jobs=jobs,
                    carry=carry,
                    baidu_ocr_conn_id=self.baidu_ocr_conn_id,
                    poll_interval=float(self.poll_interval),
                    deadline=deadline,
                ),
                method_name="execute_complete",
            )
        event = self._wait_in_worker(hook, request_ids, deadline)
        return self._finish(context, {**event, "jobs": jobs, "carry": carry})

    def _submit(self, hook: BaiduOcrHook, fetched: FetchedImages, key: str) -> dict[str, Any]:
        """Submit one image; a bad image becomes a failed job instead of an exception."""
        job: dict[str, Any] = {"key": key, "request_id": None, "content_sha256": fetched.sha256[key]}
        try:
            prepared = hook.prepare(self._image_source(fetched, key), endpoint="form_ocr_request")
            job.update(bytes=prepared.source_bytes, width=prepared.width, height=prepared.height)
            job["request_id"] = hook.submit_table_job(prepared, **self.options)
            job["submitted_at"] = time.time()
        except BadImage as exc:
            job["error"] = {
                "error_class": exc.error_class,
                "error_code": None if exc.code is None else str(exc.code),
                "error_msg": exc.message,
                "log_id": exc.log_id,
            }
        return job

    def _wait_in_worker(self, hook: BaiduOcrHook, pending: list[str], deadline: float) -> dict[str, Any]:
        """The trigger's loop, in the worker: same polling function, blocking sleeps."""
        done: list[str] = []
        failed: dict[str, dict[str, Any]] = {}
        while pending:
            progress = check_table_jobs(hook, pending)
            done += progress.done
            failed.update(progress.failed)
            pending = progress.pending
            remaining = deadline - time.time()
            if pending and remaining <= 0:
                return {"status": "timeout", "done": done, "failed": failed, "pending": pending}
            if pending:
                self.log.info(
                    "Table jobs: %d done, %d failed, %d running", len(done), len(failed), len(pending)
                )
                time.sleep(min(float(self.poll_interval), remaining))
        return {"status": "success", "done": done, "failed": failed, "pending": []}

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> BatchManifest:
        if not event or "status" not in event:
            raise AirflowException(f"Table job trigger sent no usable event: {event!r}")
        if event["status"] == "error":
            raise AirflowException(f"Waiting for Baidu table jobs failed: {event.get('message')}")
        return self._finish(context, event)

    def _finish(self, context: Context, event: dict[str, Any]) -> BatchManifest:
        """Fetch each finished job's result, copy its Excel, stage the records; fail late on a timeout."""
        hook = self._hook()
        done, failed = set(event.get("done") or []), dict(event.get("failed") or {})
        outcomes: list[OcrOutcome] = []
        for job in event["jobs"]:
            request_id = job.get("request_id")
            error = job.get("error") or failed.get(request_id or "")
            if request_id not in done and not error:
                continue  # still running at the timeout: not staged, so the next run submits it again
            outcome = OcrOutcome(
                key=job["key"],
                ok=False,
                content_sha256=job["content_sha256"],
                bytes=job.get("bytes"),
                width=job.get("width"),
                height=job.get("height"),
                attempts=1,
            )
            if request_id in done:
                outcome.ok = True
                outcome.result = hook.get_table_job_result(request_id, result_type="json")
                outcome.latency_ms = round((time.time() - job["submitted_at"]) * 1000, 1)
                if self.excel_prefix:
                    self._copy_excel(hook, job["key"], request_id)
            else:
                outcome.error_class = error.get("error_class")
                outcome.error_code = error.get("error_code")
                outcome.error_msg = error.get("error_msg")
                outcome.log_id = error.get("log_id")
            outcomes.append(outcome)
        uri = self._stage(context, [self._record(context, o) for o in outcomes])
        carry = event.get("carry") or {}
        # Calls of the submit phase (another hook, maybe before a deferral) plus this one's.
        stats = hook.stats.snapshot()
        stats["billable_calls"] += int(carry.get("billable_calls", 0))
        manifest = self._manifest(
            uri=uri,
            n_seen=int(carry.get("n_seen", len(outcomes))),
            outcomes=outcomes,
            n_unreadable=int(carry.get("n_unreadable", 0)),
            n_skipped=int(carry.get("n_skipped", 0)),
            stats=stats,
            started_at=float(carry.get("started_at") or time.time()),
        )
        self.log.info("Table jobs staged at %s: %s", uri, {k: v for k, v in manifest.items() if k != "stats"})
        timed_out = None
        if event["status"] == "timeout":
            pending = list(event.get("pending") or [])
            timed_out = TableJobsTimedOut(
                f"{len(pending)} table job(s) unfinished after {self.timeout:.0f}s ({', '.join(pending)}); "
                f"finished ones are staged at {uri}"
            )
        return self._publish_then_check(context, manifest, timed_out)

    def _copy_excel(self, hook: BaiduOcrHook, key: str, request_id: str) -> str:
        result = hook.get_table_job_result(request_id, result_type="excel")
        url = str(result.get("result_data") or "")
        suffix = PurePosixPath(urlparse(url).path).suffix or ".xls"
        target = f"{self.excel_prefix.rstrip('/')}/{PurePosixPath(key).stem}{suffix}"
        self.s3_hook.load_bytes(hook.download(url), key=target, bucket_name=self.bucket, replace=True)
        self.log.info("Copied the Excel result of %s to %s", key, s3_uri(self.bucket, target))
        return target


class BaiduOcrWarehouseLoadOperator(BaseOperator):
    """Read staged raw records, normalize them into tables and upsert them into the warehouse.

    :param manifests: the manifests of the OCR tasks (a mapped task's output is fine); ``None`` entries and
        manifests without a ``uri`` are ignored.
    :param warehouse_conn_id: common-sql connection of the warehouse (SQLite, PostgreSQL, ...).
    :param pii_conn_id: connection holding the PII keys (password = HMAC key, extra ``encryption_key`` =
        base64 of 32 bytes, optional). Required only when ID cards are loaded.
    :param aws_conn_id: the AWS connection for S3.
    """

    template_fields: Sequence[str] = ("manifests", "warehouse_conn_id")
    ui_color = "#fef7e0"

    def __init__(
        self,
        *,
        manifests: Any,
        warehouse_conn_id: str = "warehouse_default",
        pii_conn_id: str | None = None,
        aws_conn_id: str | None = "aws_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.manifests = manifests
        self.warehouse_conn_id = warehouse_conn_id
        self.pii_conn_id = pii_conn_id
        self.aws_conn_id = aws_conn_id

    def execute(self, context: Context) -> dict[str, int]:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from baidu_ocr.normalize import normalize_records
        from baidu_ocr.staging import read_records
        from baidu_ocr.warehouse import WarehouseLoader

        uris = [m.get("uri") for m in manifest_list(self.manifests)]
        records = read_records(S3Hook(aws_conn_id=self.aws_conn_id), uris)
        frames = normalize_records(records, pii=self._pii_policy())
        loader = WarehouseLoader(self.warehouse_conn_id)
        loader.ensure_schema()
        loaded = dict(loader.load(frames))
        self.log.info("Loaded %d staged record(s) from %d file(s): %s", len(records), len(uris), loaded)
        return loaded

    def _pii_policy(self) -> Any:
        from baidu_ocr.normalize import PiiPolicy

        if not self.pii_conn_id:
            return None
        from airflow.sdk import BaseHook

        conn = BaseHook.get_connection(self.pii_conn_id)
        if not conn.password:
            raise AirflowException(f"Connection {self.pii_conn_id!r} needs the HMAC key as its password")
        self._mask(conn.password)
        encryption_key = (conn.extra_dejson or {}).get("encryption_key") or None
        if encryption_key:
            self._mask(encryption_key)
        return PiiPolicy(conn.password, encryption_key=encryption_key)

    @staticmethod
    def _mask(secret: str) -> None:
        from airflow.sdk.log import mask_secret

        mask_secret(secret)


class BaiduOcrRunSummaryOperator(BaseOperator):
    """Log and return a run's summary; fail the run when any OCR batch failed (after the load ran).

    Seen / skipped / ok / failed images by error class, billable calls, retries, p50/p95 latency and the
    achieved QPS, from the batch manifests and the staged records. Runs with ``trigger_rule="all_done"`` by
    default so that a failed batch still gets its summary.

    :param manifests: the manifests of the OCR tasks (a mapped task's output is fine).
    :param batches: the planned batches (any list, e.g. ``list_batches``' output): a batch without a
        manifest failed before staging anything.
    :param rows_loaded: the load task's output (rows upserted per table), shown in the summary.
    :param aws_conn_id: the AWS connection for S3 (staged latencies are read back).
    """

    template_fields: Sequence[str] = ("manifests", "batches", "rows_loaded")
    ui_color = "#e6f4ea"

    def __init__(
        self,
        *,
        manifests: Any,
        batches: Any = None,
        rows_loaded: Any = None,
        aws_conn_id: str = "aws_default",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        self.manifests = manifests
        self.batches = batches
        self.rows_loaded = rows_loaded
        self.aws_conn_id = aws_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from baidu_ocr.staging import finish_run

        batches = list(self.batches or [])
        return finish_run(
            S3Hook(aws_conn_id=self.aws_conn_id),
            self.manifests,
            n_batches=len(batches) if self.batches is not None else None,
            rows_loaded=self.rows_loaded,
            log=self.log,
        )
