"""Asset events mean "rows landed": one per table that received rows in the run, with the counts in its extra.

A rerun that OCRs nothing loads nothing and so emits no event: downstream DAGs scheduled on a warehouse
table are not woken for nothing.
"""

from __future__ import annotations

import pytest

from tests.dags.conftest import run_dag

pytestmark = pytest.mark.integration


def _events(dag_id: str, run_id: str) -> dict[str, dict]:
    """The run's asset events from the metadata database: table name -> event extra."""
    from airflow.models.asset import AssetEvent
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        events = session.scalars(
            select(AssetEvent).where(AssetEvent.source_dag_id == dag_id, AssetEvent.source_run_id == run_id)
        ).all()
        return {event.asset.name: dict(event.extra or {}) for event in events}


def _rows_loaded(run) -> dict[str, int]:
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        value = session.scalar(
            select(XComModel.value).where(
                XComModel.dag_id == run.dag_id,
                XComModel.run_id == run.run_id,
                XComModel.task_id == "normalize_and_load",
                XComModel.key == "return_value",
            )
        )
    return XComModel.deserialize_value(type("X", (), {"value": value})())


def _map_labels(run, task_id: str) -> list[str]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session
    from sqlalchemy import select

    with create_session() as session:
        return list(
            session.scalars(
                select(TaskInstance.rendered_map_index)
                .where(TaskInstance.run_id == run.run_id, TaskInstance.task_id == task_id)
                .order_by(TaskInstance.map_index)
            )
        )


def test_only_tables_that_got_rows_get_an_event_and_a_rerun_emits_none(
    airflow_db, s3_env, ocr_server, sqlite_warehouse, capfd
):
    images = s3_env.upload_samples("documents")
    conf = {"bucket": s3_env.bucket, "prefix": "samples/documents/", "batch_size": 3}
    dag_id = "baidu_ocr_s3_to_warehouse"

    first = run_dag(dag_id, conf)
    assert first.state == "success"
    rows = _rows_loaded(first)
    events = _events(dag_id, first.run_id)
    assert rows["ocr_documents"] == len(images) and rows["ocr_chars"] == 0  # no char granularity asked
    assert set(events) == {table for table, n in rows.items() if n}
    assert "ocr_chars" not in events
    lines = events["ocr_lines"]
    assert lines["table"] == "ocr_lines" and lines["rows"] == rows["ocr_lines"] > 0
    assert lines["rows_loaded"] == {table: n for table, n in rows.items() if n}
    assert (lines["images_ok"], lines["images_failed"], lines["billable_calls"]) == (
        len(images),
        0,
        len(images),
    )

    # The task logs (structlog, on stdout) hold no key list and no statement listing every content hash.
    logged = "".join(capfd.readouterr())
    assert "Done. Returned value not shown" in logged and "Returned value was: [" not in logged
    assert "Running statement" not in logged and "content_sha256 IN" not in logged

    second = run_dag(dag_id, conf)
    assert second.state == "success"
    assert not any(_rows_loaded(second).values())
    assert _events(dag_id, second.run_id) == {}


@pytest.mark.parametrize("api", ["table", "form_ocr"])
def test_the_tables_dag_declares_every_table_it_writes(airflow_db, s3_env, ocr_server, sqlite_warehouse, api):
    from tests.dags.conftest import load_dag

    images = s3_env.upload_samples("tables")
    dag_id = "baidu_ocr_tables_to_warehouse"
    conf = {
        "bucket": s3_env.bucket,
        "prefix": "samples/tables/",
        "api": api,
        "poll_interval": 0.05,
        "deferrable": False,
    }
    run = run_dag(dag_id, conf)
    assert run.state == "success"
    written = {table for table, n in _rows_loaded(run).items() if n}
    declared = {alias.name for alias in load_dag(dag_id).get_task("normalize_and_load").outlets}
    # Header and footer text of a table become ocr_fields rows (the real engine finds some; not the fixture).
    assert {f"baidu-ocr-warehouse://warehouse_default/{t} (rows loaded)" for t in ("ocr_fields",)} <= declared
    assert {"ocr_documents", "ocr_table_cells"} <= written
    assert all(
        f"baidu-ocr-warehouse://warehouse_default/{table} (rows loaded)" in declared for table in written
    )
    events = _events(dag_id, run.run_id)
    assert set(events) == written
    # One billable call per image: table v2 answers at once; a form_ocr job is submitted once and its polls
    # are counted apart (they used to inflate the calls).
    cells = events["ocr_table_cells"]
    assert cells["billable_calls"] == len(images)
    if api == "table":
        assert cells["status_checks"] == 0 and "ocr_fields" in written  # the excel_uri links
    else:
        assert cells["status_checks"] >= len(images)
