"""The run budget's ledgers under real parallelism: processes reserving against one cap never pass it.

Each process is a task try on another worker as far as the ledger can tell: its own interpreter, its own
database (or Redis) connection. The cap holds exactly, a release gives a unit back, and a run that began
before the ledger existed starts from the calls ``ocr_usage`` already holds for it.
"""

from __future__ import annotations

import os
import uuid
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime
from multiprocessing import get_context

import pytest
from baidu_ocr.exceptions import BudgetExhausted
from baidu_ocr.pipeline.budget import RedisLedger, RunBudget
from baidu_ocr.warehouse import WarehouseLoader

from tests.services import require_redis

PROCESSES, ATTEMPTS, CAP = 4, 25, 40
pytestmark = pytest.mark.slow  # each process starts its own interpreter


def _reserve_in_warehouse(conn_id: str, conn_uri: str, schema: str | None, run_id: str) -> int:
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = conn_uri  # this test's warehouse, not the process's first
    ledger = WarehouseLoader(conn_id, schema=schema).budget_ledger("dag", run_id)
    try:
        return sum(ledger.reserve(1, CAP) for _ in range(ATTEMPTS))
    finally:
        ledger.close()


def _reserve_in_redis(url: str, run_id: str) -> int:
    ledger = RedisLedger(url, "dag", run_id)
    try:
        return sum(ledger.reserve(1, CAP) for _ in range(ATTEMPTS))
    finally:
        ledger.close()


@pytest.fixture(scope="module")
def processes():
    """The module's worker processes, started once: each test's ledgers and connections are made and closed
    in the call, so a test gets nothing from the one before but interpreters with the imports done."""
    with ProcessPoolExecutor(PROCESSES, mp_context=get_context("spawn")) as pool:
        yield pool


def _in_processes(pool: ProcessPoolExecutor, fn, *args) -> list[int]:
    return list(pool.map(fn, *[[a] * PROCESSES for a in args]))


def test_parallel_processes_reserve_exactly_the_cap_in_the_warehouse(make_loader, processes):
    loader = make_loader()
    loader.ensure_schema()
    conn_uri = os.environ[f"AIRFLOW_CONN_{loader.conn_id.upper()}"]
    granted = _in_processes(
        processes, _reserve_in_warehouse, loader.conn_id, conn_uri, loader.schema, "run-1"
    )
    assert sum(granted) == CAP and len([g for g in granted if g]) >= 2  # every process got a share
    ledger = loader.budget_ledger("dag", "run-1")
    assert ledger.spent() == CAP and not ledger.reserve(1, CAP)
    ledger.release(3)
    assert ledger.spent() == CAP - 3 and ledger.reserve(3, CAP) and not ledger.reserve(1, CAP)
    assert loader.budget_ledger("dag", "run-2").spent() == 0  # another run has its own row
    ledger.close()


def test_parallel_processes_reserve_exactly_the_cap_in_redis(processes):
    url = require_redis()
    run_id = f"run-{uuid.uuid4().hex}"
    granted = _in_processes(processes, _reserve_in_redis, url, run_id)
    assert sum(granted) == CAP
    ledger = RedisLedger(url, "dag", run_id)
    assert ledger.spent() == CAP and not ledger.reserve(1, CAP)
    ledger._redis.delete(ledger._key)
    ledger.close()


def test_a_run_that_began_before_the_ledger_starts_from_its_recorded_usage(make_loader):
    loader = make_loader()
    usage = {
        "dag_id": "dag",
        "run_id": "old-run",
        "task_id": "ocr_batch",
        "map_index": 0,
        "try_number": 1,
        "endpoint": "general_basic",
        "day": datetime.now(UTC).date(),
        "billable_calls": 7,
        "pages": 7,
        "failed_calls": 0,
        "recorded_at": datetime.now(UTC),
    }
    loader.record_usage([usage], {})
    budget = RunBudget(10, ledger=loader.budget_ledger("dag", "old-run"), endpoint="general_basic")
    assert (budget.spent_before, budget.left) == (7, 3)
    with pytest.raises(RuntimeError), budget.call():  # a failed call is not billed: its unit comes back
        raise RuntimeError("refused")
    for _ in range(3):
        with budget.call():
            pass
    with pytest.raises(
        BudgetExhausted, match=r"max_billable_calls=10 reached for this run \(7 call\(s\) reserved"
    ):
        budget.take()
    assert budget.ledger.spent() == 10 and budget.spent == 3
    budget.close()


def test_the_worker_threads_of_one_task_share_its_ledger(make_loader):
    """The hook's worker threads reserve through one ledger (a SQLite connection must not cross threads)."""
    from concurrent.futures import ThreadPoolExecutor

    loader = make_loader()
    ledger = loader.budget_ledger("dag", "threads")
    with ThreadPoolExecutor(8) as pool:
        granted = sum(pool.map(lambda _: ledger.reserve(1, CAP), range(CAP + 20)))
    assert granted == CAP == ledger.spent()
    ledger.close()
