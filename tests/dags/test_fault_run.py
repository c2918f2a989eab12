"""The fault run: the main DAG over hundreds of images while everything goes wrong at once.

Tokens live 5 s; the server answers 10 % of calls with error 18, 2 % with 282000, 1 % with HTTP 500 and
drops 1 % of connections; 5 % of the inputs are corrupt. Every good image must be loaded exactly once,
every bad one recorded with its Baidu code, and the run summary must report the calls the server saw.
``bench/bench_fault_run.py`` runs this test bigger and prints its figures.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

import pytest

from tests.dags.conftest import run_dag
from tests.dags.test_e2e import _tiny_png

N_IMAGES = int(os.environ.get("BAIDU_OCR_FAULT_RUN_IMAGES", "500"))
FAULTS = {
    "token_ttl": 5,
    "error_rates": {"18": 0.10, "282000": 0.02, "500": 0.01, "drop": 0.01},
    "seed": 20261125,
}


def _inputs(n: int) -> dict[str, bytes]:
    """``n`` images, one in twenty corrupt (alternately random bytes and a PNG cut after its header)."""
    files = {}
    for i in range(n):
        if i % 20 == 19:
            body = os.urandom(600) if i % 40 == 19 else _tiny_png(i)[:33] + i.to_bytes(4, "big")
            files[f"faults/{i:05d}-bad.png"] = body
        else:
            files[f"faults/{i:05d}-img.png"] = _tiny_png(i)
    return files


def _summary(run) -> dict:
    (ti,) = [ti for ti in run.get_task_instances() if ti.task_id == "summarize"]
    return ti.xcom_pull(task_ids="summarize")


@pytest.mark.slow
def test_everything_goes_wrong_at_once_and_nothing_is_lost_or_doubled(
    airflow_db, s3_env, monkeypatch, sqlite_warehouse
):
    from baidu_ocr_server.testing import running_server

    files = _inputs(N_IMAGES)
    s3_env.upload(files)
    good = {k: v for k, v in files.items() if k.endswith("-img.png")}
    bad = {k: v for k, v in files.items() if k.endswith("-bad.png")}
    with running_server(engine="fixture", **FAULTS) as server:
        monkeypatch.setenv(
            "AIRFLOW_CONN_BAIDU_OCR_DEFAULT", server.airflow_connection(qps=500, timeout=10, max_retries=8)
        )
        started = time.monotonic()
        run = run_dag("baidu_ocr_s3_to_warehouse", {"bucket": s3_env.bucket, "prefix": "faults/"})
        wall = time.monotonic() - started
        stats = server.stats()

    assert run.state == "success"
    rows = sqlite_warehouse.records("SELECT content_sha256, status, error_code FROM ocr_documents")
    assert len(rows) == len({sha for sha, _, _ in rows}) == N_IMAGES  # 0 duplicate rows
    by_sha = {sha: (status, code) for sha, status, code in rows}
    assert all(by_sha[hashlib.sha256(d).hexdigest()] == ("ok", None) for d in good.values())
    assert all(by_sha[hashlib.sha256(d).hexdigest()] == ("failed", "216201") for d in bad.values())
    lines = sqlite_warehouse.records("SELECT content_sha256, COUNT(*) FROM ocr_lines GROUP BY content_sha256")
    assert len(lines) == len(good) and {n for _, n in lines} == {1}

    summary = _summary(run)
    calls = stats["endpoints"]["general_basic"]["calls"]
    injected = {key: stats["errors"].get(key, 0) for key in ("18", "282000", "500", "drop")}
    assert all(injected.values()), injected  # every fault really happened
    assert stats["tokens_issued"] > 1  # tokens expired and were fetched again
    # Failed calls are not billed: the client's billable calls are the server's successes.
    assert summary["billable_calls"] == stats["endpoints"]["general_basic"]["ok"] == len(good)
    assert summary["billable_calls"] + summary["failed_calls"] == calls
    assert summary["pages_ok"] == len(good) and summary["pages_failed_by_class"] == {"bad_image": len(bad)}

    figures = {
        "images": N_IMAGES,
        "good": len(good),
        "corrupt": len(bad),
        "calls": calls,
        "retries": summary["retries"],
        "injected": injected,
        "tokens_issued": stats["tokens_issued"],
        "wall_s": round(wall, 1),
    }
    print("FAULT RUN " + json.dumps(figures))
    if target := os.environ.get("BAIDU_OCR_FAULT_RUN_RESULTS"):
        Path(target).write_text(json.dumps(figures, indent=2))
