"""The run summary: documents and pages counted apart, latency per endpoint, QPS over the wall clock, and
the step that failed named with its cause."""

from __future__ import annotations

import logging

import pytest
from baidu_ocr.exceptions import RunFailed, RunHadFailedBatches, WarehouseLoadFailed
from baidu_ocr.pipeline.manifests import (
    build_manifest,
    delete_staged,
    finish_run,
    manifest_list,
    summarize_run,
)
from baidu_ocr.pipeline.records import OcrOutcome
from baidu_ocr.pipeline.staging import write_records
from baidu_ocr.pipeline.stats import CallStats

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
    summary = summarize_run(manifests, n_batches=3)
    assert summary["documents_seen"] == 18 and summary["documents_skipped"] == 2
    assert (summary["pages_ok"], summary["pages_failed"]) == (13, 3)
    assert summary["pages_failed_by_class"] == {"bad_image": 3}
    assert (summary["billable_calls"], summary["retries"]) == (18, 2)
    assert summary["wall_clock_s"] == 6.0 and summary["achieved_qps"] == 3.0  # 18 calls over 100..106
    assert summary["batches_without_manifest"] == 1


def _pages(key: str, sha: str, pages: range, failed: set[int] = frozenset(), count: int = 4) -> list:
    return [
        OcrOutcome(key=key, ok=n not in failed, content_sha256=sha, page_no=n, page_count=count)
        for n in pages
    ]


def _batch(outcomes, *, keys, pages=None, n_skipped=0, n_unreadable=0, n_left=0, stats=None, sha=None):
    hashes = {o.key: o.content_sha256 for o in outcomes} | ({k: sha for k in keys} if sha else {})
    return build_manifest(
        uri=None,
        n_seen=len(keys),
        outcomes=outcomes,
        n_unreadable=n_unreadable,
        n_skipped=n_skipped,
        stats=stats or {},
        started_at=0.0,
        n_left=n_left,
        pages=pages,
        content_hashes={k: hashes.get(k, f"sha-of-{k}") for k in keys},
    )


def test_documents_and_pages_are_counted_apart_and_a_split_document_once():
    """make demo's PDF run: pdf_01 (4 pages) planned in two slices of a 3-page batch size, pdf_02 (3 pages)
    whole. It printed ``images_seen 3`` (slices counted as documents) next to ``images_ok 7`` (pages)."""
    first = _batch(_pages("pdf_01.pdf", "a", range(1, 4)), keys=["pdf_01.pdf"], pages={"pdf_01.pdf": "1-3"})
    second = _batch(_pages("pdf_01.pdf", "a", range(4, 5)), keys=["pdf_01.pdf"], pages={"pdf_01.pdf": "4"})
    whole = _batch(_pages("pdf_02.pdf", "b", range(1, 4), count=3), keys=["pdf_02.pdf"])

    summary = summarize_run([first, second, whole])

    assert (summary["documents_seen"], summary["documents_ok"], summary["documents_failed"]) == (2, 2, 0)
    assert (summary["pages_ok"], summary["pages_failed"]) == (7, 0)
    assert "images_seen" not in summary and "images_ok" not in summary


def test_a_page_failing_in_one_slice_fails_its_document_once():
    first = _batch(_pages("d.pdf", "a", range(1, 4), {2}), keys=["d.pdf"], pages={"d.pdf": "1-3"})
    second = _batch(_pages("d.pdf", "a", range(4, 6), {5}), keys=["d.pdf"], pages={"d.pdf": "4-5"})
    images = _batch(
        [
            OcrOutcome(key=k, ok=k != "bad.png", content_sha256=k, error_class="bad_image")
            for k in ("x.png", "bad.png")
        ],
        keys=["x.png", "bad.png", "gone.png", "copy.png"],
        n_skipped=1,
        n_unreadable=1,
    )

    summary = summarize_run([first, second, images])

    assert summary["documents_seen"] == 5  # d.pdf, x.png, bad.png, gone.png (unreadable), copy.png (skipped)
    assert (summary["documents_ok"], summary["documents_failed"], summary["documents_skipped"]) == (1, 3, 1)
    assert (summary["pages_ok"], summary["pages_failed"]) == (
        4,
        4,
    )  # failed: 2 pages, 1 image, 1 unreadable file


def test_a_stop_leaves_a_split_document_for_the_next_run_once():
    done = _batch(_pages("d.pdf", "a", range(1, 4)), keys=["d.pdf"], pages={"d.pdf": "1-3"})
    left = [_batch([], keys=["d.pdf"], pages={"d.pdf": p}, n_left=1, sha="a") for p in ("4-6", "7-9")]

    summary = summarize_run([done, *left])

    assert summary["documents_seen"] == 1
    assert (summary["documents_ok"], summary["documents_left_for_next_run"]) == (0, 1)
    assert summary["pages_ok"] == 3


def test_latency_is_reported_for_every_endpoint_called():
    """The ID-card run printed ``latency_p50_ms None`` after 10 calls: it read per-image latencies from
    staged files its purge had deleted. Latency now comes from the calls themselves, per endpoint."""
    idcard, submit = CallStats(), CallStats()
    for ms in range(10, 110, 10):
        idcard.record_latency(ms / 1000, "idcard")
        idcard.count_call("sync", "idcard")
    for ms in (200, 400):
        submit.record_latency(ms / 1000, "form_ocr_request")
        submit.count_call("async_submit", "form_ocr_request")
    submit.record_latency(0.030, "form_ocr_result")
    submit.count_call("async_result", "form_ocr_result")
    manifests = [
        {**_manifest(5, 0, 5, 0.0, 1.0), "stats": idcard.snapshot()},
        {**_manifest(5, 0, 5, 0.0, 1.0), "stats": submit.snapshot()},
    ]

    latency = summarize_run(manifests)["latency_ms"]

    assert set(latency) == {"idcard", "form_ocr_request", "form_ocr_result"}
    assert latency["idcard"]["calls"] == 10
    assert latency["idcard"]["p50"] == pytest.approx(50, rel=0.02)
    assert latency["idcard"]["p95"] == pytest.approx(100, rel=0.02)
    assert latency["form_ocr_request"]["p50"] == pytest.approx(200, rel=0.02)


def test_manifest_list_indexes_sequences_and_drops_empty_entries():
    one = _manifest(1, 0, 1, 0.0, 1.0)
    assert manifest_list(None) == []
    assert manifest_list(one) == [one]
    assert manifest_list((one, None, one)) == [one, one]


def test_finish_run_logs_then_fails_when_a_batch_failed(caplog):
    manifests = [_manifest(1, 0, 1, 0.0, 1.0)]
    with caplog.at_level(logging.INFO), pytest.raises(RunHadFailedBatches, match="1 of 2 OCR batch"):
        finish_run(manifests, n_batches=2, rows_loaded={"ocr_documents": 1}, log=logging.getLogger("t"))
    assert "pages_ok" in caplog.text
    summary = finish_run(manifests, n_batches=1, rows_loaded=None, log=logging.getLogger("t"))
    assert summary["pages_ok"] == 1 and summary["rows_loaded"] == {}


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
    assert operator.execute(context())["pages_ok"] == 2
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
    with pytest.raises(RunFailed, match=r"^The listing failed: it published no batches \(see its log\)"):
        operator.execute(context())
    operator.batches = []  # no image under the prefix: a run with nothing to do is fine
    assert operator.execute(context())["batches"] == 0


def test_a_listing_that_failed_is_named_with_its_cause_not_blamed_on_the_warehouse(s3):
    """A bucket that does not exist failed the listing, then the load (its staging bucket is missing too),
    and the summary said "The warehouse load failed ... once the warehouse is fixed"."""
    from baidu_ocr.operators import BaiduOcrRunSummaryOperator

    from tests.unit.operators.conftest import context

    operator = BaiduOcrRunSummaryOperator(task_id="summarize", manifests=[], batches=["a"], rows_loaded={})
    cause = (
        "S3SourceUnavailable: s3://nowhere/scans/ cannot be listed: the bucket does not exist (NoSuchBucket)"
    )
    operator.batches = {"error": cause}  # what a listing task that failed published
    operator.rows_loaded = {"error": "ClientError: NoSuchBucket"}
    with pytest.raises(RunFailed) as failed:
        operator.execute(context())
    assert not isinstance(failed.value, WarehouseLoadFailed)
    message = str(failed.value)
    assert message.startswith("The listing failed: ") and cause in message
    assert "warehouse" not in message and "nothing was OCRed" in message


def test_a_failed_load_is_named_as_the_step_that_failed(s3):
    from baidu_ocr.operators import BaiduOcrRunSummaryOperator

    from tests.unit.operators.conftest import context

    operator = BaiduOcrRunSummaryOperator(task_id="summarize", manifests=[], batches=[], rows_loaded={})
    operator.rows_loaded = {"error": "OperationalError: attempt to write a readonly database"}
    with pytest.raises(WarehouseLoadFailed, match=r"^The load failed: OperationalError: attempt to write"):
        operator.execute(context())


def test_an_empty_listing_is_said_plainly_in_the_log_and_the_summary(s3, capfd):
    """A prefix with no document ended green with nothing done and one log line in the listing task."""
    from baidu_ocr.operators import BaiduOcrRunSummaryOperator

    from tests.unit.operators.conftest import context

    operator = BaiduOcrRunSummaryOperator(
        task_id="summarize", manifests=[], batches=[], rows_loaded={}, source="s3://scans/empty/"
    )
    summary = operator.execute(context())
    assert summary["note"] == (
        "Nothing was listed under s3://scans/empty/: no document to OCR, nothing loaded. "
        "Check the bucket, the prefix and the suffixes."
    )
    assert summary["note"] in capfd.readouterr().out  # task logs: structlog, on stdout


def test_the_invoice_lines_say_what_the_run_read_checked_and_owes_per_seller(caplog):
    invoices = {
        "read": 5,
        "valid": 3,
        "invalid": 2,
        "invalid_by_check": {"amount_in_words": 1, "seller_tax_id": 1},
        "duplicates": 1,
        "valid_amount_incl_tax_by_seller": {
            "上海某某科技有限公司": "1130.00",
            "北京某某商贸有限公司": "226.50",
        },
    }
    with caplog.at_level(logging.INFO):
        summary = finish_run([], invoices=invoices, log=logging.getLogger("test"))
    assert summary["invoices"] == invoices
    assert "5 read: 3 valid, 2 invalid (amount_in_words 1, seller_tax_id 1), 1 duplicate(s)" in caplog.text
    assert (
        "total 上海某某科技有限公司" in caplog.text and "1130.00 including tax, valid invoices" in caplog.text
    )
