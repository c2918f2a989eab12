"""A failed step's cause, handed to the run summary: a failed task's output is otherwise empty, and the
summary could not say why the run failed, nor which step failed first.

The convention: a step that fails publishes ``{"error": "<class>: <message>"}`` as its output first
(:func:`publish_error`, or :func:`publish_error_on_failure` on a ``@task`` function); whoever reads its
output (the summary, the ID-card purge) finds the cause with :func:`published_error`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow.sdk.types import RuntimeTaskInstanceProtocol


def load_error(rows_loaded: Any) -> str | None:
    """Why the load failed, from what it published (``None``: it published nothing, so it did not finish),
    or ``None`` when it succeeded."""
    if rows_loaded is None:
        return "the load task did not finish (see its log)"
    return published_error(rows_loaded)


def published_error(output: Any) -> str | None:
    """The cause a failed step published as its output (:func:`publish_error`), else ``None``."""
    if isinstance(output, dict) and output.get("error"):
        return str(output["error"])
    return None


def publish_error(ti: RuntimeTaskInstanceProtocol, error: BaseException) -> None:
    """Publish why a step failed as its output, before it fails: a failed task's output is otherwise empty,
    and the run summary could not name the cause."""
    ti.xcom_push(key="return_value", value={"error": f"{type(error).__name__}: {error}"})


def publish_error_on_failure(func: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a ``@task`` function (below ``@task``) so that, when it fails, its cause is its output
    (:func:`publish_error`): the listing's, for the run summary."""

    @functools.wraps(func)
    def step(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Exception as error:
            from airflow.sdk import get_current_context

            publish_error(get_current_context()["ti"], error)
            raise

    return step
