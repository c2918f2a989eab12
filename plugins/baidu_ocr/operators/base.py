"""What the S3-batch operators share: the hooks, reading and selecting a batch's keys, staging, publishing.

The run's cost (budget and usage rows) is mixed in from ``operators/cost.py``, OpenLineage from
``operators/lineage.py``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from baidu_ocr.client.errors import PLANNED_STOPS
from baidu_ocr.inputs.sources import DEFAULT_MEMORY_BUDGET, FetchedImages, S3ImageSource, fetch_images
from baidu_ocr.operators.cost import RunCostMixin, count_earlier_calls
from baidu_ocr.operators.lineage import MAX_LINEAGE_INPUTS, OpenLineageMixin
from baidu_ocr.pii.connection import DEFAULT_PII_CONN_ID, sealing_key
from baidu_ocr.pii.policy import mask_id_numbers_in_text
from baidu_ocr.pipeline.budget import RunBudget
from baidu_ocr.pipeline.manifests import BatchManifest, build_manifest, check_failure_ratio, staged_where
from baidu_ocr.pipeline.planning import ImageSelection, select_images_to_ocr
from baidu_ocr.pipeline.records import IMAGE_PAGE, OcrOutcome, options_hash, seal_record
from baidu_ocr.pipeline.staging import (
    DEFAULT_EXPIRY_DAYS,
    DEFAULT_STAGING_PREFIX,
    ChunkedStager,
    batch_folder,
    ensure_staging_expiry,
    s3_uri,
)
from baidu_ocr.pipeline.stats import add_call_counts

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook
    from airflow.sdk import Context

    from baidu_ocr.hooks.ocr import BaiduOcrHook
    from baidu_ocr.warehouse import WarehouseLoader


class WarehouseOperatorMixin:
    """A cached ``warehouse``, as operators have a cached hook: one loader per task, built on first use
    (in ``execute``, never in ``__init__``), so the schema check, which takes a lock on PostgreSQL, runs
    once per task however many times the task reads or writes the warehouse."""

    warehouse_conn_id: str | None

    @cached_property
    def warehouse(self) -> WarehouseLoader:
        from baidu_ocr.warehouse import WarehouseLoader

        return WarehouseLoader(self.warehouse_conn_id)


class S3ImageBatchOperator(RunCostMixin, OpenLineageMixin, WarehouseOperatorMixin, BaseOperator):
    """Base of the operators that OCR a batch of S3 keys and stage the raw records (not used directly).

    :param bucket: S3 bucket of the images.
    :param keys: S3 keys of the images (one batch; see ``planning.plan_batches``).
    :param keys_uri: instead of ``keys``: the ``s3://`` URI of the batch's key list that
        ``s3_batches.stage_batch_keys`` wrote (its keys, and pages per key), read when the task runs, so
        neither XCom nor the task's arguments name a key (a key may be named after an ID number).
    :param options: endpoint options sent to Baidu (``{"detect_direction": "true"}``); part of the dedup key.
    :param staging_bucket: bucket for the staged Parquet (default: ``bucket``).
    :param staging_prefix: key prefix for staged files: ``<prefix>/<dag_id>/<run_id>/<task_id>/batch-<n>.parquet``.
    :param warehouse_conn_id: common-sql connection of the warehouse to ask what is already processed
        (``None``: OCR everything).
    :param max_failure_ratio: fail the task when more than this share of OCRed images failed.
    :param baidu_ocr_conn_id: the ``baidu_ocr`` connection.
    :param aws_conn_id: the AWS connection for S3.
    :param memory_budget: bytes of images kept in memory between hashing and OCR; beyond it, re-read.
    :param stage_every_images: write a Parquet part every this many results...
    :param stage_every_seconds: ...or this many seconds, whichever comes first: a task killed mid-batch
        pays again for at most one part's images on its retry.
    :param staging_expiry_days: make sure staged files under ``staging_prefix`` expire after this many days
        (an S3 lifecycle rule on the staging bucket; ``None``: leave the bucket's lifecycle alone).
    :param staging_sse: server-side encryption requested for staged raw responses (they hold personal
        data): ``"AES256"`` (SSE-S3, default), ``"aws:kms"``, or ``None`` for none.
    :param staging_kms_key_id: KMS key for SSE-KMS (implies ``aws:kms``).
    :param pii_conn_id: the PII connection whose key seals ID numbers in the staged raw responses, so no
        staged file holds one in clear; the load opens them with the same connection. Without it (missing,
        or ``None``) they are masked before staging, for good.
    :param max_billable_calls: billable calls this DAG run may spend (``None``: no cap). The calls the
        run's other tasks recorded in ``ocr_usage`` (with ``warehouse_conn_id``) count against it. Once it
        is reached the batch stops sending: what finished is staged, the rest is left for the next run, and
        the task fails with that reason.
    :param adopted_staging: staging folders (``s3://bucket/prefix/``) of runs whose objects this run took
        on (the events DAG adopting what failed runs left in its inbox). What they staged as done is not
        paid for again: this run's load takes those records on (its ``adopted_staging``).

    Every try records what it paid for in the warehouse's ``ocr_usage`` (with ``warehouse_conn_id``;
    prices from the ``baidu_ocr`` connection's extra ``pricing``, see ``baidu_ocr.pipeline.usage``), and reports
    the S3 objects it read, what it wrote and its cost to OpenLineage when that provider is installed.
    """

    record_endpoint: str = ""  # the endpoint name the warehouse stores for this operator's documents

    def __init__(
        self,
        *,
        bucket: str,
        keys: Sequence[str] = (),
        keys_uri: str | None = None,
        options: dict[str, Any] | None = None,
        staging_bucket: str | None = None,
        staging_prefix: str = DEFAULT_STAGING_PREFIX,
        warehouse_conn_id: str | None = None,
        max_failure_ratio: float = 0.2,
        baidu_ocr_conn_id: str = "baidu_ocr_default",
        aws_conn_id: str | None = "aws_default",
        memory_budget: int = DEFAULT_MEMORY_BUDGET,
        stage_every_images: int = 50,
        stage_every_seconds: float = 30.0,
        staging_expiry_days: int | None = DEFAULT_EXPIRY_DAYS,
        staging_sse: str | None = "AES256",
        staging_kms_key_id: str | None = None,
        batch_label: str | None = None,
        max_billable_calls: int | None = None,
        pii_conn_id: str | None = DEFAULT_PII_CONN_ID,
        adopted_staging: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.adopted_staging = adopted_staging
        self.max_billable_calls = max_billable_calls
        self._budget: RunBudget | None = None  # this try's, once execute has read it
        self.pii_conn_id = pii_conn_id
        # What execute read and wrote, for OpenLineage (set as the task runs; bounded).
        self._lineage_read: list[str] = []
        self._lineage_manifest: BatchManifest | None = None
        self._lineage_usage: list[dict[str, Any]] = []
        # Display only: a mapped task's name in the UI via map_index_template="{{ task.batch_label }}".
        self.batch_label = batch_label
        self.staging_sse = staging_sse
        self.staging_kms_key_id = staging_kms_key_id
        self.bucket = bucket
        self.keys = keys
        self.keys_uri = keys_uri
        self.options = options or {}
        self.staging_bucket = staging_bucket
        self.staging_prefix = staging_prefix
        self.warehouse_conn_id = warehouse_conn_id
        self.max_failure_ratio = max_failure_ratio
        self.baidu_ocr_conn_id = baidu_ocr_conn_id
        self.aws_conn_id = aws_conn_id
        self.memory_budget = memory_budget
        self.stage_every_images = stage_every_images
        self.stage_every_seconds = stage_every_seconds
        self.staging_expiry_days = staging_expiry_days

    @property
    def billing_endpoint(self) -> str:
        """The endpoint whose calls are billed (the table operator's submissions differ from its records)."""
        return self.record_endpoint

    @cached_property
    def hook(self) -> BaiduOcrHook:
        from baidu_ocr.hooks.ocr import BaiduOcrHook

        return BaiduOcrHook(self.baidu_ocr_conn_id, **self._hook_kwargs())

    def _hook_kwargs(self) -> dict[str, Any]:
        return {}

    @cached_property
    def s3_hook(self) -> S3Hook:
        from baidu_ocr.pipeline.s3_batches import s3_hook

        return s3_hook(self.aws_conn_id)  # keys named after ID numbers stay out of botocore's debug logs

    def _already_processed(self, hashes: set[str]) -> set[str]:
        """The hashes the warehouse holds in full (images; documents with every page); the done pages of
        the others are kept in ``self._done_pages`` for the OCR call."""
        self._done_pages: dict[str, set[int]] = {}
        complete: set[str] = set()
        if self.warehouse_conn_id and hashes:
            done = self.warehouse.processed_pages(hashes, self.record_endpoint, options_hash(self.options))
            self._done_pages = {
                digest: set(pages.pages) for digest, pages in done.items() if not pages.complete
            }
            complete = {digest for digest, pages in done.items() if pages.complete}
        for digest, pages in self._adopted_pages(hashes - complete).items():
            if IMAGE_PAGE in pages:
                complete.add(digest)
            else:
                self._done_pages.setdefault(digest, set()).update(pages)
        return complete

    def _adopted_pages(self, hashes: set[str]) -> dict[str, set[int]]:
        """Per content hash, the pages (``IMAGE_PAGE`` for an image) the ``adopted_staging`` folders hold as
        done for this endpoint and these options: results, and images Baidu refused as bad."""
        if not self.adopted_staging or not hashes:
            return {}
        from baidu_ocr.pipeline.staging import read_records

        frame = read_records(
            self.s3_hook,
            list(self.adopted_staging),
            columns=["content_sha256", "endpoint", "options_hash", "page_no", "status", "error_class"],
        )
        done = frame[
            ((frame["status"] == "ok") | (frame["error_class"] == "bad_image"))
            & (frame["endpoint"] == self.record_endpoint)
            & (frame["options_hash"] == options_hash(self.options))
            & frame["content_sha256"].isin(hashes)
        ]
        pages: dict[str, set[int]] = {}
        for digest, page_no in zip(done["content_sha256"], done["page_no"].fillna(IMAGE_PAGE), strict=True):
            pages.setdefault(str(digest), set()).add(int(page_no))
        return pages

    def _stager(self, context: Context, *, after_part: Callable[[], Any] | None = None) -> ChunkedStager:
        """This batch's staging folder (parts of earlier tries included), with the expiry rule ensured."""
        ti = context["ti"]
        batch_no = ti.map_index if ti.map_index is not None and ti.map_index >= 0 else 0
        bucket = self.staging_bucket or self.bucket
        if self.staging_expiry_days:
            ensure_staging_expiry(self.s3_hook, bucket, self.staging_prefix, self.staging_expiry_days)
        return ChunkedStager(
            self.s3_hook,
            bucket,
            batch_folder(self.staging_prefix, ti.dag_id, ti.run_id, ti.task_id, batch_no),
            try_number=getattr(ti, "try_number", None) or 1,
            every_records=self.stage_every_images,
            every_seconds=self.stage_every_seconds,
            sse=self.staging_sse,
            kms_key_id=self.staging_kms_key_id,
            after_part=after_part,
        )

    def _earlier_outcomes(self, stager: ChunkedStager) -> list[OcrOutcome]:
        """What earlier tries of this task staged and need not be paid for again: results, and images Baidu
        refused as bad (it would bill the same refusal again)."""
        import pandas as pd

        frame = stager.earlier_records(
            columns=[
                "content_sha256",
                "source_uri",
                "status",
                "error_class",
                "attempts",
                "page_no",
                "page_count",
            ]
        )
        done = frame[(frame["status"] == "ok") | (frame["error_class"] == "bad_image")].fillna(
            {"attempts": 0, "page_no": 0}
        )
        return [
            OcrOutcome(
                key=str(row.source_uri),
                ok=row.status == "ok",
                error_class=None if row.status == "ok" else str(row.error_class),
                attempts=int(row.attempts),
                content_sha256=str(row.content_sha256),
                page_no=int(row.page_no) or None,
                page_count=None if pd.isna(row.page_count) else int(row.page_count),
            )
            for row in done.itertuples(index=False)
        ]

    def _pages_to_skip(self, earlier: Sequence[OcrOutcome]) -> dict[str, set[int]]:
        """Per document hash, the pages neither the warehouse nor an earlier try needs paid for again."""
        skip = {digest: set(pages) for digest, pages in getattr(self, "_done_pages", {}).items()}
        for outcome in earlier:
            if outcome.page_no and outcome.content_sha256:
                skip.setdefault(outcome.content_sha256, set()).add(outcome.page_no)
        return skip

    def _read_and_select(
        self,
        earlier: Sequence[OcrOutcome] = (),
    ) -> tuple[list[str], FetchedImages, ImageSelection]:
        keys = self._batch_keys()
        fetched = fetch_images(self.s3_hook, self.bucket, keys, memory_budget=self.memory_budget)
        for key, reason in fetched.unreadable.items():
            self.log.warning(
                "Cannot read %s: %s", shown_uri(self.bucket, key), mask_id_numbers_in_text(reason)
            )
        # A new try starts its lineage afresh (an operator object may run more than once in one process).
        # Lineage (and the carry of a deferral, a trigger row) name the objects read with ID numbers masked.
        read = [k for k in keys if k in fetched.sha256][:MAX_LINEAGE_INPUTS]
        self._lineage_read = [mask_id_numbers_in_text(k) for k in read]
        self._lineage_manifest, self._lineage_usage = None, []
        already = self._already_processed(set(fetched.sha256.values()))
        # Whole images (and documents refused as a whole) staged by an earlier try; staged pages are skipped
        # page by page (``_pages_to_skip``).
        staged = {o.content_sha256 for o in earlier if o.content_sha256 and not o.page_no}
        selection = select_images_to_ocr(keys, fetched.sha256, already, staged)
        for key in selection.staged:
            fetched.cached.pop(key, None)
        self.log.info(
            "%d key(s): %d to OCR, %d already in the warehouse, %d staged by an earlier try, "
            "%d duplicate content, %d unreadable",
            len(keys),
            len(selection.to_ocr),
            len(selection.known),
            len(selection.staged),
            len(selection.duplicates),
            len(fetched.unreadable),
        )
        return keys, fetched, selection

    def _batch_keys(self) -> list[str]:
        """The batch's keys: ``keys``, or the list behind ``keys_uri`` (its pages per key, if any, become
        ``pages``). Kept in memory only."""
        if not self.keys_uri:
            return [str(k) for k in self.keys]
        if self.keys:
            raise ValueError("Give a batch's keys or its keys_uri, not both")
        from baidu_ocr.pipeline.s3_batches import read_batch_keys

        keys, pages = read_batch_keys(self.s3_hook, str(self.keys_uri), self.pii_conn_id)
        if pages:
            self.pages = pages
        return keys

    def _image_source(self, fetched: FetchedImages, key: str) -> Any:
        data = fetched.cached.pop(key, None)
        if data is not None:
            return data
        return S3ImageSource(self.s3_hook, self.bucket, key, size=fetched.sizes.get(key))

    def _record(self, context: Context, outcome: OcrOutcome) -> dict[str, Any]:
        """The staged record of one outcome: no clear ID number in it (sealed for the load, or masked)."""
        ti = context["ti"]
        record = outcome.to_record(
            endpoint=self.record_endpoint,
            options=self.options,
            source_uri=s3_uri(self.bucket, outcome.key),
            dag_id=ti.dag_id,
            run_id=ti.run_id,
        )
        return seal_record(record, self._sealing_key)

    @cached_property
    def _sealing_key(self) -> bytes | None:
        key = sealing_key(self.pii_conn_id)
        if key is None:
            self.log.info(
                "No PII connection %r: ID numbers in the staged responses are masked, not sealed (the load "
                "can then neither hash nor encrypt them)",
                self.pii_conn_id,
            )
        return key

    def _stage_job_outcomes(
        self, context: Context, outcomes: Sequence[OcrOutcome], carry: dict[str, Any], what: str
    ) -> BatchManifest:
        """Stage the outcomes of async jobs (table jobs, parser tasks), record their usage and build the
        batch's manifest.

        ``carry`` holds what the submit phase knew (``started_at``, ``n_seen``, ``n_skipped``,
        ``n_unreadable``, ``read`` for lineage, a submission ``stopped`` and, when it ran in another process
        before a deferral, its ``calls``).
        """
        self._lineage_read = list(carry.get("read") or self._lineage_read)
        stats = self.hook.stats.snapshot()
        add_call_counts(stats, carry.get("calls") or {})
        stager = self._stager(context)
        earlier = self._earlier_outcomes(stager)  # read before this try's part is written
        for outcome in outcomes:
            stager.add(self._record(context, outcome))
        stager.flush()
        self._record_usage(context, stats, sum(o.pages_recognized for o in outcomes))
        count_earlier_calls(stats, earlier, self.billing_endpoint)
        stop = carry.get("stopped") or {}
        planned = stop.get("error_class") in PLANNED_STOPS  # the rest is left for the next run
        manifest = build_manifest(
            uri=stager.uri(),
            n_seen=int(carry.get("n_seen", len(outcomes))),
            outcomes=[*earlier, *outcomes],
            n_unreadable=int(carry.get("n_unreadable", 0)),
            n_skipped=int(carry.get("n_skipped", 0)),
            stats=stats,
            started_at=float(carry.get("started_at") or time.time()),
            stopped_by=stop["error_class"] if planned else None,
            n_left=int(stop.get("n_left", 0)) if planned else 0,
        )
        self._lineage_manifest = manifest
        self.log.info(
            "%s: %s; %s", what, {k: v for k, v in manifest.items() if k != "stats"}, staged_where(manifest)
        )
        self.hook.close_idle_connections()
        return manifest

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
            check_failure_ratio(manifest, self.max_failure_ratio)
        except Exception as exc:
            context["ti"].xcom_push(
                key="return_value", value={**manifest, "error": f"{type(exc).__name__}: {exc}"}
            )
            raise
        return manifest


def shown_uri(bucket: str, key: str) -> str:
    """``s3://bucket/key`` as a log line or a message may show it: an ID number in the key masked."""
    return mask_id_numbers_in_text(s3_uri(bucket, key))
