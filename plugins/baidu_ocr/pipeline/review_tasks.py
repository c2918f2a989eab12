"""Which queued documents a run opens a review task for: one rule for every DAG that reviews."""

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
