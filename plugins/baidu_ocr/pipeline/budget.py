"""The run's cost cap (``max_billable_calls``): its limit and what the run had spent, read once per try and
passed down to the code that sends calls, with the one message a budget stop says.

A call takes a unit before it is sent and keeps it only when it succeeds (Baidu bills successful calls): a
failed call gives its unit back.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from baidu_ocr.exceptions import BudgetExhausted
from baidu_ocr.pipeline.params import unset


class RunBudget:
    """At most ``limit`` billable calls for the run, ``spent_before`` of them already recorded by the run's
    other tasks and tries when this try started (``limit=None``: no cap)."""

    def __init__(
        self, limit: int | str | None, *, spent_before: int = 0, endpoint: str | None = None
    ) -> None:
        self.limit = None if unset(limit) else int(limit)  # type: ignore[arg-type]
        self.spent_before = spent_before
        self.endpoint = endpoint
        self.spent = 0  # this try's billed calls
        self._in_flight = 0
        self._lock = threading.Lock()

    def carry(self) -> dict[str, int]:
        """What a deferred task needs to say its stop after the deferral (plain data: it crosses processes)."""
        return {"spent_before": self.spent_before, "spent": self.spent}

    @classmethod
    def carried(cls, limit: int | None, carried: dict[str, int], *, endpoint: str | None = None) -> RunBudget:
        budget = cls(limit, spent_before=int(carried.get("spent_before", 0)), endpoint=endpoint)
        budget.spent = int(carried.get("spent", 0))
        return budget

    @property
    def left(self) -> int | None:
        """Calls this try may still send (``None``: no cap)."""
        if self.limit is None:
            return None
        return max(0, self.limit - self.spent_before - self.spent - self._in_flight)

    def exhausted(self, n_left: int | None = None) -> BudgetExhausted:
        """The budget stop, with the run's figures (and what waits for the next run, once known)."""
        message = (
            f"max_billable_calls={self.limit} reached for this run "
            f"({self.spent_before} call(s) recorded before this task, {self.spent} by it)"
        )
        if n_left is not None:
            message += f"; {n_left} image(s) left for the next run"
        return BudgetExhausted(message, endpoint=self.endpoint)

    def take(self) -> None:
        """Take one unit for a call about to be sent, or raise the budget stop."""
        with self._lock:
            if self.left == 0:
                raise self.exhausted()
            self._in_flight += 1

    def settle(self, billed: bool) -> None:
        """A taken unit's call ended: kept when it was billed, given back when it was not."""
        with self._lock:
            self._in_flight -= 1
            self.spent += billed

    @contextmanager
    def call(self) -> Iterator[None]:
        """One call under the budget: a unit taken first, kept only when the call succeeds."""
        if self.limit is None:
            yield
            return
        self.take()
        billed = False
        try:
            yield
            billed = True
        finally:
            self.settle(billed)
