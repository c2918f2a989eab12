"""A run that fails says so, and nothing paid for is lost: the warehouse refuses writes (a real database
refusing, through a trigger, as a read-only replica would), then is fixed and the run is cleared and rerun."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from baidu_ocr.pipeline.staging import DEFAULT_STAGING_PREFIX
from baidu_ocr.warehouse import WarehouseLoader

from tests.dags.conftest import run_dag

REFUSE = (
    "CREATE TRIGGER refuse_writes BEFORE INSERT ON ocr_documents BEGIN SELECT RAISE(ABORT, 'read-only'); END"
)

CASES = {
    "baidu_ocr_s3_to_warehouse": ("documents", {"prefix": "samples/documents/"}),
    "baidu_ocr_idcards_to_warehouse": ("idcards", {"prefix": "samples/idcards/"}),
    "baidu_ocr_tables_to_warehouse": ("tables", {"prefix": "samples/tables/", "poll_interval": 0.05}),
}


def _billable(server) -> int:
    return int(server.stats()["billable"])


@pytest.mark.parametrize("dag_id", sorted(CASES))
def test_a_failed_load_fails_the_run_keeps_what_was_paid_for_and_a_rerun_loads_it_free(
    dag_id, airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse
):
    kind, conf = CASES[dag_id]
    images = s3_env.upload_samples(kind)
    conf = {"bucket": s3_env.bucket, **conf}
    loader = WarehouseLoader("warehouse_default")
    loader.ensure_schema()
    loader.hook.run(REFUSE)
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)

    failed = run_dag(dag_id, conf, logical_date=when, run_after=when)

    assert failed.state == "failed"
    calls = _billable(baidu_ocr_server)
    assert calls > 0
    assert loader.row_counts()["ocr_documents"] == 0
    staged = s3_env.keys(f"{DEFAULT_STAGING_PREFIX}/{dag_id}/")
    assert staged, "what was paid for must stay staged (the ID-card purge must not run)"

    loader.hook.run("DROP TRIGGER refuse_writes")
    rerun = run_dag(dag_id, conf, logical_date=when, run_after=when)  # "Clear" the failed run

    assert rerun.state == "success"
    assert _billable(baidu_ocr_server) == calls  # nothing paid twice
    assert loader.row_counts()["ocr_documents"] == len({p.read_bytes() for p in images})
    if dag_id == "baidu_ocr_idcards_to_warehouse":  # purged once the load succeeded
        assert s3_env.keys(f"{DEFAULT_STAGING_PREFIX}/{dag_id}/") == []
