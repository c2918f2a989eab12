"""BaiduOcrParserOperator against the local server: submit, defer, the trigger polls for real, resume, load."""

from __future__ import annotations

import asyncio
import json

import pytest
from airflow.exceptions import AirflowException
from airflow.sdk.exceptions import TaskDeferred
from baidu_ocr.exceptions import BatchFailureRatioExceeded, BudgetExhausted, QuotaExhausted
from baidu_ocr.hooks.ocr import reset_process_caches
from baidu_ocr.normalize import normalize_records
from baidu_ocr.operators import BaiduOcrParserOperator, SubmitStopped
from baidu_ocr.pipeline.staging import read_records
from baidu_ocr.triggers.jobs import BaiduOcrParserTaskTrigger
from baidu_ocr.warehouse import WarehouseLoader
from baidu_ocr_server.testing import running_server

from tests.conftest import REPO_ROOT
from tests.unit.operators.conftest import BUCKET, context, png

PDF = (REPO_ROOT / "include" / "samples" / "documents_pdf" / "pdf_01.pdf").read_bytes()
PDF_TRUTH = json.loads((REPO_ROOT / "include" / "samples" / "documents_pdf" / "pdf_01.json").read_text())
KEYS = ["docs/contract.pdf", "docs/scan.png", "docs/broken.pdf"]


@pytest.fixture
def server(monkeypatch, tmp_path):
    """The local server (fixture engine; tasks take at least 0.3 s) and a SQLite warehouse."""
    reset_process_caches()
    with running_server(engine="fixture", parser_task_seconds=0.3) as srv:
        monkeypatch.setenv(
            "AIRFLOW_CONN_BAIDU_OCR_DEFAULT", srv.airflow_connection(qps=50, timeout=10, max_retries=1)
        )
        monkeypatch.setenv(
            "AIRFLOW_CONN_WAREHOUSE_DEFAULT",
            json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "warehouse.db")}),
        )
        yield srv
    reset_process_caches()


def _upload(s3) -> None:
    s3.load_bytes(PDF, KEYS[0], BUCKET)
    s3.load_bytes(png(7, (120, 60)), KEYS[1], BUCKET)
    s3.load_bytes(b"%PDF-1.7 this is not really a PDF", KEYS[2], BUCKET)


def _operator(**kwargs) -> BaiduOcrParserOperator:
    defaults = {
        "task_id": "parse",
        "bucket": BUCKET,
        "keys": KEYS,
        "options": {"recognize_formula": True},
        "warehouse_conn_id": "warehouse_default",
        "poll_interval": 0.05,
        "max_failure_ratio": 0.5,
    }
    return BaiduOcrParserOperator(**{**defaults, **kwargs})


def _load(s3, manifest) -> dict[str, int]:
    loader = WarehouseLoader("warehouse_default")
    return loader.load(normalize_records(read_records(s3, [manifest["uri"]])))


def _rows(sql: str) -> list[tuple]:
    from airflow.sdk import BaseHook

    return [tuple(r) for r in BaseHook.get_connection("warehouse_default").get_hook().get_records(sql)]


def _run_trigger(trigger: BaiduOcrParserTaskTrigger) -> dict:
    async def first_event():
        async for event in trigger.run():
            return event.payload

    return asyncio.run(first_event())


def test_deferred_then_resumed_stages_markdown_and_a_failed_document(s3, server):
    _upload(s3)
    op = _operator(deferrable=True, timeout=60)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context(task_id="parse"))
    trigger = deferred.value.trigger
    assert isinstance(trigger, BaiduOcrParserTaskTrigger)
    assert deferred.value.method_name == "execute_complete"
    assert len([j for j in trigger.jobs if j["task_id"]]) == 3  # the broken PDF is refused by the task, later
    # The trigger round-trips through its serialized form, as the triggerer rebuilds it.
    path, kwargs = trigger.serialize()
    assert path == "baidu_ocr.triggers.jobs.BaiduOcrParserTaskTrigger"
    event = _run_trigger(BaiduOcrParserTaskTrigger(**kwargs))
    assert event["status"] == "success"
    assert len(event["done"]) == 2 and len(event["failed"]) == 1
    assert server.stats()["endpoints"]["parser/task/query"]["ok"] >= 3  # polled while pending/processing

    # The task resumes in a new process: a new operator (and hook) from the same arguments.
    resumed = _operator(deferrable=True, timeout=60)
    manifest = resumed.execute_complete(context(task_id="parse"), event)
    assert (manifest["n_seen"], manifest["n_ok"], manifest["n_failed"]) == (3, 2, 1)
    assert manifest["failed_by_class"] == {"bad_image": 1}
    assert manifest["stats"]["billable_calls"] == 3  # one submit per document; queries are status checks

    # OpenLineage, from the resumed task: the documents read before the deferral, the staged records, the cost.
    lineage = resumed.get_openlineage_facets_on_complete(None)
    assert {(d.namespace, d.name) for d in lineage.inputs} == {
        (f"s3://{BUCKET}", j["key"]) for j in trigger.jobs
    }
    assert f"s3://{BUCKET}" in {d.namespace for d in lineage.outputs}
    assert lineage.run_facets["baidu_ocr_cost"].billableCalls == {"parser_task": 3}
    # Baidu bills the parser by page: a parsed document counts all its pages.
    assert lineage.run_facets["baidu_ocr_cost"].pages == manifest["n_pages_ok"] > manifest["n_ok"]

    loaded = _load(s3, manifest)
    assert loaded["ocr_documents"] == 3 and loaded["ocr_parsed_documents"] == 3
    rows = {
        r[0]: r[1:]
        for r in _rows(
            "SELECT source_uri, status, page_count, markdown, layout_json, task_id, error_msg, endpoint "
            "FROM ocr_parsed_documents"
        )
    }
    status, pages, markdown, layout, task_id, _, endpoint = rows[f"s3://{BUCKET}/docs/contract.pdf"]
    assert (status, pages, endpoint) == ("ok", len(PDF_TRUTH["pages"]), "parser_task")
    first_line = PDF_TRUTH["pages"][0]["lines"][0]["text"]
    assert markdown.startswith(first_line)
    assert json.loads(layout)["pages"][0]["layouts"][0]["text"] == first_line
    assert task_id.startswith("task-")
    broken = rows[f"s3://{BUCKET}/docs/broken.pdf"]
    assert broken[0] == "failed" and broken[2] is None and "cannot be read" in broken[5]
    assert broken[4].startswith("task-")  # which task failed is kept
    [(doc_status, error_class)] = _rows(
        "SELECT status, error_class FROM ocr_documents WHERE source_uri LIKE '%broken.pdf'"
    )
    assert (doc_status, error_class) == ("failed", "bad_image")
    # Nothing a URL could be re-fetched with is staged: the result links are dropped.
    staged = read_records(s3, [manifest["uri"]])
    assert not staged["result_json"].str.contains("_files/").any()


def test_non_deferrable_waits_in_the_worker_and_a_rerun_is_free(s3, server):
    _upload(s3)
    manifest = _operator(deferrable=False).execute(context(task_id="parse"))
    assert (manifest["n_ok"], manifest["n_failed"]) == (2, 1)
    _load(s3, manifest)
    submitted = server.stats()["parser_tasks"]
    assert submitted == 3

    # A rerun (another DAG run): every document is in the warehouse, the failed one as bad_image.
    again = _operator(deferrable=True).execute(context(task_id="parse_again"))  # nothing to defer for
    assert (again["n_seen"], again["n_skipped"], again["n_ok"], again["n_failed"]) == (3, 3, 0, 0)
    assert server.stats()["parser_tasks"] == submitted
    assert again["stats"]["billable_calls"] == 0

    # Other options are another parse: paid again.
    changed = _operator(deferrable=False, options={"recognize_formula": False})
    assert changed.execute(context(task_id="parse_other"))["n_ok"] == 2
    assert server.stats()["parser_tasks"] == submitted + 3


def test_too_many_failed_documents_fail_the_task_after_staging(s3, server):
    _upload(s3)
    ctx = context(task_id="parse")
    with pytest.raises(BatchFailureRatioExceeded, match="1 of 3"):
        _operator(deferrable=False, max_failure_ratio=0.1).execute(ctx)
    published = ctx["ti"].pushed["return_value"]
    assert published["uri"] and published["n_ok"] == 2  # what succeeded is staged and published


def test_a_quota_error_stops_submitting_but_keeps_what_was_submitted(s3, server):
    _upload(s3)
    server.configure(daily_quota=1)  # the first submit passes, the second answers 17
    ctx = context(task_id="parse")
    with pytest.raises(QuotaExhausted, match="2 image\\(s\\) left for the next run"):
        _operator(deferrable=False).execute(ctx)
    published = ctx["ti"].pushed["return_value"]
    assert published["n_ok"] == 1 and published["uri"]
    assert (published["stopped_by"], published["n_left"]) == ("quota", 2)


def test_an_error_for_every_document_stops_submitting_without_calling_it_a_planned_stop(s3, server):
    _upload(s3)
    server.configure(error_rates={"6": 1.0})  # 6: no permission to call this API, for every call
    ctx = context(task_id="parse")
    with pytest.raises(SubmitStopped, match="3 image\\(s\\) left"):
        _operator(deferrable=False).execute(ctx)
    published = ctx["ti"].pushed["return_value"]
    assert (published["n_ok"], published["stopped_by"], published["n_left"]) == (0, None, 0)


def test_the_budget_stops_submitting_and_the_submitted_tasks_are_still_staged(s3, server):
    _upload(s3)
    ctx = context(task_id="parse")
    with pytest.raises(BudgetExhausted, match="max_billable_calls=1 reached"):
        _operator(deferrable=False, max_billable_calls=1).execute(ctx)
    assert server.stats()["parser_tasks"] == 1
    published = ctx["ti"].pushed["return_value"]
    assert (published["n_ok"], published["stopped_by"], published["n_left"]) == (1, "budget", 2)


def test_error_event_fails_the_task():
    op = _operator(deferrable=True)
    with pytest.raises(AirflowException, match="quota"):
        op.execute_complete(context(), {"status": "error", "message": "quota exhausted (error_code 17)"})
    with pytest.raises(AirflowException, match="no usable event"):
        op.execute_complete(context(), None)


def test_a_bad_layout_file_fails_its_document_and_the_others_are_staged_and_loaded(s3, server, monkeypatch):
    """Issue 21: three finished tasks, one layout file that is not JSON. That document fails with a clear
    class; the other two (paid for) are staged, loaded and their usage recorded; a rerun pays for the bad
    one only."""
    from baidu_ocr.hooks.ocr import BaiduOcrHook

    keys = ["docs/contract.pdf", "docs/scan.png", "docs/other.png"]
    s3.load_bytes(PDF, keys[0], BUCKET)
    s3.load_bytes(png(7, (120, 60)), keys[1], BUCKET)
    s3.load_bytes(png(8, (120, 60)), keys[2], BUCKET)
    download = BaiduOcrHook.download

    def scan_layout_is_an_error_page(self, url):
        data = download(self, url)
        if url.split("?")[0].endswith(".json") and json.loads(data).get("file_name") == "scan.png":
            return b"<html><body>502 Bad Gateway</body></html>"
        return data

    monkeypatch.setattr(BaiduOcrHook, "download", scan_layout_is_an_error_page)
    manifest = _operator(deferrable=False, keys=keys).execute(context(task_id="parse"))
    assert (manifest["n_seen"], manifest["n_ok"], manifest["n_failed"]) == (3, 2, 1)
    assert manifest["failed_by_class"] == {"result_file": 1}
    staged = read_records(s3, [manifest["uri"]]).set_index("source_uri")
    bad = staged.loc[f"s3://{BUCKET}/docs/scan.png"]
    assert (bad["status"], bad["error_class"]) == ("failed", "result_file")
    assert "not JSON" in bad["error_msg"] and "502" not in bad["error_msg"]  # says what, not the file's text
    assert json.loads(bad["result_json"])["task_id"].startswith("task-")  # which paid task it was
    assert {"docs/contract.pdf", "docs/other.png"} == {
        k for k in keys if staged.loc[f"s3://{BUCKET}/{k}", "status"] == "ok"
    }
    # Usage: all three submissions, paid, are in ocr_usage.
    [(calls,)] = _rows("SELECT SUM(billable_calls) FROM ocr_usage WHERE endpoint = 'parser_task'")
    assert calls == 3

    loaded = _load(s3, manifest)
    assert loaded["ocr_parsed_documents"] == 3
    assert sorted(_rows("SELECT status, error_class FROM ocr_documents")) == [
        ("failed", "result_file"),
        ("ok", None),
        ("ok", None),
    ]
    # The next run submits the document whose result was lost, not the two loaded ones.
    monkeypatch.setattr(BaiduOcrHook, "download", download)
    again = _operator(deferrable=False, keys=keys).execute(context(task_id="parse_again"))
    assert (again["n_skipped"], again["n_ok"]) == (2, 1)
    assert server.stats()["parser_tasks"] == 4
