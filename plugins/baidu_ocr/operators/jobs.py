"""What the async-job operators (table jobs, parser tasks) share, in order: submit a job per new key until
the run's budget, Baidu's quota or an account-wide error stops it; carry what the submit phase knew across a
deferral; wait in the triggerer or in the worker (the same rules, ``async_jobs.JobsWait``); turn the ended
jobs into outcomes; stage them and fail on a stop or a timeout. Each operator says what its jobs are called,
where their id is, which trigger waits for them, and how one is submitted (``_submit``), polled (``_poll``)
and read back (``_finish``)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from airflow.exceptions import AirflowException
from airflow.sdk.configuration import conf

from baidu_ocr.client.async_jobs import JobsWait
from baidu_ocr.exceptions import BaiduOcrError, BudgetExhausted, QuotaExhausted, SubmitStopped
from baidu_ocr.operators.base import S3ImageBatchOperator
from baidu_ocr.pii.policy import mask_id_numbers_in_text
from baidu_ocr.pipeline.budget import RunBudget
from baidu_ocr.pipeline.manifests import staged_where
from baidu_ocr.pipeline.records import OcrOutcome
from baidu_ocr.pipeline.stats import call_counts

if TYPE_CHECKING:
    from airflow.sdk import Context

    from baidu_ocr.client.async_jobs import JobsProgress
    from baidu_ocr.inputs.sources import FetchedImages
    from baidu_ocr.pipeline.manifests import BatchManifest


class AsyncJobsOperator(S3ImageBatchOperator):
    """Base of the operators whose calls are async jobs (not used directly).

    :param deferrable: wait in the triggerer instead of occupying a worker slot (default: the
        ``[operators] default_deferrable`` option).
    :param poll_interval: seconds between polls of the jobs' status.
    :param timeout: seconds to wait for all jobs before failing (finished ones are staged first).
    """

    job_noun: str  # "table job", "parser task": in log lines and errors
    id_field: str  # where a job dict keeps the id Baidu gave it: "request_id", "task_id"
    trigger_class: type  # its constructor takes jobs, carry, baidu_ocr_conn_id, poll_interval, deadline

    def __init__(
        self,
        *,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        poll_interval: float = 5.0,
        timeout: float = 3600.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.deferrable = deferrable
        self.poll_interval = poll_interval
        self.timeout = timeout

    def _poll(self, pending: list[str]) -> JobsProgress:
        raise NotImplementedError

    def _submit(self, fetched: FetchedImages, key: str, job: dict[str, Any]) -> None:
        """Submit one job, filling ``job`` (its id under ``id_field``, sizes, page count); raise on refusal."""
        raise NotImplementedError

    def _submit_job(self, fetched: FetchedImages, key: str) -> dict[str, Any]:
        """One job: ``{"key", id_field: the id or None, "content_sha256", ...}``. A failure of this one
        document (refused, or still rate-limited after the hook's retries) is the job's ``error``, as
        ``ocr_many`` records a failed image; an error that concerns every job is raised."""
        # A job crosses a deferral in a trigger row: its key (only the staged source_uri needs it, masked
        # there too) travels with any ID number masked.
        shown = mask_id_numbers_in_text(key)
        job: dict[str, Any] = {"key": shown, self.id_field: None, "content_sha256": fetched.sha256[key]}
        try:
            self._submit(fetched, key, job)
            job["submitted_at"] = time.time()
        except BaiduOcrError as exc:
            if not exc.per_image:
                raise
            job["error"] = exc.to_dict()
        return job

    def _submit_all(
        self, context: Context, fetched: FetchedImages, keys: list[str]
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """Submit one job per key until the run's budget, Baidu's quota or another error that concerns
        every job stops it: ``(jobs, stop)``, the stop being ``{"error_class", "message", "n_left"}``. The
        keys not submitted wait for the next run; the jobs submitted are still waited for and staged."""
        budget = self._run_budget(context)
        jobs: list[dict[str, Any]] = []
        try:
            for n, key in enumerate(keys):
                try:
                    budget.take()
                    billed = False
                    try:
                        job = self._submit_job(fetched, key)
                        billed = bool(job[self.id_field])
                    finally:
                        budget.settle(billed)
                    jobs.append(job)
                except BaiduOcrError as exc:
                    self.log.error("Stopped submitting after %d %s(s): %s", len(jobs), self.job_noun, exc)
                    return jobs, {
                        "error_class": exc.error_class,
                        "message": str(exc),
                        "n_left": len(keys) - n,
                    }
            return jobs, None
        finally:
            budget.close()
            # Submitted jobs are billed: record them now, before a deferral or a crash can lose them (the
            # try's figures are written again, whole, when its jobs are staged).
            self._record_usage(context, self.hook.stats.snapshot(), 0)

    def _stop_error(self, stop: dict[str, Any]) -> Exception:
        """The error a submission stop becomes once the submitted jobs are staged (it crossed a deferral as
        plain data): the budget's and the quota's say what is left for the next run."""
        left = f"{stop['n_left']} image(s) left for the next run"
        if stop["error_class"] == BudgetExhausted.error_class:
            error = BudgetExhausted(stop["message"], endpoint=self.billing_endpoint)
            return self._stopped_reason(error, int(stop["n_left"]))
        if stop["error_class"] == QuotaExhausted.error_class:
            return QuotaExhausted(f"{stop['message']}; {left}", endpoint=self.billing_endpoint)
        return SubmitStopped(f"Submitting {self.job_noun}s stopped: {stop['message']}; {left}")

    def _finish(self, context: Context, event: dict[str, Any]) -> BatchManifest:
        raise NotImplementedError

    def _submit_and_wait(self, context: Context) -> BatchManifest:
        """Read and select the batch's keys (the warehouse's content skipped), submit a job per new one until
        a stop, then wait for the submitted jobs (in the triggerer or here) and stage them."""
        started_at = time.time()
        keys, fetched, selection = self._read_and_select(self._earlier_outcomes(self._stager(context)))
        jobs, stopped = self._submit_all(context, fetched, selection.to_ocr)
        # What the submit phase knew, as plain data (it may cross a deferral into another process).
        carry = {
            "started_at": started_at,
            "calls": call_counts(self.hook.stats.snapshot()),
            "read": self._lineage_read,  # the S3 objects read, for lineage
            "n_seen": len(keys),
            "n_skipped": selection.n_skipped,
            "n_unreadable": len(fetched.unreadable),
            # A stop (budget, quota, ...) while submitting: the jobs submitted are finished first, then it fails.
            "stopped": stopped,
            "budget": self._budget.carry() if self._budget else {},
        }
        job_ids = [job[self.id_field] for job in jobs if job[self.id_field]]
        return self._defer_or_wait(context, jobs, job_ids, carry)

    def _stage_and_check(
        self,
        context: Context,
        event: dict[str, Any],
        outcomes: list[OcrOutcome],
        timed_out_class: type[Exception],
    ) -> BatchManifest:
        """Stage the ended jobs' outcomes, publish the manifest, then fail on a submission stop or a timeout."""
        carry = event.get("carry") or {}
        manifest = self._stage_job_outcomes(context, outcomes, carry, f"{self.job_noun.capitalize()}s")
        if stop := carry.get("stopped"):
            self._budget = RunBudget.carried(
                self.max_billable_calls, carry.get("budget") or {}, endpoint=self.billing_endpoint
            )
            return self._publish_then_check(context, manifest, self._stop_error(stop))
        return self._publish_then_check(context, manifest, self._timed_out(event, manifest, timed_out_class))

    def _defer_or_wait(
        self, context: Context, jobs: list[dict[str, Any]], job_ids: list[str], carry: dict[str, Any]
    ) -> BatchManifest:
        """Wait for the submitted jobs in the triggerer (``deferrable``) or polling here, then finish."""
        deadline = time.time() + self.timeout
        if job_ids and self.deferrable:
            self.log.info("Submitted %d %s(s); deferring until they finish", len(job_ids), self.job_noun)
            self.defer(
                trigger=self.trigger_class(
                    jobs=jobs,
                    carry=carry,
                    baidu_ocr_conn_id=self.baidu_ocr_conn_id,
                    poll_interval=self.poll_interval,
                    deadline=deadline,
                ),
                method_name="execute_complete",
            )
        event = self._wait_in_worker(job_ids, deadline)
        # The same hook submitted, polled and will fetch: its counters already hold every call.
        return self._finish(context, {**event, "jobs": jobs, "carry": {**carry, "calls": {}}})

    def _wait_in_worker(self, pending: list[str], deadline: float) -> dict[str, Any]:
        """The trigger's wait, in the worker: the same rules (``JobsWait``), blocking sleeps."""
        wait = JobsWait(
            pending=pending, deadline=deadline, poll_interval=self.poll_interval, noun=self.job_noun
        )
        while True:
            event = wait.fold(self._poll(wait.pending))
            if event is not None:
                return event
            self.log.info(wait.progress_line())
            time.sleep(wait.sleep_seconds())

    def _ended_jobs(
        self, event: dict[str, Any]
    ) -> Iterator[tuple[dict[str, Any], OcrOutcome, dict[str, Any] | None]]:
        """Each job that ended: ``(job, a new outcome, its error or None when done)``. A job still running
        at the timeout is left out: not staged, so the next run submits it again."""
        done, failed = set(event.get("done") or []), dict(event.get("failed") or {})
        for job in event["jobs"]:
            job_id = job.get(self.id_field)
            error = job.get("error") or failed.get(job_id or "")
            if job_id not in done and not error:
                continue
            outcome = OcrOutcome(
                key=job["key"],
                ok=False,
                content_sha256=job["content_sha256"],
                bytes=job.get("bytes"),
                width=job.get("width"),
                height=job.get("height"),
                page_count=job.get("page_count"),
                attempts=1,
            )
            yield job, outcome, None if job_id in done else error

    def _read_back(self, job: dict[str, Any], outcome: OcrOutcome, read: Callable[[], Any]) -> None:
        """Fill a finished job's ``outcome`` with ``read()``: its result, result files fetched. A result that
        cannot be had (a file refused, gone, too big or not what it claims: ``ResultFileError``; a fetch
        still failing after the hook's retries) fails that document only: the batch's other jobs, paid
        for, are still staged and their usage recorded, and no retry pays for them again."""
        try:
            outcome.result = read()
        except BaiduOcrError as exc:
            self.log.warning(
                "The result of %s %s could not be read: %s", self.job_noun, job.get(self.id_field), exc
            )
            outcome.fail(exc.to_dict())
            return
        outcome.ok = True
        outcome.latency_ms = round((time.time() - job["submitted_at"]) * 1000, 1)

    def _timed_out(
        self, event: dict[str, Any], manifest: BatchManifest, error_class: type[Exception]
    ) -> Exception | None:
        """The error of a wait that ran out of time (the finished jobs are staged by then), else None."""
        if event["status"] != "timeout":
            return None
        pending = list(event.get("pending") or [])
        return error_class(
            f"{len(pending)} {self.job_noun}(s) unfinished after {self.timeout:.0f}s ({', '.join(pending)}); "
            f"{staged_where(manifest)}"
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> BatchManifest:
        if not event or "status" not in event:
            raise AirflowException(f"{self.job_noun.capitalize()} trigger sent no usable event: {event!r}")
        if event["status"] == "error":
            raise AirflowException(f"Waiting for Baidu {self.job_noun}s failed: {event.get('message')}")
        return self._finish(context, event)
