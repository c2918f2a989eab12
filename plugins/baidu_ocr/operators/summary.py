"""Summary operator: a run's numbers in the log and XCom; the run fails when the listing, an OCR batch or the
load failed, and says which and why."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook, BaseOperator

from baidu_ocr.operators.base import WarehouseOperatorMixin

if TYPE_CHECKING:
    from airflow.sdk import Context


class BaiduOcrRunSummaryOperator(WarehouseOperatorMixin, BaseOperator):
    """Log and return a run's summary; fail the run when the listing, an OCR batch or the load failed.

    Documents seen / skipped / ok / failed / left for the next run, pages ok and failed by error class,
    billable calls, retries, p50/p95 latency per endpoint called and the achieved QPS, from the batch
    manifests. Runs with ``trigger_rule="all_done"`` by default so that a failed batch still gets its
    summary. A failure names the step that failed first (the listing before the load it left with nothing
    to do) and its cause; a listing that found nothing is said plainly (the summary's ``note``).

    :param manifests: the manifests of the OCR tasks (a mapped task's output is fine).
    :param batches: the planned batches (any list, e.g. ``list_batches``' output): a batch without a
        manifest failed before staging anything. A listing task that failed published ``{"error": ...}``
        (``step_errors.publish_error_on_failure``), or nothing: the run fails with that cause.
    :param rows_loaded: the load task's output (rows upserted per table), shown in the summary. When given,
        the run fails if the load failed (it then published an ``error``, or nothing at all).
    :param source: where the documents were listed, e.g. ``s3://{{ params.bucket }}/{{ params.prefix }}``:
        named when the listing found nothing.
    :param aws_conn_id: unused (the summary reads no S3 object any more); accepted so existing DAGs parse.
    :param warehouse_conn_id: the warehouse holding ``ocr_usage``: with it, the summary shows per endpoint
        this run's billable calls, the month's so far, the share of the free allowance used and the
        estimated cost (prices from the ``baidu_ocr`` connection's extra ``pricing``).
        With it, the summary also counts the documents this run queued for review, by reason, and, when the
        load wrote ``ocr_invoices``, the run's invoices: read, valid, invalid by check, duplicates and, per
        seller, the total including tax of the valid ones.
    :param baidu_ocr_conn_id: the ``baidu_ocr`` connection whose prices apply.

    A run whose batch stopped early (``max_billable_calls`` reached, Baidu's daily quota) fails with
    :class:`~baidu_ocr.pipeline.manifests.RunStoppedEarly`, after the summary says how many documents were
    left.
    """

    template_fields: Sequence[str] = ("manifests", "batches", "rows_loaded", "source")
    ui_color = "#e6f4ea"

    def __init__(
        self,
        *,
        manifests: Any,
        batches: Any = None,
        rows_loaded: Any = None,
        source: str | None = None,
        aws_conn_id: str = "aws_default",
        warehouse_conn_id: str | None = None,
        baidu_ocr_conn_id: str = "baidu_ocr_default",
        **kwargs: Any,
    ) -> None:
        kwargs.setdefault("trigger_rule", "all_done")
        super().__init__(**kwargs)
        self.manifests = manifests
        self.batches = batches
        self.rows_loaded = rows_loaded
        # Decided here, before rendering: a failed load's (or listing's) output renders as None.
        self.load_expected = rows_loaded is not None
        self.batches_expected = batches is not None
        # The tasks behind the inputs (when they are task outputs), to name the step that failed.
        self.step_task_ids = {"listing": _task_id_of(batches), "load": _task_id_of(rows_loaded)}
        self.source = source
        self.aws_conn_id = aws_conn_id
        self.warehouse_conn_id = warehouse_conn_id
        self.baidu_ocr_conn_id = baidu_ocr_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from baidu_ocr.pipeline.manifests import empty_listing_note, finish_run
        from baidu_ocr.pipeline.step_errors import published_error

        listing_error = None
        if self.batches_expected:
            # A failed listing's output renders as None, or as the cause it published.
            listing_error = published_error(self.batches) or (
                "it published no batches (see its log)" if self.batches is None else None
            )
        batches = [] if listing_error else list(self.batches or [])
        return finish_run(
            self.manifests,
            n_batches=len(batches) if self.batches is not None else None,
            listing_error=listing_error,
            rows_loaded=self.rows_loaded,
            load_expected=self.load_expected,
            cost=self._cost(context),
            review=self._review(context),
            invoices=self._invoices(context),
            note=empty_listing_note(self.source) if self.batches_expected and self.batches == [] else None,
            task_ids=self.step_task_ids,
            log=self.log,
        )

    def _cost(self, context: Context) -> dict[str, Any] | None:
        """Per endpoint: this run's calls and cost, and the month's so far, from ``ocr_usage``."""
        if not self.warehouse_conn_id:
            return None
        from baidu_ocr.pipeline.usage import beijing_day, cost_lines

        ti = context["ti"]
        run = self.warehouse.usage(dag_id=ti.dag_id, run_id=ti.run_id)
        month = self.warehouse.usage(month_of_day=beijing_day())
        return cost_lines(
            {ep: calls for ep, (calls, _, _) in run.items()},
            {ep: calls for ep, (calls, _, _) in month.items()},
            {ep: cost for ep, (_, _, cost) in run.items()},
            {ep: cost for ep, (_, _, cost) in month.items()},
            self._prices(),
        )

    def _review(self, context: Context) -> dict[str, int] | None:
        """The documents this run queued for review (``ocr_review_queue``), counted by reason."""
        if not self.warehouse_conn_id:
            return None
        from collections import Counter

        ti = context["ti"]
        queued = self.warehouse.review_queue(ti.dag_id, ti.run_id)
        return dict(Counter(item["reason"] for item in queued))

    def _invoices(self, context: Context) -> dict[str, Any] | None:
        """What this run's invoices add up to, when the run loaded ``ocr_invoices`` rows."""
        if not self.warehouse_conn_id or not (self.rows_loaded or {}).get("ocr_invoices"):
            return None
        ti = context["ti"]
        return self.warehouse.invoice_summary(ti.dag_id, ti.run_id)

    def _prices(self) -> dict[str, Any]:
        from baidu_ocr.client.connection import BaiduOcrSettings
        from baidu_ocr.exceptions import ConfigError

        try:
            conn = BaseHook.get_connection(self.baidu_ocr_conn_id)
        except Exception:  # noqa: BLE001 - no such connection: the calls are shown without prices
            self.log.warning("No connection %r: cost shown without prices", self.baidu_ocr_conn_id)
            return {}
        try:
            return BaiduOcrSettings.from_connection(conn).pricing
        except ConfigError as exc:
            self.log.warning("Connection %r: %s; cost shown without prices", self.baidu_ocr_conn_id, exc)
            return {}


def _task_id_of(value: Any) -> str | None:
    """The task whose output ``value`` is (an ``XComArg``), else ``None``."""
    return getattr(getattr(value, "operator", None), "task_id", None)
