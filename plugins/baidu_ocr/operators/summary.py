"""Summary operator: a run's numbers in the log and XCom; the run fails when any OCR batch failed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

if TYPE_CHECKING:
    from airflow.sdk import Context


class BaiduOcrRunSummaryOperator(BaseOperator):
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
        # Decided here, before rendering: a failed load's (or listing's) output renders as None.
        self.load_expected = rows_loaded is not None
        self.batches_expected = batches is not None
        self.aws_conn_id = aws_conn_id

    def execute(self, context: Context) -> dict[str, Any]:
        from airflow.providers.amazon.aws.hooks.s3 import S3Hook

        from baidu_ocr.manifests import RunFailed, finish_run

        batches = list(self.batches or [])
        summary = finish_run(
            S3Hook(aws_conn_id=self.aws_conn_id),
            self.manifests,
            n_batches=len(batches) if self.batches is not None else None,
            rows_loaded=self.rows_loaded,
            load_expected=self.load_expected,
            log=self.log,
        )
        if self.batches_expected and self.batches is None:
            # The listing task failed (or never started): nothing was OCRed, which is no success.
            raise RunFailed(
                "The batches were never listed (the listing task failed; see its log): nothing was OCRed."
            )
        return summary
