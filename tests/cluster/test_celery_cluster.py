"""The DAGs on a real CeleryExecutor cluster: 2 workers, 200 images, a server limited to 10 QPS.

One cluster (PostgreSQL metadata, Redis broker, api-server, scheduler, dag-processor, triggerer, two
Celery workers, moto S3, the local OCR server) is started by ``baidu_ocr_dev.cluster`` and stopped at the end;
the test then checks that no process it started is left and that every port is free again.
"""

from __future__ import annotations

import json
import math
from urllib.parse import urlparse

import psutil
import pytest
from baidu_ocr_dev.cluster import (
    PARSER_DAG,
    S3_DAG,
    TABLES_DAG,
    VALIDATION_TABLES,
    ClusterConfig,
    run_capped_dag,
    run_s3_dag,
    run_tables_dag,
    running_cluster,
)
from baidu_ocr_dev.cluster_invoices import run_concurrent_duplicates
from baidu_ocr_dev.local_services import port_is_free

from tests.services import require_postgres, require_redis

pytestmark = [pytest.mark.slow, pytest.mark.integration]

# 4 batches of 50: all four run at once (pool 4 = 2 workers x concurrency 2), so the budget never waits
# for a task to start; batches much shorter than a task's start-up would leave it idle between them.
QPS, IMAGES, TOKEN_TTL, BATCH = 10, 200, 10, 50


@pytest.mark.timeout(900)
def test_dags_on_a_celery_cluster_share_one_budget_and_one_token(tmp_path):
    require_postgres()
    require_redis()
    config = ClusterConfig(
        workdir=tmp_path,
        workers=2,
        worker_concurrency=2,
        pool_slots=4,
        qps=QPS,
        metadata_db="baidu_ocr_cluster_test",
        warehouse_db="baidu_ocr_cluster_test_wh",
        broker_db=7,
        limiter_db=8,
    )
    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    with running_cluster(config) as cluster:
        started = {p.pid for p in me.children(recursive=True)} - before
        ports = set(cluster.ports.values()) | {urlparse(u).port for u in (cluster.s3_url, cluster.ocr_url)}
        cluster.upload_tables("tables/")
        cluster.upload_images("images/", IMAGES)

        # 1. Table jobs wait in the triggerer, not in a worker slot; one token for the whole cluster.
        tables = run_tables_dag(cluster, "tables/", "test_tables")
        assert tables["state"] == "success"
        assert tables["max_deferred_task_instances"] >= 1 and tables["triggers_held_by_triggerer"]
        assert tables["table_cells"] > 0
        assert tables["tokens_issued"] == 1

        # 2. 200 images over two workers, one QPS budget; tokens now live 10 s on the server.
        first = run_s3_dag(cluster, "images/", "test_first", IMAGES, BATCH, {"token_ttl": TOKEN_TTL})
        assert first["state"] == "success"
        workers = first["tasks_per_worker"]
        assert set(workers) == {"worker-1", "worker-2"} and sum(workers.values()) == IMAGES // BATCH
        seen = first["server"]
        assert seen["max_in_one_second"] <= QPS + 1
        assert seen["rate_limited"] < 0.005 * seen["calls"]
        assert seen["throughput_ratio"] >= 0.9
        summary = first["summary"]
        assert summary["pages_ok"] == IMAGES and summary["pages_failed"] == 0  # every 18/111 retried
        # Refreshed once per expiry (every 9 s: 10 % early), plus once for the token the server
        # stopped accepting when its lifetime changed; not once per worker or per task.
        span = seen["last_second"] - seen["first_second"] + 1
        assert 2 <= first["tokens_issued"] <= math.ceil(span / (TOKEN_TTL * 0.9)) + 1
        assert first["tokens_issued"] < IMAGES // 20
        # Exactly once: one row per image.
        assert first["warehouse_rows"] == first["warehouse_distinct_images"] == IMAGES
        assert first["server_billable"] == IMAGES

        # 3. A rerun makes no call and adds no row.
        rerun = run_s3_dag(cluster, "images/", "test_rerun", 0, BATCH)
        assert rerun["state"] == "success"
        assert rerun["server"]["calls"] == 0 and rerun["summary"]["billable_calls"] == 0
        assert rerun["warehouse_rows"] == IMAGES
        assert rerun["summary"]["documents_skipped"] == IMAGES

        # 4. max_billable_calls is a cap for the whole run, whatever runs in parallel: 200 new images in 20
        # batches, every worker slot busy, cap 40. Each call is reserved in the run's warehouse row first.
        cluster.upload_images("capped/", IMAGES, seed=10_000)
        capped = run_capped_dag(
            cluster, S3_DAG, {"prefix": "capped/", "batch_size": 10, "max_billable_calls": 40}, "test_capped"
        )
        assert capped["state"] == "failed"  # stopped early: the rest waits for the next run
        assert capped["tasks"] == 20 and capped["max_running_or_deferred"] >= 3
        assert capped["billed"] == capped["reserved_in_ledger"] == 40

        # 5. Deferrable tasks free their slots, so every table job could be submitted at once: still 2.
        cluster.upload_tables("capped-tables/", VALIDATION_TABLES)
        tables_conf = {"prefix": "capped-tables/", "api": "form_ocr", "batch_size": 1, "deferrable": True}
        capped_tables = run_capped_dag(
            cluster,
            TABLES_DAG,
            {**tables_conf, "poll_interval": 1.0, "max_billable_calls": 2},
            "test_cap_tables",
        )
        assert capped_tables["state"] == "failed" and capped_tables["tasks"] >= 6
        assert (
            capped_tables["billed"]
            == capped_tables["jobs_submitted"]
            == capped_tables["reserved_in_ledger"]
            == 2
        )

        # 6. The document parser likewise (its tasks defer too).
        parser_conf = {"prefix": "capped-tables/", "batch_size": 1, "deferrable": True, "poll_interval": 1.0}
        capped_parser = run_capped_dag(
            cluster, PARSER_DAG, {**parser_conf, "max_billable_calls": 2}, "test_cap_parser"
        )
        assert capped_parser["state"] == "failed" and capped_parser["tasks"] >= 6
        assert (
            capped_parser["billed"]
            == capped_parser["jobs_submitted"]
            == capped_parser["reserved_in_ledger"]
            == 2
        )
        report = {"s3": capped, "form_ocr": capped_tables, "parser": capped_parser}
        (tmp_path / "budget.json").write_text(json.dumps(report, indent=2, default=str))
        print(
            "budget under parallel tasks:",
            json.dumps(
                {
                    k: {
                        x: v[x]
                        for x in (
                            "max_billable_calls",
                            "billed",
                            "tasks",
                            "max_running_or_deferred",
                            "max_deferred_at_once",
                        )
                    }
                    for k, v in report.items()
                }
            ),
        )

        # 7. The same invoice (a photo and its PDF) in two runs triggered at once: one original, one
        # duplicate naming it and queued, whichever worker loads first.
        invoices = run_concurrent_duplicates(cluster)
        print("invoices loaded at once:", json.dumps(invoices, default=str))
        assert invoices["states"] == {"a": "success", "b": "success"}
        assert len(invoices["invoices"]) == 2
        originals = [uri for uri, duplicate_of in invoices["invoices"].items() if duplicate_of is None]
        assert len(originals) == 1
        [copy] = set(invoices["invoices"]) - set(originals)
        assert invoices["invoices"][copy] == originals[0]
        assert "duplicate_invoice" in invoices["queued"][copy] and originals[0] not in invoices["queued"]
    # Stopped: nothing the cluster started is left, and no port stays bound.
    left = [pid for pid in started if psutil.pid_exists(pid) and psutil.Process(pid).status() != "zombie"]
    assert started and not left, f"processes left running: {left}"
    assert ports and all(port_is_free(port) for port in ports), "a port of the cluster is still bound"
