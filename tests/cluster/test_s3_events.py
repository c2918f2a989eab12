"""Event-driven ingestion on a real deployment: uploads to S3 -> notifications in SQS -> the triggerer's
``MessageQueueTrigger`` -> runs of ``baidu_ocr_s3_events_to_warehouse`` on the Celery cluster.

One cluster for the module (``baidu_ocr_dev.cluster`` with ``events=True``: the moto server's bucket notifies
an SQS queue on the same server, the DAG watches it; the catch-up runs every minute here). Nothing but an
upload (or a message on the queue) starts a run. The cases share it in order, each counting what it
caused: the OCR server's billable calls, the warehouse's rows, the DAG's runs.
"""

from __future__ import annotations

import json

import pytest
from baidu_ocr_dev.cluster import EVENTS_BUCKET, EVENTS_DAG, ClusterConfig, running_cluster
from baidu_ocr_dev.events import (
    last_run_id,
    latencies,
    loaded,
    percentiles,
    send_copies,
    server_delta,
    upload,
    wait_settled,
    wait_until,
    warehouse_offline,
)

from tests.services import require_postgres, require_redis

pytestmark = [pytest.mark.slow, pytest.mark.integration]

QPS = 10
STREAM, FAILED, BURST = 50, 20, 200  # bench/bench_events.py measures the 1,000-upload burst


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    require_postgres()
    require_redis()
    config = ClusterConfig(
        workdir=tmp_path_factory.mktemp("events-cluster"),
        workers=2,
        worker_concurrency=2,
        pool_slots=4,
        qps=QPS,
        metadata_db="baidu_ocr_events_test",
        warehouse_db="baidu_ocr_events_test_wh",
        broker_db=9,
        limiter_db=10,
        events=True,
        events_catchup_cron="* * * * *",  # the failed-run case waits for it
    )
    with running_cluster(config) as running:
        yield running


def stats(cluster) -> dict:
    return cluster.server("stats")


def document_rows(cluster) -> int:
    [(rows,)] = cluster.warehouse("SELECT count(*) FROM ocr_documents")
    return int(rows)


@pytest.mark.timeout(900)
def test_uploads_become_rows_once_each_seconds_later(cluster):
    before, first = stats(cluster), last_run_id(cluster)
    uploads = upload(cluster, STREAM, seed=100_000, spacing_s=0.1)
    wait_until(cluster, lambda: len(loaded(cluster, uploads.uris)) == STREAM, "the uploads' rows", 600)
    runs = wait_settled(cluster, first, 120)

    assert set(loaded(cluster, uploads.uris).values()) == {1}  # one row each
    delta = server_delta(before, stats(cluster))
    assert delta["billable"] == STREAM and delta["max_calls_per_content"] == 1
    event_runs = [r for r in runs if r["run_type"] == "asset_triggered"]
    assert event_runs and all(r["state"] == "success" for r in event_runs)
    figures = percentiles(latencies(cluster, uploads))
    assert figures["n"] == STREAM
    print(
        f"\n{STREAM} uploads 0.1 s apart -> {len(event_runs)} runs; upload end -> rows loaded (s): {figures}"
    )


@pytest.mark.timeout(600)
def test_duplicate_notifications_and_reuploads_cost_nothing(cluster):
    s3 = cluster.s3_client()
    keys = [f"incoming/seed-100000/img-{i:05d}.png" for i in range(5)]  # loaded by the first case
    rows, before, first = document_rows(cluster), stats(cluster), last_run_id(cluster)

    assert send_copies(cluster, keys) == 5  # SQS delivering a message twice
    for n, key in enumerate(keys):
        body = s3.get_object(Bucket=EVENTS_BUCKET, Key=key)["Body"].read()
        s3.put_object(Bucket=EVENTS_BUCKET, Key=key, Body=body)  # the same file uploaded again
        s3.put_object(
            Bucket=EVENTS_BUCKET, Key=f"incoming/copies/copy-{n}.png", Body=body
        )  # under a new name
    runs = wait_settled(cluster, first, 300)

    assert any(r["run_type"] == "asset_triggered" and r["state"] == "success" for r in runs)
    assert server_delta(before, stats(cluster))["billable"] == 0
    assert document_rows(cluster) == rows


@pytest.mark.timeout(900)
def test_a_run_that_fails_loses_nothing_and_its_documents_are_paid_once(cluster):
    before, first = stats(cluster), last_run_id(cluster)
    with warehouse_offline(cluster):
        uploads = upload(cluster, FAILED, seed=200_000, threads=4)
        runs = wait_settled(cluster, first, 300)
        failed = [r for r in runs if r["run_type"] == "asset_triggered"]
        assert failed and all(r["state"] == "failed" for r in failed)
        # The OCR task asks the warehouse what it holds before it pays for anything: nothing was called.
        assert server_delta(before, stats(cluster))["billable"] == 0
        inbox = cluster.s3_client().list_objects_v2(
            Bucket=EVENTS_BUCKET, Prefix=f"baidu-ocr-inbox/{EVENTS_DAG}/"
        )
        assert inbox.get("KeyCount", 0) >= 1  # the failed run's objects wait in the inbox
    recovered_after = last_run_id(cluster)
    # No upload, no message: the next catch-up run (every minute here) takes on the failed run's entry.
    wait_until(
        cluster, lambda: len(loaded(cluster, uploads.uris)) == FAILED, "the catch-up to load them", 300
    )
    wait_settled(cluster, recovered_after, 120)

    assert set(loaded(cluster, uploads.uris).values()) == {1}
    delta = server_delta(before, stats(cluster))
    assert delta["billable"] == FAILED and delta["max_calls_per_content"] == 1
    inbox = cluster.s3_client().list_objects_v2(Bucket=EVENTS_BUCKET, Prefix=f"baidu-ocr-inbox/{EVENTS_DAG}/")
    assert inbox.get("KeyCount", 0) == 0


@pytest.mark.timeout(900)
def test_a_burst_becomes_a_few_runs_within_the_qps(cluster):
    before, first = stats(cluster), last_run_id(cluster)
    uploads = upload(cluster, BURST, seed=300_000, threads=8)
    wait_until(cluster, lambda: len(loaded(cluster, uploads.uris)) == BURST, "the burst's rows", 600)
    runs = wait_settled(cluster, first, 300)

    event_runs = [r for r in runs if r["run_type"] == "asset_triggered"]
    delta = server_delta(before, stats(cluster))
    print(f"\nburst of {BURST}: {len(event_runs)} event runs, server {json.dumps(delta)}")
    assert len(event_runs) >= 1 and len(event_runs) <= 10 and all(r["state"] == "success" for r in event_runs)
    assert delta["billable"] == BURST and delta["max_calls_per_content"] == 1
    assert delta["errors"].get("18", 0) == 0
    assert set(loaded(cluster, uploads.uris).values()) == {1}
