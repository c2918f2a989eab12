"""OCR operators: a batch of S3 images staged as Parquet, or one image answered through XCom."""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from baidu_ocr.exceptions import BaiduOcrError
from baidu_ocr.inputs.sources import S3ImageSource
from baidu_ocr.operators.base import S3ImageBatchOperator, shown_uri
from baidu_ocr.operators.cost import count_earlier_calls
from baidu_ocr.pipeline.manifests import BatchManifest, build_manifest, staged_where
from baidu_ocr.pipeline.records import OcrOutcome

if TYPE_CHECKING:
    from airflow.sdk import Context

    from baidu_ocr.hooks.ocr import BaiduOcrHook


class BaiduOcrBatchOperator(S3ImageBatchOperator):
    """OCR a batch of images in S3 and stage the raw results as Parquet; return a small manifest.

    Each key is read once and hashed (SHA-256 of the original bytes). Content the warehouse already holds
    for the same endpoint and options, and content repeated under another key of the batch, is skipped
    before any billable call. Per-image failures are recorded, not raised; the task fails only when more
    than ``max_failure_ratio`` of the OCRed images failed, or when an error stops the whole batch (quota
    exhausted, wrong keys) -- in both cases after staging what succeeded.

    PDF and OFD keys are OCRed page by page (one record per page, ``page_no`` 1..N); pages the warehouse or
    an earlier try already holds are not paid for again, so a half-failed document is finished by the rerun.

    :param endpoint: Baidu OCR endpoint name, e.g. ``general_basic``, ``accurate``, ``idcard``.
    :param concurrency: calls in flight (default: the hook's, from the connection's QPS).
    :param pages: which pages of PDF/OFD keys to OCR: one spec for all (``"1-3,7"``) or one per key (a
        batch planned by pages, see ``planning.plan_batches``); ``None``: every page.
    :param verify_invoices: with ``endpoint="vat_invoice"``: ask the tax authority
        (``vat_invoice_verification``, a billable call under ``max_billable_calls``) about each invoice read,
        and stage its verdict with the reading (``ocr_invoices.authority_status``; an invoice it does not
        know, knows otherwise or lists as voided fails the ``tax_authority`` check). A failed query leaves
        the invoice unverified (``NULL``), never unstaged. Only invoices read in this run are asked.

    The other parameters are those of :class:`~baidu_ocr.operators.base.S3ImageBatchOperator`: ``bucket``,
    ``keys``, ``options``, ``staging_bucket``, ``staging_prefix``, ``warehouse_conn_id``,
    ``max_failure_ratio``, ``baidu_ocr_conn_id``, ``aws_conn_id``, ``memory_budget``.
    """

    template_fields: Sequence[str] = (
        "bucket",
        "keys",
        "endpoint",
        "options",
        "staging_bucket",
        "staging_prefix",
        "warehouse_conn_id",
        "pages",
        "max_billable_calls",
        "adopted_staging",
        "verify_invoices",
    )
    template_fields_renderers = {"options": "json", "keys": "json", "pages": "json"}
    ui_color = "#e8f0fe"

    def __init__(
        self,
        *,
        endpoint: str = "general_basic",
        concurrency: int | None = None,
        pages: str | dict[str, str] | None = None,
        verify_invoices: bool | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.endpoint = endpoint
        self.concurrency = concurrency
        self.pages = pages
        self.verify_invoices = verify_invoices

    @property
    def record_endpoint(self) -> str:  # type: ignore[override]
        from baidu_ocr.client.endpoints import canonical_name

        return canonical_name(self.endpoint)

    def _hook_kwargs(self) -> dict[str, Any]:
        return {"concurrency": self.concurrency}

    def execute(self, context: Context) -> BatchManifest:
        started_at = time.time()
        self._authority_stopped: str | None = None  # why this try stopped asking the tax authority
        hook = self.hook
        outcomes: list[OcrOutcome] = []

        def record_usage() -> list[dict[str, Any]]:
            """This try's calls so far into ``ocr_usage`` (replacing its earlier figures)."""
            return self._record_usage(
                context, hook.stats.snapshot(), sum(o.pages_recognized for o in outcomes)
            )

        stager = self._stager(context, after_part=record_usage)
        earlier = self._earlier_outcomes(stager)
        keys, fetched, selection = self._read_and_select(earlier)
        items = ((key, self._image_source(fetched, key)) for key in selection.to_ocr)
        stopped: BaiduOcrError | None = None
        skip = self._pages_to_skip(earlier)
        # Only for batches with documents: an image batch calls ocr_many exactly as before.
        page_kwargs = {"pages": self.pages, "done_pages": skip} if (self.pages or skip) else {}
        budget = self._run_budget(context)
        try:
            try:
                if budget.left == 0 and selection.to_ocr:
                    raise budget.exhausted()
                for outcome in hook.ocr_many(
                    items,
                    endpoint=self.endpoint,
                    total=len(selection.to_ocr),
                    budget=budget,
                    **page_kwargs,
                    **self.options,
                ):
                    # Rejected before hashing (e.g. re-read past the memory budget): the hash of the first read.
                    outcome.content_sha256 = outcome.content_sha256 or fetched.sha256.get(outcome.key)
                    if outcome.content_sha256:
                        self._before_staging(outcome)
                        stager.add(self._record(context, outcome))
                    outcome.result = None  # staged: the batch holds counts, not payloads
                    outcomes.append(outcome)
            except BaiduOcrError as exc:  # batch-stopping: stage what finished, then fail
                stopped = exc
            stager.flush()
        except BaseException:
            record_usage()  # a try that dies (timeout, S3 error while staging) still records what it paid
            raise
        finally:
            budget.close()
        stats = hook.stats.snapshot()
        usage = record_usage()
        count_earlier_calls(stats, earlier, self.billing_endpoint)
        n_left = len(set(selection.to_ocr) - {o.key for o in outcomes}) if stopped else 0
        stopped = self._stopped_reason(stopped, n_left)
        manifest = build_manifest(
            uri=stager.uri(),
            n_seen=len(keys),
            outcomes=[*earlier, *outcomes],
            n_unreadable=len(fetched.unreadable),
            n_skipped=selection.n_skipped,
            stats=stats,
            started_at=started_at,
            stopped_by=getattr(stopped, "error_class", None) if stopped else None,
            n_left=n_left,
            pages=self.pages,  # a page range of a long document: the summary counts the document once
            content_hashes=fetched.sha256,
        )
        self._lineage_manifest = manifest
        self.log.info(
            "Batch done: %d ok, %d failed %s, %d skipped, %d left unsent; %d billable call(s), %d failed "
            "call(s) (not billed); %s%s",
            manifest["n_ok"],
            manifest["n_failed"],
            manifest["failed_by_class"],
            manifest["n_skipped"],
            n_left,
            stats["billable_calls"],
            stats["failed_calls"],
            staged_where(manifest),
            f"; usage recorded: {len(usage)} row(s)" if usage else "",
        )
        return self._publish_then_check(context, manifest, stopped)

    def _before_staging(self, outcome: OcrOutcome) -> None:
        """A subclass's chance to take something out of a result before it is staged; here, the tax
        authority's verdict is added to an invoice's reading (``verify_invoices``)."""
        if str(self.verify_invoices).lower() == "true" and outcome.ok and isinstance(outcome.result, dict):
            self._add_authority_verdict(outcome)

    def _add_authority_verdict(self, outcome: OcrOutcome) -> None:
        """Ask ``vat_invoice_verification`` about the invoice ``outcome`` read; stage the verdict with it."""
        from baidu_ocr.normalize.invoice_verification import (
            VERIFICATION_ENDPOINT,
            VERIFICATION_KEY,
            verdict,
            verification_form,
        )
        from baidu_ocr.pipeline.budget import RunBudget

        words = outcome.result.get("words_result")
        form = verification_form(words) if isinstance(words, dict) else None
        shown = shown_uri(self.bucket, outcome.key)
        if form is None or self._authority_stopped:
            reason = self._authority_stopped or "the reading lacks what the query needs"
            self.log.info("Tax authority: %s left unverified (%s)", shown, reason)
            return
        try:
            with (self._budget or RunBudget(None)).call():
                answer = self.hook.post(VERIFICATION_ENDPOINT, form)
        except Exception as exc:  # the reading is paid for: staged unverified, never lost
            code = getattr(exc, "code", None)
            reason = f"{type(exc).__name__}{f' {code}' if code is not None else ''}"
            self.log.warning("Tax authority: %s not verified (%s); left unverified", shown, reason)
            if not getattr(exc, "per_image", False):  # quota, budget, keys: the next query would fail too
                self._authority_stopped = f"stopped asking after {reason}"
            return
        outcome.result[VERIFICATION_KEY] = verdict(answer)


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
    :param mask_id_numbers: mask ID-number-shaped strings in the returned JSON (default), so that an
        ``idcard`` or ``driving_license`` answer never puts a clear number into XCom.
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
        mask_id_numbers: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.mask_id_numbers = mask_id_numbers
        self.image = image
        self.bucket = bucket
        self.endpoint = endpoint
        self.options = options or {}
        self.baidu_ocr_conn_id = baidu_ocr_conn_id
        self.aws_conn_id = aws_conn_id

    @cached_property
    def hook(self) -> BaiduOcrHook:
        from baidu_ocr.hooks.ocr import BaiduOcrHook

        return BaiduOcrHook(self.baidu_ocr_conn_id)

    def _source(self) -> Any:
        if self.image.startswith("s3://") or self.bucket:
            from airflow.providers.amazon.aws.hooks.s3 import S3Hook

            s3 = S3Hook(aws_conn_id=self.aws_conn_id)
            bucket, key = s3.get_s3_bucket_key(self.bucket, self.image, "bucket", "image")
            return S3ImageSource(s3, bucket, key)
        return self.image  # a local path

    def execute(self, context: Context) -> dict[str, Any]:
        result = self.hook.ocr(self._source(), endpoint=self.endpoint, **self.options)
        self.log.info("Baidu OCR %s: log_id %s", self.endpoint, result.get("log_id"))
        if self.mask_id_numbers:
            from baidu_ocr.pii.policy import mask_id_numbers_in_json

            result = mask_id_numbers_in_json(result)
        return result
