"""The run summary end to end: one unit per line, latency for every endpoint called, cost lines for what the
run used only, and a run that did nothing (a missing bucket, an empty prefix) said for what it is."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.dags.conftest import load_dag, run_dag

pytestmark = pytest.mark.integration


def _summary(run) -> dict:
    (ti,) = [ti for ti in run.get_task_instances() if ti.task_id == "summarize"]
    return ti.xcom_pull(task_ids="summarize")


def _states(run) -> dict[str, tuple[str, int]]:
    return {ti.task_id: (ti.state, ti.try_number) for ti in run.get_task_instances() if ti.map_index < 1}


@pytest.mark.slow
def test_documents_and_pages_apart_latency_per_endpoint_and_only_the_endpoints_called(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse
):
    """make demo printed ``images_seen 3`` (PDF slices) beside ``images_ok 7`` (pages) for two PDFs, the
    ID-card run ``latency_p50_ms None`` after 10 calls, and every run a cost line per endpoint of the
    month."""
    s3_env.upload_samples("documents_pdf")  # pdf_01: 4 pages, pdf_02: 3; batches of 3 pages cut pdf_01 in two
    s3_env.upload_samples("idcards")
    pdfs = run_dag(
        "baidu_ocr_s3_to_warehouse",
        {"bucket": s3_env.bucket, "prefix": "samples/documents_pdf/", "batch_size": 3, "review_in_ui": False},
    )
    assert pdfs.state == "success"
    summary = _summary(pdfs)
    assert (summary["documents_seen"], summary["documents_ok"], summary["documents_failed"]) == (2, 2, 0)
    assert (summary["pages_ok"], summary["pages_failed"]) == (7, 0)
    assert summary["latency_ms"]["general_basic"]["calls"] == 7
    assert list(summary["cost"]) == ["general_basic"]

    cards = run_dag("baidu_ocr_idcards_to_warehouse", {"bucket": s3_env.bucket, "prefix": "samples/idcards/"})

    assert cards.state == "success"
    summary = _summary(cards)
    calls = baidu_ocr_server.stats()["endpoints"]["idcard"]["calls"]
    assert summary["documents_seen"] == summary["pages_ok"] == calls == 10
    assert list(summary["latency_ms"]) == ["idcard"]  # the staged records were purged: no matter
    assert summary["latency_ms"]["idcard"]["calls"] == calls
    assert 0 < summary["latency_ms"]["idcard"]["p50"] <= summary["latency_ms"]["idcard"]["p95"]
    assert list(summary["cost"]) == ["idcard"]  # the month's general_basic calls are not this run's


@pytest.mark.slow
def test_a_missing_bucket_fails_the_listing_once_and_the_summary_names_it(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse, capfd
):
    """It failed three tasks with the same NoSuchBucket traceback, the listing retried as if it could
    succeed, and the summary blamed the warehouse."""
    dag = load_dag("baidu_ocr_s3_to_warehouse")
    listing = dag.get_task("list_batches")
    listing.retries, listing.retry_delay = 2, timedelta(0)  # a retryable error would be tried three times
    missing = f"{s3_env.bucket}-missing"

    run = dag.test(run_conf={"bucket": missing, "prefix": "scans/"})
    logged = "".join(capfd.readouterr())

    assert run.state == "failed"
    states = _states(run)
    assert states["list_batches"] == ("failed", 1)  # at once: no retry
    assert states["normalize_and_load"][0] == "success"  # nothing was staged: nothing to load, no error
    assert states["summarize"][0] == "failed"
    cause = f"s3://{missing}/scans/ cannot be listed: the bucket {missing} does not exist (NoSuchBucket)"
    assert f"The listing (list_batches) failed: S3SourceUnavailable: {cause}" in logged
    assert "warehouse is fixed" not in logged and "The warehouse load failed" not in logged


@pytest.mark.slow
def test_an_empty_prefix_is_said_plainly_in_the_summary(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse
):
    run = run_dag("baidu_ocr_s3_to_warehouse", {"bucket": s3_env.bucket, "prefix": "nothing/here/"})

    assert run.state == "success"
    summary = _summary(run)
    assert summary["note"] == (
        f"Nothing was listed under s3://{s3_env.bucket}/nothing/here/: no document to OCR, nothing loaded. "
        "Check the bucket, the prefix and the suffixes."
    )
    assert summary["documents_seen"] == summary["billable_calls"] == 0
