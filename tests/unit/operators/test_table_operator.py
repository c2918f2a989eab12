"""BaiduOcrTableOperator with the opt-in async ``form_ocr`` API: submit, wait (trigger or worker), stage JSON
results, copy Excel files."""

from __future__ import annotations

import asyncio
import json

import pytest
from airflow.exceptions import AirflowException
from airflow.sdk.exceptions import TaskDeferred
from baidu_ocr.operators import BaiduOcrTableOperator, TableJobsTimedOut
from baidu_ocr.pipeline.staging import read_records
from baidu_ocr.triggers.jobs import BaiduOcrTableJobTrigger

from tests.unit.operators.conftest import BUCKET, context, png, read_xlsx, xlsx_of


def _setup(s3) -> list[str]:
    keys = ["tables/a.png", "tables/b.png", "tables/broken.png"]
    s3.load_bytes(png(1, (60, 40)), keys[0], BUCKET)
    s3.load_bytes(png(2, (60, 40)), keys[1], BUCKET)
    s3.load_bytes(b"not an image at all", keys[2], BUCKET)
    return keys


def _operator(keys, **kwargs) -> BaiduOcrTableOperator:
    return BaiduOcrTableOperator(
        task_id="tables",
        api="form_ocr",
        bucket=BUCKET,
        keys=keys,
        excel_prefix="out/excel",
        poll_interval=0,
        **{"max_failure_ratio": 0.5, **kwargs},
    )


def _assert_staged_and_copied(s3, manifest):
    assert (manifest["n_seen"], manifest["n_ok"], manifest["n_failed"]) == (3, 2, 1)
    assert manifest["failed_by_class"] == {"bad_image": 1}
    staged = read_records(s3, [manifest["uri"]]).set_index("source_uri")
    assert set(staged["endpoint"]) == {"form_ocr"}
    ok = staged.loc[f"s3://{BUCKET}/tables/a.png"]
    result = json.loads(ok["result_json"])
    assert result["ret_code"] == 3 and json.loads(result["result_data"])["form_num"] == 1
    assert staged.loc[f"s3://{BUCKET}/tables/broken.png", "error_code"] == "216201"
    # Each workbook is named by its image's content (and the options); the staged result says where.
    workbook = json.loads(ok["result_json"])["excel_uri"].removeprefix(f"s3://{BUCKET}/")
    assert workbook.startswith(f"out/excel/{ok['content_sha256']}-") and workbook.endswith(".xlsx")
    assert len(s3.list_keys(BUCKET, prefix="out/excel/")) == 2
    stored = s3.get_conn().get_object(Bucket=BUCKET, Key=workbook)["Body"].read()
    assert read_xlsx(stored)[0][0].startswith("https://results.example.test/req-")


def test_deferrable_submits_defers_to_the_trigger_and_completes_from_its_event(s3, scripted_table_hook):
    keys = _setup(s3)
    op = _operator(keys, deferrable=True, timeout=60)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context(task_id="tables"))
    trigger = deferred.value.trigger
    assert isinstance(trigger, BaiduOcrTableJobTrigger)
    assert deferred.value.method_name == "execute_complete"
    submitted = [j["request_id"] for j in trigger.jobs if j["request_id"]]
    assert len(submitted) == 2

    async def first_event():
        async for event in trigger.run():
            return event.payload

    event = asyncio.run(first_event())
    assert event["status"] == "success"
    manifest = op.execute_complete(context(task_id="tables"), event)
    _assert_staged_and_copied(s3, manifest)


def test_non_deferrable_polls_in_the_worker(s3, scripted_table_hook):
    keys = _setup(s3)
    manifest = _operator(keys, deferrable=False).execute(context(task_id="tables"))
    _assert_staged_and_copied(s3, manifest)
    assert all(n >= 2 for n in scripted_table_hook.polls_seen.values())


def test_timeout_stages_finished_jobs_then_fails(s3, scripted_table_hook):
    keys = _setup(s3)
    scripted_table_hook.polls_until_done = 10**6
    with pytest.raises(TableJobsTimedOut, match="2 table job"):
        _operator(keys, deferrable=False, timeout=0).execute(context(task_id="tables"))


def test_error_event_fails_the_task():
    op = _operator(["x"], deferrable=True)
    with pytest.raises(AirflowException, match="quota"):
        op.execute_complete(context(), {"status": "error", "message": "quota exhausted (error_code 17)"})
    with pytest.raises(AirflowException, match="no usable event"):
        op.execute_complete(context(), None)


def test_a_submission_still_rate_limited_is_that_images_failure_and_an_account_error_stops(
    s3, scripted_table_hook, monkeypatch
):
    """One rule for the async-job operators, as ``ocr_many``: a failure of one document (refused, or still
    rate-limited after the hook's retries) is recorded on it and the others go on; a permission error
    concerns every job and stops submitting (the jobs already submitted are staged first)."""
    from baidu_ocr.exceptions import ConfigError, RateLimited, SubmitStopped

    keys = _setup(s3)
    submit = scripted_table_hook.submit_table_job

    def rate_limited_for_b(self, prepared, **options):
        if prepared.data == png(2, (60, 40)):
            raise RateLimited("Open api qps request limit reached", code=18, endpoint="form_ocr_request")
        return submit(self, prepared, **options)

    monkeypatch.setattr(scripted_table_hook, "submit_table_job", rate_limited_for_b)
    manifest = _operator(keys, deferrable=False, max_failure_ratio=1.0).execute(context(task_id="tables"))
    assert (manifest["n_ok"], manifest["n_failed"]) == (1, 2)
    assert manifest["failed_by_class"] == {"bad_image": 1, "rate_limited": 1}

    def no_permission(self, prepared, **options):
        raise ConfigError("No permission to access data", code=6, endpoint="form_ocr_request")

    monkeypatch.setattr(scripted_table_hook, "submit_table_job", no_permission)
    with pytest.raises(SubmitStopped, match="No permission"):
        _operator(["tables/a.png", "tables/b.png"], deferrable=False, staging_prefix="again").execute(
            context(task_id="tables")
        )


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        ({"status_code": 404}, "HTTP 404"),  # the link expired or never held a file
        ({"content": b"PK", "headers": {"Content-Length": str(10**9)}}, "larger than"),
    ],
    ids=["gone", "too-big"],
)
def test_a_workbook_that_cannot_be_fetched_fails_its_document_only(
    s3, scripted_table_hook, monkeypatch, requests_mock, answer, why
):
    """Issue 21: three finished jobs, one workbook that cannot be fetched. That document fails (class
    ``result_file``), the other two are staged with their workbooks, and ``_finish`` does not raise (a raise
    threw the three paid jobs away and the retry paid for them again)."""
    import hashlib
    import re

    import requests
    from baidu_ocr.client.downloads import fetch_result_file

    keys = ["tables/a.png", "tables/b.png", "tables/c.png"]
    for seed, key in enumerate(keys, start=1):
        s3.load_bytes(png(seed, (60, 40)), key, BUCKET)
    files = "https://results.example.test"  # where the scripted jobs' workbooks are
    bad_request = f"req-{hashlib.sha256(png(2, (60, 40))).hexdigest()[:8]}"
    requests_mock.get(re.compile(re.escape(files) + "/.*"), content=xlsx_of("book"))
    requests_mock.get(f"{files}/{bad_request}.xlsx", **answer)  # the later registration wins
    session = requests.Session()
    monkeypatch.setattr(
        scripted_table_hook,
        "download",
        lambda self, url: fetch_result_file(session, url, base_url=files, timeout=(1, 1)),
    )

    manifest = _operator(keys, deferrable=False).execute(context(task_id="tables"))
    assert (manifest["n_seen"], manifest["n_ok"], manifest["n_failed"]) == (3, 2, 1)
    assert manifest["failed_by_class"] == {"result_file": 1}
    staged = read_records(s3, [manifest["uri"]]).set_index("source_uri")
    bad = staged.loc[f"s3://{BUCKET}/tables/b.png"]
    assert (bad["status"], bad["error_class"]) == ("failed", "result_file") and why in bad["error_msg"]
    assert [staged.loc[f"s3://{BUCKET}/{k}", "status"] for k in ("tables/a.png", "tables/c.png")] == [
        "ok"
    ] * 2
    assert len(s3.list_keys(BUCKET, prefix="out/excel/")) == 2
    assert sum(len(h.submitted) for h in scripted_table_hook.instances) == 3  # nothing submitted twice
