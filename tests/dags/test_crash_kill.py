"""A batch task process killed with SIGKILL mid-batch, then retried: no image lost, none loaded twice, and
the retry pays again only for what was in flight or not yet written as a part."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
from airflow.providers.amazon.aws.hooks.s3 import S3Hook
from baidu_ocr.operators import BaiduOcrWarehouseLoadOperator
from baidu_ocr.pipeline.staging import read_records
from baidu_ocr.warehouse import WarehouseLoader

from tests.dags.test_e2e import _tiny_png
from tests.unit.operators.conftest import context

N_IMAGES, PART, CONCURRENCY = 60, 5, 2

TASK = """
import json, sys
from types import SimpleNamespace
from baidu_ocr.operators import BaiduOcrBatchOperator

bucket, try_number, keys = sys.argv[1], int(sys.argv[2]), json.loads(sys.argv[3])
ti = SimpleNamespace(dag_id="crash_dag", run_id="manual__crash", task_id="ocr_batch", map_index=0,
                     try_number=try_number, xcom_push=lambda key, value: None)
operator = BaiduOcrBatchOperator(task_id="ocr_batch", bucket=bucket, keys=keys, stage_every_images=PART,
                                 stage_every_seconds=3600, concurrency=CONCURRENCY, staging_expiry_days=None)
manifest = operator.execute({"ti": ti})
print("MANIFEST " + json.dumps(manifest))
""".replace("PART", str(PART)).replace("CONCURRENCY", str(CONCURRENCY))


def _task(bucket: str, try_number: int, keys: list[str]) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", TASK, bucket, str(try_number), json.dumps(keys)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )


@pytest.mark.slow
def test_sigkill_mid_batch_then_retry_loses_nothing_and_repays_at_most_one_part(
    s3_env, monkeypatch, sqlite_warehouse
):
    from baidu_ocr_server.testing import running_server

    keys = [f"kill/img-{n:03d}.png" for n in range(N_IMAGES)]
    s3_env.upload({key: _tiny_png(n) for n, key in enumerate(keys)})
    parts_prefix = "baidu-ocr-staging/crash_dag/manual__crash/ocr_batch/batch-00000/"
    with running_server(engine="fixture", latency_ms=200) as server:
        monkeypatch.setenv("AIRFLOW_CONN_BAIDU_OCR_DEFAULT", server.airflow_connection(qps=50, max_retries=2))
        first = _task(s3_env.bucket, 1, keys)
        try:
            deadline = time.monotonic() + 120
            while len(s3_env.keys(parts_prefix)) < 2:  # killed once two parts are written
                assert first.poll() is None, "the task finished before it could be killed"
                assert time.monotonic() < deadline, "no part was staged in time"
                time.sleep(0.05)
            os.killpg(first.pid, signal.SIGKILL)
        finally:
            if first.poll() is None:
                os.killpg(first.pid, signal.SIGKILL)
            first.wait(timeout=30)
        staged_by_first = len(read_records(S3Hook(), [f"s3://{s3_env.bucket}/{parts_prefix}"]))

        retry = _task(s3_env.bucket, 2, keys)
        out, _ = retry.communicate(timeout=300)
        assert retry.returncode == 0
        manifest = json.loads(out.split("MANIFEST ", 1)[1])
        paid_in_all = int(server.stats()["billable"])

    assert (manifest["n_seen"], manifest["n_ok"], manifest["n_failed"]) == (N_IMAGES, N_IMAGES, 0)
    stats = manifest["stats"]
    assert stats["calls_of_earlier_tries"] == staged_by_first
    # The retry OCRs only what no part holds.
    assert stats["billable_calls"] - stats["calls_of_earlier_tries"] == N_IMAGES - staged_by_first
    # Paid twice: at most the results of the part being filled, plus the calls in flight at the kill.
    assert 0 <= paid_in_all - N_IMAGES <= (PART - 1) + CONCURRENCY

    ctx = context()
    rows = BaiduOcrWarehouseLoadOperator(task_id="load", manifests=[manifest]).execute(ctx)
    assert rows["ocr_documents"] == N_IMAGES
    counts = WarehouseLoader("warehouse_default").row_counts()
    assert counts["ocr_documents"] == N_IMAGES  # every image once: nothing lost, nothing twice
