"""The confidence gate's human review, for real: ``airflow standalone`` (``baidu_ocr_dev.ui``'s deployment, fixture
engine), the documents DAG on ``samples/review/`` (``faded_01``: one line at confidence 0.86, under the default
0.9), answered through Airflow's REST API (the HITL endpoints), and once in headless Chromium.

Each run uses other endpoint options (which the fixture engine ignores), so the faded document is a new
document to the warehouse every time and each run queues its own review.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.browser.test_ui import (
    ARTIFACTS,
    CHROMIUM,
    CHROMIUM_ARGS,
    README_IMAGES,
    Api,
    _require_chromium,
    sign_in,
)
from tests.conftest import REPO_ROOT
from tests.unit.operators.test_review_operator import shown_text

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(600)]

DAG_ID = "baidu_ocr_s3_to_warehouse"
FADED_LINE = "检查时间为10月2日上午9:00至11:30，届时电梯暂停使用。"  # doc_05's line 3, faded in faded_01
LINE_FIELD = "line_3"
README_SHOT = "review-task.png"
# A key that, quoted raw in the review's Markdown, made the document's link point elsewhere.
HOSTILE_PREFIX = "samples/hostile/"
HOSTILE_KEY = HOSTILE_PREFIX + "x](https://evil.example/phish)[faded_01.jpg"


class ReviewApi(Api):
    dag_id = DAG_ID

    def trigger(self, options: dict, **conf) -> str:
        conf = {"prefix": "samples/review/", "options": {"probability": "true", **options}, **conf}
        return self.trigger_dag(self.dag_id, conf)

    def trigger_dag(self, dag_id: str, conf: dict) -> str:
        run = self.send("POST", f"dags/{dag_id}/dagRuns", {"logical_date": None, "conf": conf})
        return run["dag_run_id"]

    def run_path(self, run_id: str) -> str:
        return f"dags/{self.dag_id}/dagRuns/{urllib.parse.quote(run_id, safe='')}"

    def wait_for_state(self, run_id: str, timeout_s: float = 240.0) -> str:
        deadline = time.monotonic() + timeout_s
        state = None
        while time.monotonic() < deadline:
            state = self.get(self.run_path(run_id))["state"]
            if state in ("success", "failed"):
                return state
            time.sleep(2)
        raise AssertionError(f"run {run_id} still {state} after {timeout_s:.0f}s")

    def wait_for_review(self, run_id: str, timeout_s: float = 240.0, map_index: int = 0) -> dict:
        """The review task's HITL detail, once the task asks for input (404 until then) and the scheduler
        has handled the exit of the paused try.

        The second condition works around a race in Airflow 3.3: an answer that lands before the scheduler
        has processed the paused workload's exit is lost (the scheduler sees "success" for a task that the
        answer already queued, marks it up_for_retry, and the next try asks again). A person never answers
        within that half second; this test would, so it waits for the scheduler's "TaskInstance Finished"
        line of the paused try in the deployment's log."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                detail = self.get(f"{self.run_path(run_id)}/taskInstances/review/{map_index}/hitlDetails")
                if self._paused_try_handled(run_id, map_index):
                    return detail
            except urllib.error.HTTPError as exc:
                if exc.code != 404:
                    raise
            state = self.get(self.run_path(run_id))["state"]
            assert state in ("queued", "running"), f"the run ended ({state}) without a review"
            time.sleep(2)
        raise AssertionError(f"no review task asked for input within {timeout_s:.0f}s")

    def _paused_try_handled(self, run_id: str, map_index: int = 0) -> bool:
        finished = f"TaskInstance Finished: dag_id={self.dag_id}, task_id=review, run_id={run_id}, map_index={map_index}"
        return any(
            finished in line and "state=awaiting_input" in line
            for line in self.scheduler_log.read_text(errors="replace").splitlines()
        )

    def answer(self, run_id: str, option: str, params_input: dict, map_index: int = 0) -> dict:
        return self.send(
            "PATCH",
            f"{self.run_path(run_id)}/taskInstances/review/{map_index}/hitlDetails",
            {"chosen_options": [option], "params_input": params_input},
        )


@pytest.fixture(scope="module")
def api(ui):
    api = ReviewApi(ui.url, ui.user, ui.password())
    api.scheduler_log = ui.logs / "standalone.log"
    deadline = time.monotonic() + 120
    while True:  # the DAG processor may not have parsed the DAG yet
        try:
            api.get(f"dags/{DAG_ID}")
            return api
        except urllib.error.HTTPError:
            if time.monotonic() > deadline:
                raise
            time.sleep(2)


def warehouse_rows(ui, options_hash_of_run: str | None = None) -> dict:
    with sqlite3.connect(ui.warehouse) as db:
        db.row_factory = sqlite3.Row
        docs = [dict(r) for r in db.execute("SELECT * FROM ocr_documents WHERE source_uri LIKE '%faded_01%'")]
        lines = [dict(r) for r in db.execute("SELECT * FROM ocr_lines WHERE line_no = 3")]
        queue = [dict(r) for r in db.execute("SELECT * FROM ocr_review_queue")]
    return {"docs": docs, "lines": lines, "queue": queue}


def rows_of_run(ui, run_id: str) -> tuple[dict, dict, dict]:
    rows = warehouse_rows(ui)
    (doc,) = [d for d in rows["docs"] if d["run_id"] == run_id]
    key = ("content_sha256", "endpoint", "options_hash", "page_no")
    (line,) = [r for r in rows["lines"] if all(r[k] == doc[k] for k in key)]
    (queued,) = [q for q in rows["queue"] if all(q[k] == doc[k] for k in key)]
    return doc, line, queued


def test_a_correction_through_the_rest_api_reaches_the_warehouse_and_a_rerun_keeps_it(ui, api):
    run_id = api.trigger({"language_type": "CHN_ENG"})
    detail = api.wait_for_review(run_id)
    shown = shown_text(detail["body"])  # as the UI renders it (the body escapes Markdown characters)
    assert FADED_LINE in shown and "samples/review/faded_01.jpg" in shown
    assert detail["params"][LINE_FIELD]["value"] == FADED_LINE
    doc, _, _ = rows_of_run(ui, run_id)
    assert doc["review_status"] == "needs_review" and doc["conf_min"] == pytest.approx(0.86)

    answer = api.answer(run_id, "Save corrections", {LINE_FIELD: "检查时间为10月2日上午9:00至11:30"})
    assert answer["responded_by"]["name"] == ui.user
    assert api.wait_for_state(run_id) == "success"
    doc, line, queued = rows_of_run(ui, run_id)
    assert (line["text"], line["original_text"]) == ("检查时间为10月2日上午9:00至11:30", FADED_LINE)
    assert line["reviewed_by"] == ui.user and line["reviewed_at"]
    assert line["reviewed_by_id"] == answer["responded_by"]["id"]  # the stable id, beside the name
    assert (doc["review_status"], doc["reviewed_by"]) == ("reviewed", ui.user)
    assert (queued["status"], queued["reviewed_by"]) == ("corrected", ui.user)

    # Rerun the load (clear it: it reads the run's staged OCR results again and upserts them).
    api.send(
        "POST",
        f"dags/{DAG_ID}/clearTaskInstances",
        {"dag_run_id": run_id, "task_ids": ["normalize_and_load"], "dry_run": False, "only_failed": False},
    )
    deadline = time.monotonic() + 180
    while api.get(f"{api.run_path(run_id)}/taskInstances/normalize_and_load")["try_number"] < 2 or (
        api.get(f"{api.run_path(run_id)}/taskInstances/normalize_and_load")["state"] != "success"
    ):
        assert time.monotonic() < deadline, "the cleared load did not run again"
        time.sleep(2)
    assert rows_of_run(ui, run_id)[1]["text"] == "检查时间为10月2日上午9:00至11:30"
    assert rows_of_run(ui, run_id)[0]["review_status"] == "reviewed"


def test_an_unanswered_review_times_out_the_rows_stay_needs_review_and_the_run_succeeds(ui, api):
    run_id = api.trigger({"detect_direction": "false"}, review_timeout_minutes=0.25)
    api.wait_for_review(run_id)
    assert api.wait_for_state(run_id) == "success"
    doc, line, queued = rows_of_run(ui, run_id)
    assert doc["review_status"] == "needs_review" and doc["reviewed_by"] is None
    assert (line["text"], line["original_text"]) == (FADED_LINE, None)
    assert queued["status"] == "open"
    applied = api.get(f"{api.run_path(run_id)}/taskInstances/apply_reviews")
    assert applied["state"] == "success"
    review = api.get(f"{api.run_path(run_id)}/taskInstances/review/0")
    assert review["state"] == "success"
    xcom = api.get(f"{api.run_path(run_id)}/taskInstances/review/xcomEntries/return_value?map_index=0")
    value = xcom["value"] if isinstance(xcom["value"], dict) else json.loads(xcom["value"])
    assert value["decision"] == "timed_out"


def upload_hostile_key(api: ReviewApi, bucket: str) -> None:
    """The faded scan again, under a key built to inject a link (the fixture engine knows it by content)."""
    import boto3

    extra = api.get("connections/aws_default")["extra"]
    endpoint = (json.loads(extra) if isinstance(extra, str) else extra)["endpoint_url"]
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    data = (REPO_ROOT / "include" / "samples" / "review" / "faded_01.jpg").read_bytes()
    s3.put_object(Bucket=bucket, Key=HOSTILE_KEY, Body=data)


def test_the_review_shows_the_scan_of_each_low_line_and_no_link_a_key_could_inject(ui, api):
    """Endpoint ``general`` (line positions): the page and the faded line's crop render in the UI, beside the
    OCR's text and the form; the document's key, built to inject a link, shows as written and links nowhere;
    once answered, the review's images are gone (the links Airflow keeps lead nowhere)."""
    _require_chromium()
    from playwright.sync_api import sync_playwright

    upload_hostile_key(api, ui.bucket)
    run_id = api.trigger({"paragraph": "false"}, prefix=HOSTILE_PREFIX, endpoint="general")
    detail = api.wait_for_review(run_id)
    quoted = urllib.parse.quote(run_id, safe="")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(30_000)
            sign_in(page, ui)
            page.goto(f"{ui.url}/dags/{DAG_ID}/runs/{quoted}/tasks/review/mapped/0/required_actions")
            page.get_by_text(FADED_LINE).first.wait_for()
            page.get_by_text(HOSTILE_KEY.rsplit("/", 1)[1], exact=False).first.wait_for()  # as written
            shown = page.wait_for_function(
                """() => {
                    const loaded = [...document.images].filter(i => i.complete && i.naturalWidth > 0);
                    const crop = loaded.find(i => i.src.includes('/line-0003.png'));
                    const scan = loaded.find(i => i.src.includes('/page.jpg'));
                    return crop && scan && {crop: [crop.naturalWidth, crop.naturalHeight, crop.width, crop.src],
                                            page: [scan.naturalWidth, scan.src]};
                }"""
            ).json_value()
            assert page.locator("a[href*='evil.example'], img[src*='evil.example']").count() == 0
            path = ARTIFACTS / README_SHOT
            path.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(path), full_page=True)
            print(f"screenshot: {path}")
            if os.environ.get("BAIDU_OCR_UPDATE_README_IMAGES"):
                save_readme_image(path)
        finally:
            browser.close()
    crop_width, crop_height, drawn_width, crop_url = shown["crop"]
    # The 833 x 31 px line, wrapped to Airflow's 300 px image width, is drawn at its own size: readable.
    assert crop_width <= 300 and drawn_width == crop_width and crop_height > 3 * 31
    assert shown["page"][0] == 1240  # the page as scanned, full size behind its link
    with urllib.request.urlopen(crop_url, timeout=30) as response:
        assert response.headers["Content-Type"] == "image/png"
    assert crop_url in detail["body"]  # what Airflow keeps in its metadata database

    api.answer(run_id, "Accept as read", {LINE_FIELD: FADED_LINE})
    assert api.wait_for_state(run_id) == "success"
    assert rows_of_run(ui, run_id)[2]["status"] == "accepted"
    for url in (crop_url, shown["page"][1]):  # the review closed: its stored links lead nowhere
        with pytest.raises(urllib.error.HTTPError) as gone:
            urllib.request.urlopen(url, timeout=30)
        assert gone.value.code in (403, 404)  # S3 says 403 for a missing key to whoever may not list


def save_readme_image(path: Path) -> None:
    from PIL import Image

    assert README_SHOT not in README_IMAGES  # this module's own image
    docs = REPO_ROOT / "docs" / "images"
    with Image.open(path) as image:
        image.convert("RGB").quantize(colors=256).save(docs / README_SHOT, optimize=True)


# -- invoices: a person books or rejects an invoice that failed a check or came twice ---------------------

INVOICES_DAG = "baidu_ocr_invoices_to_warehouse"


def test_an_invoice_with_a_failed_check_is_rejected_in_the_browser_and_the_others_booked(ui, api):
    """The invoices DAG on the samples: one review task per queued invoice (the one whose amount in words
    disagrees with its figures, the PDF copy of a photographed invoice); the first is shown in headless
    Chromium with its failed check and rejected by clicking, the others booked through the API; the
    warehouse then says who decided what, and the run succeeds."""
    _require_chromium()
    from baidu_ocr.pipeline.review_body import BOOK, REJECT
    from playwright.sync_api import sync_playwright

    invoices = ReviewApi(ui.url, ui.user, ui.password())
    invoices.dag_id, invoices.scheduler_log = INVOICES_DAG, api.scheduler_log
    run_id = invoices.trigger_dag(INVOICES_DAG, {"prefix": "samples/invoices/"})
    first = invoices.wait_for_review(run_id)
    tasks = invoices.get(f"{invoices.run_path(run_id)}/taskInstances/review/listMapped")["task_instances"]
    details = [first] + [invoices.wait_for_review(run_id, map_index=i) for i in range(1, len(tasks))]
    [tampered] = [i for i, d in enumerate(details) if "inv_09_tampered_words" in d["body"]]
    assert "**Failed checks:**\n\n- `amount_in_words`" in details[tampered]["body"]
    assert any("**Duplicate:**" in d["body"] for d in details)
    quoted = urllib.parse.quote(run_id, safe="")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1000})
            page.set_default_timeout(30_000)
            sign_in(page, ui)
            page.goto(
                f"{ui.url}/dags/{INVOICES_DAG}/runs/{quoted}/tasks/review/mapped/{tampered}/required_actions"
            )
            page.get_by_text("Failed checks").first.wait_for()
            page.get_by_text("inv_09_tampered_words.jpg", exact=False).first.wait_for()
            page.screenshot(path=str(ARTIFACTS / "invoice-review.png"), full_page=True)
            page.get_by_role("button", name=REJECT).click()
            page.get_by_text(REJECT).first.wait_for()  # the answer, as the page shows it once given
        finally:
            browser.close()
    for i in range(len(details)):
        if i != tampered:
            invoices.answer(run_id, BOOK, {}, map_index=i)
    assert invoices.wait_for_state(run_id) == "success"
    with sqlite3.connect(ui.warehouse) as db:
        db.row_factory = sqlite3.Row
        rows = {
            r["source_uri"].rsplit("/", 1)[1]: dict(r)
            for r in db.execute(
                "SELECT i.source_uri, i.review_status, i.reviewed_by, q.status FROM ocr_invoices i "
                "JOIN ocr_review_queue q ON q.content_sha256 = i.content_sha256 AND q.page_no = i.page_no"
            )
        }
    rejected = rows["inv_09_tampered_words.jpg"]
    assert (rejected["review_status"], rejected["reviewed_by"], rejected["status"]) == (
        "rejected",
        ui.user,
        "rejected",
    )
    others = [r for name, r in rows.items() if name != "inv_09_tampered_words.jpg"]
    assert others and all((r["review_status"], r["status"]) == ("reviewed", "accepted") for r in others)
