"""Summary operator: a run's numbers in the log and XCom; the run fails when any OCR batch failed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseHook, BaseOperator

from baidu_ocr.operators.base import WarehouseOperatorMixin

if TYPE_CHECKING:
    from airflow.sdk import Context


class BaiduOcrRunSummaryOperator(WarehouseOperatorMixin, BaseOperator):
    """Log and return a run's summary; fail the run when any OCR batch or the load failed.

    Seen / skipped / ok / failed images by error class, billable calls, retries, p50/p95 latency and the
    achieved QPS, from the batch manifests and the staged records. Runs with ``trigger_rule="all_done"`` by
    default so that a failed batch still gets its summary.

    :param manifests: the manifests of the OCR tasks (a mapped task's output is fine).
    :param batches: the planned batches (any list, e.g. ``list_batches``' output): a batch without a
        manifest failed before staging anything.
    :param rows_loaded: the load task's output (rows upserted per table), shown in the summary. When given,
        the run fails if the load failed (it then published an ``error``, or nothing at all).
    :param aws_conn_id: the AWS connection for S3 (staged latencies are read back).
    :param warehouse_conn_id: the warehouse holding ``ocr_usage``: with it, the summary shows per endpoint
        this run's billable calls, the month's so far, the share of the free allowance used and the
        estimated cost (prices from the ``baidu_ocr`` connection's extra ``pricing``).
        With it, the summary also counts the documents this run queued for review, by reason.
    :param baidu_ocr_conn_id: the ``baidu_ocr`` connection whose prices apply.

    A run whose batch stopped early (``max_billable_calls`` reached, Baidu's daily quota) fails with
    :class:`~baidu_ocr.pipeline.manifests.RunStoppedEarly`, after the summary says how many images were left.
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
        self.aws_conn_id = aws_conn_id
        self.warehouse_conn_id = warehouse_conn_id
        self.baidu_ocr_conn_id = baidu_ocr_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from baidu_ocr.exceptions import RunFailed
        from baidu_ocr.pipeline.manifests import finish_run

        batches = list(self.batches or [])
        summary = finish_run(
            S3Hook(aws_conn_id=self.aws_conn_id),
            self.manifests,
            n_batches=len(batches) if self.batches is not None else None,
            rows_loaded=self.rows_loaded,
            load_expected=self.load_expected,
            cost=self._cost(context),
            review=self._review(context),
            log=self.log,
        )
        if self.batches_expected and self.batches is None:
            # The listing task failed (or never started): nothing was OCRed, which is no success.
            raise RunFailed(
                "The batches were never listed (the listing task failed; see its log): nothing was OCRed."
            )
        return summary

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
