"""The params several example DAGs share, declared once: the spending cap and failure ratio of a run, the
confidence gate, and the human review. Each call returns new ``Param`` objects (a DAG owns its params)."""

from __future__ import annotations

from typing import Any


def budget_params(
    cap: str = "billable calls this run may spend", rest: str = "the rest waits for the next run"
) -> dict[str, Any]:
    """``max_failure_ratio`` (a batch fails above it) and ``max_billable_calls`` (the run's spending cap;
    ``cap`` says what it counts, ``rest`` what happens to what it leaves)."""
    from airflow.sdk import Param

    return {
        "max_failure_ratio": Param(0.2, type="number", minimum=0, maximum=1),
        "max_billable_calls": Param(
            None,
            type=["null", "integer"],
            minimum=0,
            description=f"{cap} (empty: no cap); {rest}",
        ),
    }


def confidence_gate_param() -> dict[str, Any]:
    """``min_confidence``: documents with a line under it (or no text) are queued for review."""
    from airflow.sdk import Param

    from baidu_ocr.normalize.review_gate import DEFAULT_MIN_CONFIDENCE

    return {
        "min_confidence": Param(
            DEFAULT_MIN_CONFIDENCE,
            type=["number", "null"],
            minimum=0,
            maximum=1,
            description="documents with a line under this confidence (or no text) go to review; null: no gate",
        )
    }


def review_params(
    *, open_in_ui: bool = True, timeout_minutes: float = 24 * 60, what: str = "document"
) -> dict[str, Any]:
    """``review_in_ui`` and ``review_timeout_minutes``, which :func:`~baidu_ocr.pipeline.review_tasks.add_review_steps`
    reads."""
    from airflow.sdk import Param

    return {
        "review_in_ui": Param(
            open_in_ui, type="boolean", description=f"open a review task in the UI per queued {what}"
        ),
        "review_timeout_minutes": Param(
            timeout_minutes, type="number", exclusiveMinimum=0, description="how long a review stays open"
        ),
    }
