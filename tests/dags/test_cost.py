"""Cost accounting end to end: ``ocr_usage`` against the local server's own call counters, the run's budget
(``max_billable_calls``) and Baidu's daily quota (error 17) stopping a run, and the next run paying only
for what was left."""

from __future__ import annotations

import pytest

from tests.dags.conftest import run_dag

pytestmark = pytest.mark.integration

DAG_ID = "baidu_ocr_s3_to_warehouse"
PRICING = {"general_basic": {"free_per_month": 5, "price_per_1000": 3.0}}


def _summary(run) -> dict:
    (ti,) = [ti for ti in run.get_task_instances() if ti.task_id == "summarize"]
    return ti.xcom_pull(task_ids="summarize")


def _use(monkeypatch, server, **extra) -> None:
    monkeypatch.setenv(
        "AIRFLOW_CONN_BAIDU_OCR_DEFAULT",
        server.airflow_connection(qps=500, timeout=10, pricing=PRICING, **extra),
    )


def _usage(warehouse) -> tuple[int, int, int]:
    ((billable, pages, failed),) = warehouse.records(
        "SELECT SUM(billable_calls), SUM(pages), SUM(failed_calls) FROM ocr_usage"
    )
    return int(billable or 0), int(pages or 0), int(failed or 0)


def test_usage_matches_the_servers_counters_and_the_summary_shows_the_cost(
    airflow_db, s3_env, monkeypatch, warehouse
):
    from baidu_ocr_server.testing import running_server

    images = s3_env.upload_samples("documents")
    conf = {"bucket": s3_env.bucket, "prefix": "samples/documents/", "batch_size": 3}
    # One call in four fails (282000, retried): failed calls are counted, not billed.
    with running_server(engine="fixture", error_rates={"282000": 0.25}, seed=14) as server:
        _use(monkeypatch, server, max_retries=8)
        run = run_dag(DAG_ID, conf)
        stats = server.stats()

    assert run.state == "success"
    counters = stats["endpoints"]["general_basic"]
    billable, pages, failed = _usage(warehouse)
    assert billable == counters["ok"] == stats["billable"] == len(images)
    assert failed == counters["failed"] + counters["rejected"] > 0
    assert pages == len(images)
    rows = warehouse.records("SELECT COUNT(*), COUNT(DISTINCT map_index) FROM ocr_usage")
    assert rows == [(4, 4)]  # one row per mapped task (12 images in batches of 3), one endpoint, one day

    summary = _summary(run)
    assert (summary["billable_calls"], summary["failed_calls"]) == (billable, failed)
    cost = summary["cost"]["general_basic"]
    # 5 free calls a month, then 3.0 per 1000: 7 calls beyond the allowance.
    assert cost["run_billable_calls"] == cost["month_billable_calls"] == len(images)
    assert cost["free_allowance_used"] == pytest.approx(len(images) / 5)
    assert cost["run_estimated_cost"] == cost["month_estimated_cost"] == pytest.approx(0.021)

    # A rerun OCRs nothing: the month's figures stay in ocr_usage; the rerun called no endpoint, so its
    # summary has no cost line (it lists what the run used, not the month's other endpoints).
    with running_server(engine="fixture") as server:
        _use(monkeypatch, server)
        rerun = run_dag(DAG_ID, conf)
        assert server.stats()["billable"] == 0
    assert rerun.state == "success"
    assert _usage(warehouse)[0] == len(images)
    assert "cost" not in _summary(rerun)


def _stopped_run_then_the_rest(monkeypatch, s3_env, warehouse, capfd, *, server, conf, stop_reason):
    """The first run stops early; the second finishes the rest and pays for nothing twice."""
    images = s3_env.upload_samples("documents")
    first = run_dag(DAG_ID, {**conf, "bucket": s3_env.bucket, "prefix": "samples/documents/"})
    paid_first = server.stats()["billable"]
    loaded = warehouse.records("SELECT COUNT(*) FROM ocr_documents WHERE status = 'ok'")[0][0]
    logged = "".join(capfd.readouterr())

    assert first.state == "failed"
    assert 0 < paid_first < len(images)
    assert loaded == paid_first  # what finished was kept and loaded
    assert warehouse.records("SELECT COUNT(*) FROM ocr_documents WHERE status <> 'ok'") == [(0,)]
    left = len(images) - paid_first
    assert f"Run stopped early ({stop_reason}): {left} document(s) left for the next run" in logged
    assert _usage(warehouse)[0] == paid_first

    server.configure(daily_quota=None)
    second = run_dag(DAG_ID, {"bucket": s3_env.bucket, "prefix": "samples/documents/", "batch_size": 3})
    assert second.state == "success"
    assert server.stats()["billable"] - paid_first == left  # only the rest was paid for
    assert warehouse.records("SELECT COUNT(*) FROM ocr_documents WHERE status = 'ok'") == [(len(images),)]
    assert _usage(warehouse)[0] == len(images)


@pytest.mark.parametrize(
    ("server_kwargs", "budget", "stop_reason"),
    [
        ({}, {"max_billable_calls": 5}, "max_billable_calls reached"),
        ({"daily_quota": 4}, {}, "Baidu's quota is used up"),  # error 17 stops a run like the budget
    ],
    ids=["max_billable_calls", "daily_quota"],
)
def test_a_stopped_run_keeps_what_finished_and_the_next_run_finishes_the_rest(
    airflow_db, s3_env, monkeypatch, sqlite_warehouse, capfd, server_kwargs, budget, stop_reason
):
    from baidu_ocr_server.testing import running_server

    with running_server(engine="fixture", **server_kwargs) as server:
        _use(monkeypatch, server)
        _stopped_run_then_the_rest(
            monkeypatch,
            s3_env,
            sqlite_warehouse,
            capfd,
            server=server,
            conf={"batch_size": 3, **budget},
            stop_reason=stop_reason,
        )
        if budget:  # the budget held exactly: batches run one after the other here, each spends what is left
            assert server.stats()["endpoints"]["general_basic"]["ok"] == 12
        else:  # Baidu said so: error 17
            assert server.stats()["errors"].get("17", 0) > 0


@pytest.mark.parametrize(
    ("api", "server_endpoint", "billed_as"),
    [("table", "table", "table"), ("form_ocr", "form_ocr/request", "form_ocr_request")],
)
def test_the_budget_stops_table_jobs_too_after_staging_the_submitted_ones(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse, capfd, api, server_endpoint, billed_as
):
    images = s3_env.upload_samples("tables")
    conf = {"bucket": s3_env.bucket, "prefix": "samples/tables/", "poll_interval": 0.05, "api": api}
    run = run_dag("baidu_ocr_tables_to_warehouse", {**conf, "deferrable": False, "max_billable_calls": 2})
    logged = "".join(capfd.readouterr())

    assert run.state == "failed"
    assert baidu_ocr_server.stats()["endpoints"][server_endpoint]["ok"] == 2
    assert sqlite_warehouse.records("SELECT COUNT(*) FROM ocr_documents") == [(2,)]
    assert f"{len(images) - 2} image(s) left for the next run" in logged
    assert sqlite_warehouse.records("SELECT endpoint, SUM(billable_calls) FROM ocr_usage GROUP BY 1") == [
        (billed_as, 2)
    ]

    rerun = run_dag("baidu_ocr_tables_to_warehouse", {**conf, "deferrable": True})
    assert rerun.state == "success"
    assert baidu_ocr_server.stats()["endpoints"][server_endpoint]["ok"] == len(images)
    assert sqlite_warehouse.records("SELECT COUNT(*) FROM ocr_documents") == [(len(images),)]
