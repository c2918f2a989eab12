"""The human review a DAG adds after its load: which queued documents get a review task, and the three
tasks themselves (``review_queue`` -> mapped ``review`` -> ``apply_reviews``), one copy for every DAG."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)

# Review tasks per run (Airflow's max_map_length is 1024); the rest stay queued as needs_review.
MAX_REVIEWS = 512


def reviews_to_open(
    warehouse_conn_id: str, *, review_in_ui: bool, ti: Any, dag_run: Any
) -> list[dict[str, Any]]:
    """The documents this run queued in ``ocr_review_queue``, to map the review task over.

    None when reviews are not opened in the UI, and none under ``airflow dags test``: it waits for every
    human answer and never applies a review timeout, so the documents stay queued as ``needs_review``.
    """
    from baidu_ocr.warehouse import WarehouseLoader

    if not review_in_ui:
        return []
    if dag_run.triggering_user_name == "dag_test":  # the marker dag.test() gives its runs
        log.warning("airflow dags test: documents stay queued, no review task")
        return []
    return WarehouseLoader(warehouse_conn_id).review_queue(ti.dag_id, ti.run_id, limit=MAX_REVIEWS)


def add_review_steps(load: Any, *, warehouse_conn_id: str, review_operator: type | None = None) -> Any:
    """Add, after ``load`` in the DAG being defined, a review task per document the run queued and the task
    that stores the answers; return the (mapped) review task.

    The DAG's params must hold ``review_in_ui`` (open review tasks at all) and ``review_timeout_minutes``.
    ``review_operator``: :class:`~baidu_ocr.operators.BaiduOcrReviewOperator` (line corrections, the
    default) or :class:`~baidu_ocr.operators.BaiduOcrInvoiceReviewOperator` (book or reject an invoice).
    """
    from airflow.sdk import task

    from baidu_ocr.operators.review import BaiduOcrApplyReviewsOperator, BaiduOcrReviewOperator

    @task(show_return_value_in_logs=False)  # up to 512 documents' fields or low lines: not for the log
    def review_queue(params: dict, ti=None, dag_run=None) -> list[dict]:
        """The documents this run queued for review (none when reviews are not opened in the UI)."""
        return reviews_to_open(warehouse_conn_id, review_in_ui=params["review_in_ui"], ti=ti, dag_run=dag_run)

    queued = review_queue()
    load >> queued
    review = (
        (review_operator or BaiduOcrReviewOperator)
        .partial(
            task_id="review",
            timeout_minutes="{{ params.review_timeout_minutes }}",
            map_index_template="{{ task.document['source_uri'] }}",
        )
        .expand(document=queued)
    )
    BaiduOcrApplyReviewsOperator(
        task_id="apply_reviews", responses=review.output, warehouse_conn_id=warehouse_conn_id
    )
    return review
