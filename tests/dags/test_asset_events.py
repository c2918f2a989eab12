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


def _declared(dag_id: str) -> set[str]:
    """The tables whose alias the DAG's load task declares as an outlet."""
    from tests.dags.conftest import load_dag

    prefix, suffix = "baidu-ocr-warehouse://warehouse_default/", " (rows loaded)"
    names = {alias.name for alias in load_dag(dag_id).get_task("normalize_and_load").outlets}
    assert all(n.startswith(prefix) and n.endswith(suffix) for n in names), names
    return {n[len(prefix) : -len(suffix)] for n in names}


def test_only_tables_that_got_rows_get_an_event_and_a_rerun_emits_none(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse, capfd
):
    images = s3_env.upload_samples("documents")
    conf = {"bucket": s3_env.bucket, "prefix": "samples/documents/", "batch_size": 3}
    dag_id = "baidu_ocr_s3_to_warehouse"

    first = run_dag(dag_id, conf)
    assert first.state == "success"
    # map_index_template: each mapped OCR task is named after its batch, not 0, 1, 2 (12 samples, 3 a batch).
    assert _map_labels(first, "ocr_batch") == [
        f"batch {i + 1}/4 · 3 images · doc_{3 * i + 1:02d}…doc_{3 * i + 3:02d}" for i in range(4)
    ]
    rows = _rows_loaded(first)
    events = _events(dag_id, first.run_id)
    assert rows["ocr_documents"] == len(images) and rows["ocr_chars"] == 0  # no char granularity asked
    assert set(events) == {table for table, n in rows.items() if n}
    assert "ocr_chars" not in events
    lines = events["ocr_lines"]
    assert lines["table"] == "ocr_lines" and lines["rows"] == rows["ocr_lines"] > 0
    assert lines["rows_loaded"] == {table: n for table, n in rows.items() if n}
    assert (lines["documents_ok"], lines["pages_failed"], lines["billable_calls"]) == (
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
def test_the_tables_dag_declares_every_table_it_writes(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse, api
):
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
    # ocr_fields: the Excel links (table v2), and a table's header and footer text (the real engine finds
    # some; not the fixture): declared either way.
    assert _declared(dag_id) == {"ocr_documents", "ocr_table_cells", "ocr_fields"}
    assert {"ocr_documents", "ocr_table_cells"} <= written <= _declared(dag_id)
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


@pytest.mark.parametrize(
    ("dag_id", "samples", "extra_conf"),
    [
        ("baidu_ocr_idcards_to_warehouse", "idcards", {}),
        ("baidu_ocr_parse_documents", "documents_pdf", {"deferrable": False, "poll_interval": 0.05}),
    ],
    ids=["idcards", "parser"],
)
def test_the_other_dags_declare_exactly_the_tables_they_write(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse, dag_id, samples, extra_conf
):
    s3_env.upload_samples(samples)
    conf = {"bucket": s3_env.bucket, "prefix": f"samples/{samples}/", **extra_conf}
    run = run_dag(dag_id, conf)
    assert run.state == "success"
    written = {table for table, n in _rows_loaded(run).items() if n}
    assert written == _declared(dag_id)
    assert set(_events(dag_id, run.run_id)) == written
