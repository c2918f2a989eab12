"""The run summary: combined counts, latency percentiles, QPS over the wall clock, failed batches."""

from __future__ import annotations

import logging

import pytest
from baidu_ocr.exceptions import RunHadFailedBatches
from baidu_ocr.pipeline.manifests import delete_staged, finish_run, manifest_list, summarize_run
from baidu_ocr.pipeline.staging import write_records

from tests.unit.operators.conftest import BUCKET


def _manifest(n_ok, n_failed, calls, started, finished, failed_by_class=None, uri=None, retries=0):
    return {
        "uri": uri,
        "n_seen": n_ok + n_failed + 1,
        "n_ok": n_ok,
        "n_failed": n_failed,
        "n_skipped": 1,
        "failed_by_class": failed_by_class or {},
        "stats": {"billable_calls": calls, "retries": retries},
        "started_at": started,
        "finished_at": finished,
    }


def test_summary_adds_batches_and_measures_qps_over_the_wall_clock():
    manifests = [
        _manifest(8, 2, 12, 100.0, 104.0, {"bad_image": 2}, retries=2),
        _manifest(5, 1, 6, 102.0, 106.0, {"bad_image": 1}),
        None,  # a failed batch pushed nothing
    ]
    summary = summarize_run(manifests, n_batches=3, latencies_ms=[10.0, 20.0, 30.0, 40.0, None])
    assert summary["images_seen"] == 18 and summary["images_skipped"] == 2
    assert (summary["images_ok"], summary["images_failed"]) == (13, 3)
    assert summary["failed_by_class"] == {"bad_image": 3}
    assert (summary["billable_calls"], summary["retries"]) == (18, 2)
    assert summary["wall_clock_s"] == 6.0 and summary["achieved_qps"] == 3.0  # 18 calls over 100..106
    assert (summary["latency_p50_ms"], summary["latency_p95_ms"]) == (20.0, 40.0)
    assert summary["batches_without_manifest"] == 1


def test_manifest_list_indexes_sequences_and_drops_empty_entries():
    one = _manifest(1, 0, 1, 0.0, 1.0)
    assert manifest_list(None) == []
    assert manifest_list(one) == [one]
    assert manifest_list((one, None, one)) == [one, one]


def test_finish_run_logs_then_fails_when_a_batch_failed(s3, caplog):
    uri = write_records(s3, [], BUCKET, "stage/empty.parquet")
    manifests = [_manifest(1, 0, 1, 0.0, 1.0, uri=uri)]
    with caplog.at_level(logging.INFO), pytest.raises(RunHadFailedBatches, match="1 of 2 OCR batch"):
        finish_run(s3, manifests, n_batches=2, rows_loaded={"ocr_documents": 1}, log=logging.getLogger("t"))
    assert "images_ok" in caplog.text
    summary = finish_run(s3, manifests, n_batches=1, rows_loaded=None, log=logging.getLogger("t"))
    assert summary["images_ok"] == 1 and summary["rows_loaded"] == {}


def test_delete_staged_removes_only_the_runs_files(s3):
    kept = write_records(s3, [], BUCKET, "stage/other-run/batch-00000.parquet")
    uris = [write_records(s3, [], BUCKET, f"stage/run/batch-{n:05d}.parquet") for n in range(3)]
    assert delete_staged(s3, [{"uri": u} for u in uris] + [{"uri": None}]) == 3
    assert s3.list_keys(BUCKET, prefix="stage/") == [kept.removeprefix(f"s3://{BUCKET}/")]


def test_summary_operator_fails_on_a_batch_that_failed_after_staging(s3):
    from baidu_ocr.operators import BaiduOcrRunSummaryOperator

    from tests.unit.operators.conftest import context

    uri = write_records(s3, [], BUCKET, "stage/empty.parquet")
    ok = _manifest(2, 0, 2, 0.0, 1.0, uri=uri)
    stopped = {**_manifest(1, 0, 2, 0.0, 1.0, uri=uri), "error": "QuotaExhausted: daily limit"}
    operator = BaiduOcrRunSummaryOperator(task_id="summarize", manifests=[ok], batches=["a"], rows_loaded={})
    assert operator.trigger_rule == "all_done"
    assert operator.execute(context())["images_ok"] == 2
    failing = BaiduOcrRunSummaryOperator(task_id="summarize", manifests=[ok, stopped], batches=["a", "b"])
    with pytest.raises(
        RunHadFailedBatches, match=r"1 of 2 OCR batch\(es\) failed \(QuotaExhausted: daily limit\)"
    ):
        failing.execute(context())


def test_summary_operator_fails_when_the_batches_were_never_listed(s3):
    """A listing task that failed renders its output as None: the run must not end green with nothing done."""
    from baidu_ocr.exceptions import RunFailed
    from baidu_ocr.operators import BaiduOcrRunSummaryOperator

    from tests.unit.operators.conftest import context

    operator = BaiduOcrRunSummaryOperator(task_id="summarize", manifests=[], batches=["a"], rows_loaded={})
    operator.batches = None  # what the failed list_batches' XComArg renders to
    with pytest.raises(RunFailed, match="never listed"):
        operator.execute(context())
    operator.batches = []  # no image under the prefix: a run with nothing to do is fine
    assert operator.execute(context())["batches"] == 0
