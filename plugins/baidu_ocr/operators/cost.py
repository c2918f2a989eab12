"""What an S3-batch operator's run may spend and what it spent: the run budget and the ``ocr_usage`` rows.

A mixin of :class:`~baidu_ocr.operators.base.S3ImageBatchOperator` (which sets ``max_billable_calls``,
``warehouse_conn_id`` and ``_budget``, and has the ``hook`` and ``warehouse``), kept apart from its batch work.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from baidu_ocr.exceptions import BudgetExhausted
from baidu_ocr.pipeline.budget import RunBudget
from baidu_ocr.pipeline.params import unset
from baidu_ocr.pipeline.stats import add_call_counts

if TYPE_CHECKING:
    from airflow.sdk import Context

    from baidu_ocr.pipeline.records import OcrOutcome


class RunCostMixin:
    """The run's budget, the budget stop's reason, and this try's usage rows."""

    def _run_budget(self, context: Context) -> RunBudget:
        """The run's ``max_billable_calls``, reserved call by call in the ledger every task of the run shares:
        the warehouse's ``ocr_run_budget`` row, else a Redis counter (the connection's ``redis_url``), else
        (no shared place) this try's own counter."""
        ledger = None
        if not unset(self.max_billable_calls):
            ti = context["ti"]
            if self.warehouse_conn_id:
                ledger = self.warehouse.budget_ledger(ti.dag_id, ti.run_id)
            elif redis_url := self.hook.settings.redis_url:
                from baidu_ocr.pipeline.budget import RedisLedger

                ledger = RedisLedger(redis_url, ti.dag_id, ti.run_id)
            else:
                self.log.warning(
                    "max_billable_calls=%s holds for this task try alone: without a warehouse_conn_id or the "
                    "connection's redis_url, the run's tasks have no shared place to count their calls",
                    self.max_billable_calls,
                )
        self._budget = RunBudget(self.max_billable_calls, ledger=ledger, endpoint=self.billing_endpoint)
        return self._budget

    def _stopped_reason(self, error: BaseException | None, n_left: int) -> BaseException | None:
        """A budget stop said with the run's figures and what is left (the runner only knows this try's share)."""
        if isinstance(error, BudgetExhausted) and self._budget is not None:
            return self._budget.exhausted(n_left)
        return error

    def _record_usage(self, context: Context, stats: dict[str, Any], pages: int) -> list[dict[str, Any]]:
        """This try's ``ocr_usage`` rows (nothing without a warehouse or without calls)."""
        if not self.warehouse_conn_id or not (stats.get("calls_by_endpoint") or pages):
            return []
        from baidu_ocr.pipeline.usage import beijing_day, usage_rows

        ti = context["ti"]
        rows = usage_rows(
            dag_id=ti.dag_id,
            run_id=ti.run_id,
            task_id=ti.task_id,
            map_index=ti.map_index if ti.map_index is not None else -1,
            try_number=getattr(ti, "try_number", None) or 1,
            stats=stats,
            pages_by_endpoint={self.billing_endpoint: pages} if pages else {},
            day=beijing_day(),
        )
        try:
            written = self.warehouse.record_usage(rows, self.hook.settings.pricing)
        except Exception as exc:  # noqa: BLE001 - bookkeeping: the batch's results must still be published
            self.log.warning(
                "Could not record the usage of this try in ocr_usage: %s: %s", type(exc).__name__, exc
            )
            return []
        self._lineage_usage = written
        return written


def count_earlier_calls(stats: dict[str, Any], earlier: Sequence[OcrOutcome], endpoint: str) -> None:
    """Add the calls earlier tries of this task paid for (in this run) to this try's ``stats``: one billable
    call per result, every other attempt a failed (unbilled) one."""
    if not earlier:
        return
    attempts = sum(max(o.attempts, 1 if o.ok else 0) for o in earlier)
    billable = sum(1 for o in earlier if o.ok)
    counts = {"billable_calls": billable, "failed_calls": attempts - billable}
    stats["calls_of_earlier_tries"] = attempts
    add_call_counts(stats, {**counts, "calls_by_endpoint": {endpoint: counts}})
