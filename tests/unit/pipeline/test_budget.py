"""The run's budget: units taken before a call, kept when billed, given back when not; one stop message."""

from __future__ import annotations

import threading

import pytest
from baidu_ocr.exceptions import BudgetExhausted
from baidu_ocr.pipeline.budget import LocalLedger, RunBudget
from baidu_ocr.pipeline.params import unset


def test_the_budget_counts_successes_and_gives_back_failed_calls():
    budget = RunBudget(2, endpoint="general_basic")
    with pytest.raises(RuntimeError), budget.call():
        raise RuntimeError("the call failed: not billed")
    for _ in range(2):
        with budget.call():
            pass
    with (
        pytest.raises(
            BudgetExhausted,
            match=r"max_billable_calls=2 reached for this run \(0 call\(s\) reserved before this task, 2 by it\)",
        ),
        budget.call(),
    ):
        pass
    assert budget.spent == 2


def test_calls_in_flight_count_against_the_budget():
    budget = RunBudget(3, endpoint="general_basic")
    release, entered, refused = threading.Event(), threading.Barrier(4), []

    def call() -> None:
        try:
            with budget.call():
                entered.wait()
                release.wait()
        except BudgetExhausted:
            refused.append(1)
            entered.wait()

    threads = [threading.Thread(target=call) for _ in range(4)]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(timeout=10)
    assert (budget.spent, len(refused)) == (3, 1)


def test_what_the_run_spent_before_counts_and_the_stop_says_what_is_left():
    budget = RunBudget("5", ledger=LocalLedger(spent=4), endpoint="accurate")
    assert budget.left == 1
    with budget.call():
        pass
    assert budget.left == 0
    error = budget.exhausted(n_left=7)
    assert isinstance(error, BudgetExhausted) and error.endpoint == "accurate"
    assert str(error).startswith(
        "max_billable_calls=5 reached for this run (4 call(s) reserved before this task, 1 by it); "
        "7 image(s) left for the next run"
    )


@pytest.mark.parametrize("value", [None, "", "None", " None "])
def test_an_unset_templated_limit_is_no_cap(value):
    assert unset(value)
    budget = RunBudget(value)
    assert budget.limit is None and budget.left is None
    for _ in range(100):
        with budget.call():
            pass


def test_a_carried_budget_keeps_its_figures_across_a_deferral():
    budget = RunBudget(10, ledger=LocalLedger(spent=3))
    with budget.call():
        pass
    again = RunBudget.carried("10", budget.carry(), endpoint="table")
    assert (again.limit, again.spent_before, again.spent, again.left) == (10, 3, 1, 6)
