"""OpenLineage end to end: the main DAG runs with the OpenLineage provider and a file transport, and the
events name the S3 objects read, the warehouse tables written (common-sql naming, row counts) and the OCR
cost, the same figures the warehouse asset events carry.

The DAG runs in a child process: the provider decides at start-up (plugin load) whether it is enabled,
so the transport must be configured before Airflow starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.conftest import REPO_ROOT
from tests.dags.test_asset_events import _events

pytestmark = pytest.mark.integration

DAG_ID = "baidu_ocr_s3_to_warehouse"
RUN = """
import json, sys
from tests.dags.conftest import run_dag
run = run_dag(sys.argv[1], json.loads(sys.argv[2]))
print("RUN " + json.dumps({"run_id": run.run_id, "state": str(run.state)}))
"""


def _run_with_lineage(conf: dict, events_file) -> dict:
    env = {
        **os.environ,
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
            {"type": "file", "log_file_path": str(events_file), "append": True}
        ),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "baidu-ocr-tests",
        "PYTHONPATH": os.pathsep.join(str(REPO_ROOT / p) for p in ("plugins", "include", "")),
    }
    done = subprocess.run(
        [sys.executable, "-c", RUN, DAG_ID, json.dumps(conf)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    (events_file.parent / "child.log").write_text(done.stdout + done.stderr)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RUN ")]
    assert lines, done.stdout[-3000:] + done.stderr[-3000:]
    return json.loads(lines[-1][4:])


def _complete_events(events_file) -> dict[str, list[dict]]:
    """COMPLETE run events per task (job name ``dag.task``)."""
    events: dict[str, list[dict]] = {}
    for line in events_file.read_text().splitlines():
        event = json.loads(line)
        if event.get("eventType") == "COMPLETE" and "." in event["job"]["name"]:
            events.setdefault(event["job"]["name"].split(".", 1)[1], []).append(event)
    return events


def _warehouse_naming(warehouse, tmp_path) -> tuple[str, str]:
    """(namespace, table-name prefix) as common-sql names the warehouse's tables."""
    if warehouse.kind == "sqlite":
        return f"sqlite://{tmp_path / 'warehouse.db'}", "main"
    (schema,) = warehouse.records("SELECT CURRENT_SCHEMA")[0]
    return "postgres://127.0.0.1:5432", f"test.{schema}"


def test_events_name_what_was_read_and_written_and_carry_the_cost(
    airflow_db, s3_env, baidu_ocr_server, warehouse, tmp_path
):
    images = s3_env.upload_samples("documents")
    events_file = tmp_path / "lineage.jsonl"
    run = _run_with_lineage(
        {"bucket": s3_env.bucket, "prefix": "samples/documents/", "batch_size": 6}, events_file
    )
    assert run["state"] == "success"
    events = _complete_events(events_file)

    # The OCR batches: every S3 object they read, their staged records, ocr_usage, and what they cost.
    batches = events["ocr_batch"]
    assert len(batches) == 2
    read = sorted(d["name"] for e in batches for d in e["inputs"])
    assert read == sorted(f"samples/documents/{p.name}" for p in images)
    assert {d["namespace"] for e in batches for d in e["inputs"]} == {f"s3://{s3_env.bucket}"}
    warehouse_ns, prefix = _warehouse_naming(warehouse, tmp_path)
    for event in batches:
        outputs = {(d["namespace"], d["name"]) for d in event["outputs"]}
        assert (warehouse_ns, f"{prefix}.ocr_usage") in outputs
        assert any(ns == f"s3://{s3_env.bucket}" and "baidu-ocr-staging" in name for ns, name in outputs)
        cost = event["run"]["facets"]["baidu_ocr_cost"]
        assert cost["billableCalls"] == {"general_basic": 6} and cost["failedCalls"] == {"general_basic": 0}
        assert cost["pages"] == 6 and cost["retries"] == 0 and cost["failuresByClass"] == {}

    # The load: the staged files in, the tables out with their row counts, the run's cost.
    (load,) = events["normalize_and_load"]
    assert load["inputs"] and all(d["name"].endswith(".parquet") for d in load["inputs"])
    rows = {d["name"]: d["outputFacets"]["outputStatistics"]["rowCount"] for d in load["outputs"]}
    assert rows[f"{prefix}.ocr_documents"] == len(images) and rows[f"{prefix}.ocr_lines"] > 0
    assert f"{prefix}.ocr_chars" not in rows  # no row written: not an output
    assert {d["namespace"] for d in load["outputs"]} == {warehouse_ns}
    cost = load["run"]["facets"]["baidu_ocr_cost"]
    assert cost["billableCalls"] == {"general_basic": len(images)} and cost["pages"] == len(images)

    # The asset events carry the same figures.
    extra = _events(DAG_ID, run["run_id"])["ocr_documents"]
    assert extra["billable_calls_by_endpoint"] == cost["billableCalls"]
    assert extra["failed_calls_by_endpoint"] == cost["failedCalls"]
    assert (extra["pages"], extra["retries"], extra["status_checks"]) == (
        cost["pages"],
        cost["retries"],
        cost["statusChecks"],
    )
    assert extra["failures_by_class"] == cost["failuresByClass"]
