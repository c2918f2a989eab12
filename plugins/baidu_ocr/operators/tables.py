"""Table operator: Baidu's async table recognition, waiting in the triggerer or in the worker."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from airflow.exceptions import AirflowException
from airflow.sdk.configuration import conf

from baidu_ocr.errors import BaiduOcrError
from baidu_ocr.manifests import BatchManifest, build_manifest, staged_where
from baidu_ocr.operators.base import S3ImageBatchOperator, count_earlier_calls
from baidu_ocr.records import OcrOutcome
from baidu_ocr.staging import s3_uri
from baidu_ocr.stats import add_call_counts
from baidu_ocr.table_jobs import TableJobsWait, check_table_jobs
from baidu_ocr.triggers import BaiduOcrTableJobTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context

    from baidu_ocr.sources import FetchedImages

TABLE_RECORD_ENDPOINT = "form_ocr"  # what the warehouse calls an async table job's document


class TableJobsTimedOut(AirflowException):
    """Baidu had not finished every table job by the operator's ``timeout``."""


class BaiduOcrTableOperator(S3ImageBatchOperator):
    """Recognize tables in S3 images with Baidu's async ``form_ocr`` API; stage results, copy Excel files.

    ``execute`` reads and hashes the images, skips content already in the warehouse, submits one job per
    image (``form_ocr/request``), then waits: in the triggerer with ``deferrable=True``, else by polling in
    the worker. When every job has finished, each job's JSON result is staged as a raw record (endpoint
    ``form_ocr``) and, with ``excel_prefix``, its Excel file is copied to ``s3://<bucket>/<excel_prefix>/``.

    :param options: options for ``form_ocr/request`` (e.g. ``{"request_type": "excel"}``).
    :param excel_prefix: key prefix for copies of Baidu's Excel results (``None``: don't copy).
    :param deferrable: wait in the triggerer instead of occupying a worker slot (default: the
        ``[operators] default_deferrable`` option).
    :param poll_interval: seconds between polls of the job status.
    :param timeout: seconds to wait for all jobs before failing (finished ones are staged first).

    The other parameters are those of :class:`~baidu_ocr.operators.base.S3ImageBatchOperator`.
    """

    template_fields: Sequence[str] = (
        "bucket",
        "keys",
        "options",
        "excel_prefix",
        "staging_bucket",
        "staging_prefix",
        "warehouse_conn_id",
        "max_billable_calls",
    )
    template_fields_renderers = {"options": "json", "keys": "json"}
    ui_color = "#e6f4ea"
    record_endpoint = TABLE_RECORD_ENDPOINT
    billing_endpoint = "form_ocr_request"  # type: ignore[assignment] - the submissions are billed

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

    def execute(self, context: Context) -> BatchManifest:
        started_at = time.time()
        keys, fetched, selection = self._read_and_select(self._earlier_outcomes(self._stager(context)))
        jobs, stopped = self._submit_within_budget(context, fetched, selection.to_ocr)
        snapshot = self.hook.stats.snapshot()
        carry = {
            "started_at": started_at,
            # A stop (budget, quota) while submitting: the jobs submitted are finished first, then it fails.
            "stopped": stopped,
            "budget_spent_before": getattr(self, "_budget_spent_before", 0),
            "calls": {key: snapshot[key] for key in ("billable_calls", "failed_calls", "calls_by_endpoint")},
            "read": self._lineage_read,  # the S3 objects read, for lineage after a deferral
            "n_seen": len(keys),
            "n_skipped": selection.n_skipped,
            "n_unreadable": len(fetched.unreadable),
        }
        request_ids = [job["request_id"] for job in jobs if job["request_id"]]
        deadline = time.time() + self.timeout
        if request_ids and self.deferrable:
            self.log.info("Submitted %d table job(s); deferring until they finish", len(request_ids))
            self.defer(
                trigger=BaiduOcrTableJobTrigger(
                    jobs=jobs,
                    carry=carry,
                    baidu_ocr_conn_id=self.baidu_ocr_conn_id,
                    poll_interval=self.poll_interval,
                    deadline=deadline,
                ),
                method_name="execute_complete",
            )
        event = self._wait_in_worker(request_ids, deadline)
        # The same hook submitted, polled and will fetch: its counters already hold every call.
        return self._finish(context, {**event, "jobs": jobs, "carry": {**carry, "calls": {}}})

    def _submit_within_budget(
        self, context: Context, fetched: FetchedImages, keys: list[str]
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Submit one job per key until the run's budget or Baidu's quota stops it: ``(jobs, stop)``, the
        stop being ``{"error_class", "message", "n_left"}`` (the keys not submitted wait for the next run)."""
        from baidu_ocr.errors import BudgetExhausted, QuotaExhausted

        budget = self._budget_left(context)
        jobs: list[dict[str, Any]] = []
        for n, key in enumerate(keys):
            try:
                if budget is not None and sum(1 for job in jobs if job["request_id"]) >= budget:
                    raise BudgetExhausted("max_billable_calls reached", endpoint=self.billing_endpoint)
                jobs.append(self._submit(fetched, key))
            except (BudgetExhausted, QuotaExhausted) as exc:
                left = len(keys) - n
                return jobs, {"error_class": exc.error_class, "message": str(exc), "n_left": left}
        return jobs, None

    def _submit(self, fetched: FetchedImages, key: str) -> dict[str, Any]:
        """Submit one image; a bad image becomes a failed job instead of an exception."""
        job: dict[str, Any] = {"key": key, "request_id": None, "content_sha256": fetched.sha256[key]}
        try:
            prepared = self.hook.prepare(self._image_source(fetched, key), endpoint="form_ocr_request")
            job.update(bytes=prepared.source_bytes, width=prepared.width, height=prepared.height)
            job["request_id"] = self.hook.submit_table_job(prepared, **self.options)
            job["submitted_at"] = time.time()
        except BaiduOcrError as exc:
            if not exc.per_image or exc.retryable:
                raise
            job["error"] = exc.to_dict()
        return job

    def _wait_in_worker(self, pending: list[str], deadline: float) -> dict[str, Any]:
        """The trigger's wait, in the worker: the same rules (``TableJobsWait``), blocking sleeps."""
        wait = TableJobsWait(pending=pending, deadline=deadline, poll_interval=self.poll_interval)
        while True:
            event = wait.fold(check_table_jobs(self.hook, wait.pending))
            if event is not None:
                return event
            self.log.info(wait.progress_line())
            time.sleep(wait.sleep_seconds())

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> BatchManifest:
        if not event or "status" not in event:
            raise AirflowException(f"Table job trigger sent no usable event: {event!r}")
        if event["status"] == "error":
            raise AirflowException(f"Waiting for Baidu table jobs failed: {event.get('message')}")
        return self._finish(context, event)

    def _finish(self, context: Context, event: dict[str, Any]) -> BatchManifest:
        """Fetch each finished job's result, copy its Excel, stage the records; fail late on a timeout."""
        hook = self.hook
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
                    self._copy_excel(job["key"], request_id)
            else:
                outcome.fail(error)
            outcomes.append(outcome)
        carry = event.get("carry") or {}
        self._lineage_read = list(carry.get("read") or self._lineage_read)
        # Calls of the submit phase when it ran in another process before a deferral, plus this hook's.
        stats = hook.stats.snapshot()
        add_call_counts(stats, carry.get("calls") or {})
        stager = self._stager(context)
        earlier = self._earlier_outcomes(stager)  # read before this try's part is written
        for outcome in outcomes:
            stager.add(self._record(context, outcome))
        stager.flush()
        self._record_usage(context, stats, sum(1 for o in outcomes if o.ok))
        count_earlier_calls(stats, earlier, self.billing_endpoint)
        manifest = build_manifest(
            uri=stager.uri(),
            n_seen=int(carry.get("n_seen", len(outcomes))),
            outcomes=[*earlier, *outcomes],
            n_unreadable=int(carry.get("n_unreadable", 0)),
            n_skipped=int(carry.get("n_skipped", 0)),
            stats=stats,
            started_at=float(carry.get("started_at") or time.time()),
            stopped_by=(carry.get("stopped") or {}).get("error_class"),
            n_left=int((carry.get("stopped") or {}).get("n_left", 0)),
        )
        self._lineage_manifest = manifest
        self.log.info(
            "Table jobs: %s; %s", {k: v for k, v in manifest.items() if k != "stats"}, staged_where(manifest)
        )
        hook.close_idle_connections()
        if stop := carry.get("stopped"):
            self._budget_spent_before = carry.get("budget_spent_before", 0)
            return self._publish_then_check(context, manifest, self._stop_error(stop))
        timed_out = None
        if event["status"] == "timeout":
            pending = list(event.get("pending") or [])
            timed_out = TableJobsTimedOut(
                f"{len(pending)} table job(s) unfinished after {self.timeout:.0f}s ({', '.join(pending)}); "
                f"{staged_where(manifest)}"
            )
        return self._publish_then_check(context, manifest, timed_out)

    def _stop_error(self, stop: dict[str, Any]) -> BaiduOcrError:
        """The error a submission stop becomes once the submitted jobs are staged (it crossed a deferral
        as plain data)."""
        from baidu_ocr.errors import BudgetExhausted, QuotaExhausted

        if stop["error_class"] == BudgetExhausted.error_class:
            error = BudgetExhausted(stop["message"], endpoint=self.billing_endpoint)
            return self._stopped_reason(error, int(stop["n_left"]))  # type: ignore[return-value]
        return QuotaExhausted(
            f"{stop['message']}; {stop['n_left']} image(s) left for the next run",
            endpoint=self.billing_endpoint,
        )

    def _copy_excel(self, key: str, request_id: str) -> str:
        result = self.hook.get_table_job_result(request_id, result_type="excel")
        url = str(result.get("result_data") or "")
        suffix = PurePosixPath(urlparse(url).path).suffix.lower()
        suffix = suffix if suffix in (".xls", ".xlsx") else ".xls"  # server text: only Excel suffixes
        # The key's folders are kept: tables/2024/scan.png and tables/2025/scan.png are two workbooks.
        relative = PurePosixPath(key.lstrip("/")).with_suffix(suffix)
        target = f"{self.excel_prefix.rstrip('/')}/{relative}"
        self.s3_hook.load_bytes(self.hook.download(url), key=target, bucket_name=self.bucket, replace=True)
        self.log.info("Copied the Excel result of %s to %s", key, s3_uri(self.bucket, target))
        return target
