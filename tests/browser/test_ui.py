"""The Airflow UI as a user meets it, in headless Chromium, against ``make ui``'s own deployment.

``baidu_ocr_dev.ui`` starts moto S3, the local OCR server (fixture engine here: fast) and ``airflow standalone`` on
free ports with an Airflow home in a temporary directory; the test signs in, presses "Test" on the connections
``make ui`` created (each answers green with what it checked; a PII connection with a wrong key, red with
what is wrong), opens their Edit forms (every field of the type, with its hint), checks the Add form of a Baidu
OCR connection, triggers ``baidu_ocr_s3_to_warehouse`` from the trigger form, waits for it, and checks the
mapped tasks' names, the asset events' row counts and the summary's cost line (priced by the example prices
the connection carries). Screenshots go to ``tests/browser/artifacts/``; with
``BAIDU_OCR_UPDATE_README_IMAGES=1`` the ones the README shows are also refreshed in ``docs/images/`` (a test
run never rewrites tracked files otherwise). Chromium comes from Debian (``apt-get install chromium``): without it
the test skips on a laptop and fails under ``CI``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.services import missing

pytestmark = [pytest.mark.slow, pytest.mark.integration, pytest.mark.timeout(420)]

CHROMIUM = Path(os.environ.get("BAIDU_OCR_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
README_IMAGES = {
    "connection-keys.png",
    "connection-form.png",
    "connection-edit.png",
    "connection-test.png",
    "mapped-tasks.png",
    "asset-events.png",
}
DAG_ID = "baidu_ocr_s3_to_warehouse"
BATCH_SIZE = 4
FORM_CONN_ID = "baidu_ocr_from_the_form"
BAD_PII_CONN_ID = "pii_keys_with_a_short_aes_key"
# What the "Test" of each connection make ui creates says when it passes: what it proved.
TESTED = {
    "aws_default": "Arn='arn:aws:sts::",
    "warehouse_default": "Connection successfully tested",
    "baidu_ocr_default": "Connected to Baidu OCR at http://127.0.0.1:",
    "baidu_ocr_pii": "AES-256 encryption key: ID numbers are stored masked, as HMAC and encrypted",
}


def _require_chromium() -> None:
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install -y chromium)"
    else:
        try:
            import playwright  # noqa: F401
        except ImportError:
            reason = "the playwright package is not installed (pip install -r requirements.txt)"
    if reason is not None:
        missing(reason)


@pytest.fixture(scope="module")
def page(ui):
    _require_chromium()
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.set_default_timeout(30_000)
            yield page
        finally:
            browser.close()


def shot(page, name: str, locator=None) -> Path:
    path = ARTIFACTS / name
    (locator or page).screenshot(path=str(path))
    print(f"screenshot: {path}")
    if name in README_IMAGES and os.environ.get("BAIDU_OCR_UPDATE_README_IMAGES"):
        docs = REPO_ROOT / "docs" / "images"
        docs.mkdir(parents=True, exist_ok=True)
        from PIL import Image

        with Image.open(path) as image:  # 256 colours: a third of the bytes, same look for a UI
            image.convert("RGB").quantize(colors=256).save(docs / name, optimize=True)
    return path


class Api:
    """The public REST API with the JWT the login form gets (``POST /auth/token``)."""

    def __init__(self, url: str, user: str, password: str) -> None:
        self.url = url
        request = urllib.request.Request(
            f"{url}/auth/token",
            data=json.dumps({"username": user, "password": password}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=90) as response:
            self.token = json.load(response)["access_token"]

    def get(self, path: str) -> dict:
        request = urllib.request.Request(
            f"{self.url}/api/v2/{path}", headers={"Authorization": f"Bearer {self.token}"}
        )
        with urllib.request.urlopen(request, timeout=90) as response:
            return json.load(response)

    def send(self, method: str, path: str, body: dict) -> dict:
        request = urllib.request.Request(
            f"{self.url}/api/v2/{path}",
            data=json.dumps(body).encode(),
            method=method,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=90) as response:
            return json.load(response)


def sign_in(page, ui) -> None:
    page.goto(ui.url)
    page.get_by_label("Username").fill(ui.user)
    page.get_by_label("Password").fill(ui.password())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)


def check_connection_form(page, ui) -> None:
    from baidu_ocr.provider import CONN_FIELDS

    page.goto(f"{ui.url}/connections")
    page.get_by_role("button", name="Add Connection").click()
    dialog = page.get_by_role("dialog")
    dialog.get_by_role("combobox").fill("Baidu OCR")
    page.keyboard.press("Enter")
    dialog.get_by_label("Connection ID").fill(FORM_CONN_ID)
    assert dialog.get_by_label("API Key").get_attribute("placeholder").startswith("API Key of your")
    assert dialog.get_by_label("Secret Key").get_attribute("type") == "password"
    page.set_viewport_size({"width": 1280, "height": 1400})  # the whole dialog in one screenshot
    shot(page, "connection-keys.png", dialog)
    dialog.get_by_label("API Key").fill("an-api-key")
    dialog.get_by_label("Secret Key").fill("a-secret-key")
    dialog.get_by_text("Extra Fields", exact=True).click()
    verify = dialog.locator("input[name='element_verify']")
    assert verify.get_attribute("type") == "checkbox" and verify.is_checked()
    labels = {text.replace("*", "").strip() for text in dialog.locator("label").all_inner_texts()}
    assert {"API base URL", "API Key", "Secret Key"} | {
        spec["label"] for spec in CONN_FIELDS.values()
    } <= labels
    text = " ".join(dialog.inner_text().split())
    assert [
        name for name, spec in CONN_FIELDS.items() if " ".join(spec["description"].split()) not in text
    ] == []
    shot(page, "connection-form.png", dialog)
    dialog.get_by_text("Extra Fields JSON", exact=True).click()
    dialog.get_by_role("button", name="Save").click()
    dialog.wait_for(state="hidden")
    page.set_viewport_size({"width": 1280, "height": 860})


def row_of(page, conn_id: str):
    """The connection list's row of ``conn_id`` (its name starts with the id; ``baidu_ocr_pii`` is also a type)."""
    return page.get_by_role("row", name=re.compile(rf"^{re.escape(conn_id)}\s"))


def press_test(page, conn_id: str) -> tuple[bool, str]:
    """Press the row's "Test" button: the API's answer, once the UI shows it (green or red, the message)."""
    with page.expect_response(lambda r: r.url.endswith("/api/v2/connections/test")) as answer:
        row_of(page, conn_id).get_by_role("button", name="Test Connection").click(force=True)  # a tooltip
    page.mouse.move(0, 0)
    assert answer.value.status == 200, (conn_id, answer.value.status, answer.value.text())
    result = answer.value.json()
    title = "Test Connection Successful" if result["status"] else "Test Connection Failed"
    toast = page.locator("[data-scope='toast'][data-part='root']").filter(has_text=title)
    toast.filter(has_text=result["message"]).first.wait_for()
    assert "object has no attribute" not in result["message"], (conn_id, result)
    return result["status"], result["message"]


def check_connections_listed_and_tested(page, ui, api: Api) -> None:
    """Admin -> Connections lists what ``make ui`` created in the metadata DB; each one's "Test" says what it
    proved, and a PII connection whose AES key is too short says so."""
    api.send(
        "POST",
        "connections",
        {
            "connection_id": BAD_PII_CONN_ID,
            "conn_type": "baidu_ocr_pii",
            "password": "an-hmac-key-of-32-bytes-or-more!",
            "port": 0,  # as the UI tests it (see baidu_ocr_dev.ui.import_connections)
            "extra": json.dumps({"encryption_key": base64.b64encode(bytes(20)).decode()}),
        },
    )
    page.set_viewport_size(
        {"width": 1280, "height": 1400}
    )  # the answers stack up below the rows, not on them
    page.goto(f"{ui.url}/connections")
    for conn_id in (*TESTED, BAD_PII_CONN_ID):
        row_of(page, conn_id).wait_for()
    for conn_id, proof in TESTED.items():
        status, message = press_test(page, conn_id)
        assert status is True and proof in message, (conn_id, message)
    status, message = press_test(page, BAD_PII_CONN_ID)
    assert (status, message) == (
        False,
        "The PII keys cannot be used: encryption_key must be 16, 24 or 32 bytes (AES-128/192/256), not 20",
    )
    page.wait_for_timeout(600)  # the last answer's slide-in, for the picture only
    shot(page, "connection-test.png")
    page.set_viewport_size({"width": 1280, "height": 860})
    # The AES key of ID numbers is masked like a password (make ui adds it to sensitive_var_conn_names).
    assert json.loads(api.get("connections/baidu_ocr_pii")["extra"]) == {"encryption_key": "***"}


def check_edit_forms(page, ui) -> None:
    """The Edit form of each Baidu OCR connection ``make ui`` created shows every field of its type, with
    its hint (Airflow 3.3 shows a field there only when the stored extra holds its key)."""
    from baidu_ocr.provider import CONN_FIELDS, PII_CONN_FIELDS

    page.set_viewport_size({"width": 1280, "height": 1800})  # the whole dialog in one screenshot
    forms = [
        ("baidu_ocr_default", CONN_FIELDS, {"API base URL", "API Key", "Secret Key"}),
        ("baidu_ocr_pii", PII_CONN_FIELDS, {"HMAC key"}),
    ]
    for conn_id, fields, standard_labels in forms:
        page.goto(f"{ui.url}/connections")
        row_of(page, conn_id).get_by_role("button", name="Edit Connection").click(force=True)
        dialog = page.get_by_role("dialog")
        dialog.get_by_text("Extra Fields", exact=True).click()
        for spec in fields.values():
            dialog.locator("label", has_text=spec["label"]).first.wait_for()
        labels = {text.replace("*", "").strip() for text in dialog.locator("label").all_inner_texts()}
        text = " ".join(dialog.inner_text().split())
        assert standard_labels | {spec["label"] for spec in fields.values()} <= labels, (conn_id, labels)
        for name, spec in fields.items():
            assert " ".join(spec["description"].split()) in text, (conn_id, name)
        if conn_id == "baidu_ocr_default":
            shot(page, "connection-edit.png", dialog)
        else:  # the PII form has no host, login, schema or port
            assert not {"Host", "Login", "Schema", "Port"} & labels, labels
        page.keyboard.press("Escape")
        dialog.wait_for(state="hidden")
    page.set_viewport_size({"width": 1280, "height": 860})


def check_the_cost_line(page, ui, api: Api, quoted_run_id: str) -> None:
    """The summary prices the run with the example prices the connection carries, in XCom and in its log."""
    from baidu_ocr_dev.demo import DEMO_PRICING

    run_path = f"dags/{DAG_ID}/dagRuns/{quoted_run_id}"
    value = api.get(f"{run_path}/taskInstances/summarize/xcomEntries/return_value")["value"]
    cost = (value if isinstance(value, dict) else json.loads(value))["cost"]["general_basic"]
    free = DEMO_PRICING["general_basic"]["free_per_month"]
    assert cost["free_per_month"] == free and cost["run_estimated_cost"] is not None, cost
    page.goto(f"{ui.url}/dags/{DAG_ID}/runs/{quoted_run_id}/tasks/summarize")
    log = page.get_by_text("cost general_basic").first
    log.wait_for()
    (line,) = [line for line in log.inner_text().splitlines() if "cost general_basic" in line]
    assert f"of {free} free); est. cost " in line, line
    log.scroll_into_view_if_needed()
    shot(page, "run-summary-cost.png")


def trigger_from_the_form(page, ui) -> None:
    page.goto(f"{ui.url}/dags/{DAG_ID}")
    page.get_by_role("button", name="Trigger").first.click()
    dialog = page.get_by_role("dialog")
    batch_size = dialog.get_by_label("batch_size")
    batch_size.fill(str(BATCH_SIZE))
    shot(page, "trigger-form.png", dialog)
    dialog.get_by_role("button", name="Trigger").click()
    dialog.wait_for(state="hidden")


def wait_for_run(api: Api, timeout_s: float = 180.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        runs = api.get(f"dags/{DAG_ID}/dagRuns?order_by=-start_date&limit=1")["dag_runs"]
        if runs and runs[0]["state"] in ("success", "failed"):
            return runs[0]
        time.sleep(2)
    raise AssertionError(f"{DAG_ID} did not finish within {timeout_s:.0f}s: {runs}")


def test_sign_in_configure_trigger_and_read_the_results(ui, page):
    sign_in(page, ui)
    api = Api(ui.url, ui.user, ui.password())
    check_connections_listed_and_tested(page, ui, api)
    check_edit_forms(page, ui)
    check_connection_form(page, ui)
    saved = api.get(f"connections/{FORM_CONN_ID}")
    extra = json.loads(saved["extra"])
    assert None not in extra.values() and extra["verify"] is True, extra

    trigger_from_the_form(page, ui)
    run = wait_for_run(api)
    assert run["state"] == "success", run
    assert run["conf"]["batch_size"] == BATCH_SIZE
    run_id = run["dag_run_id"]
    quoted = urllib.parse.quote(run_id, safe="")  # "+00:00": a bare "+" in a query is a space

    mapped = api.get(f"dags/{DAG_ID}/dagRuns/{quoted}/taskInstances/ocr_batch/listMapped")["task_instances"]
    n_images = len([p for p in (REPO_ROOT / "include/samples/documents").iterdir() if p.suffix != ".json"])
    n_batches = -(-n_images // BATCH_SIZE)
    labels = sorted(ti["rendered_map_index"] for ti in mapped)
    assert labels[0] == f"batch 1/{n_batches} · {BATCH_SIZE} images · doc_01…doc_04", labels
    assert len(labels) == n_batches
    page.goto(f"{ui.url}/dags/{DAG_ID}/runs/{quoted}/tasks/ocr_batch/mapped")
    page.get_by_text(labels[0]).first.wait_for()
    shot(page, "mapped-tasks.png")

    events = api.get(f"assets/events?source_dag_id={DAG_ID}&source_run_id={quoted}")["asset_events"]
    by_table = {event["name"]: event["extra"] for event in events}
    assert set(by_table) == {"ocr_documents", "ocr_lines"}  # no char granularity asked: no ocr_chars event
    assert by_table["ocr_documents"]["rows"] == n_images
    assert by_table["ocr_lines"]["pages_ok"] == n_images
    assert by_table["ocr_lines"]["billable_calls"] == n_images
    # The load task's page, tab "Asset Events": the events it created, the first one's extra unfolded.
    page.goto(f"{ui.url}/dags/{DAG_ID}/runs/{quoted}/tasks/normalize_and_load")
    page.get_by_text("Asset Events", exact=True).click()
    page.locator(".codicon-folding-collapsed").first.click(force=True)
    page.get_by_text('"billable_calls"').first.wait_for()
    shot(page, "asset-events.png")
    check_the_cost_line(page, ui, api, quoted)


def test_the_connections_make_ui_creates_hold_every_form_field_and_price_the_calls(tmp_path):
    """No browser: what ``make ui`` stores reads back as the hook reads it, with the example prices."""
    from airflow.models import Connection
    from baidu_ocr.client.connection import BaiduOcrSettings
    from baidu_ocr.pii.policy import PiiPolicy
    from baidu_ocr.provider import CONN_FIELDS, PII_CONN_FIELDS
    from baidu_ocr_dev.demo import DEMO_PRICING, demo_connections

    connections = demo_connections(
        aws_extra={},
        host="http://127.0.0.1:8300",
        api_key="an-api-key",
        secret_key="a-secret-key",
        qps=4.0,
        warehouse=tmp_path / "warehouse.db",
        hmac_key="an-hmac-key",
        encryption_key=base64.b64encode(bytes(32)).decode(),
    )
    ocr, pii = connections["baidu_ocr_default"], connections["baidu_ocr_pii"]
    assert set(CONN_FIELDS) <= set(ocr["extra"]) and set(PII_CONN_FIELDS) <= set(pii["extra"])
    assert pii["conn_type"] == "baidu_ocr_pii"

    def stored(conn_id: str, conn: dict) -> Connection:
        return Connection(conn_id=conn_id, **{**conn, "extra": json.dumps(conn["extra"])})

    settings = BaiduOcrSettings.from_connection(stored("baidu_ocr_default", ocr))
    assert (settings.qps, settings.verify) == (4.0, True)
    price = DEMO_PRICING["general_basic"]
    # Ten calls when five of the month's free ones are left: five are paid for.
    paid = settings.pricing["general_basic"].cost(10, month_before=price["free_per_month"] - 5)
    assert paid == pytest.approx(5 * price["price_per_1000"] / 1000) and paid > 0
    assert PiiPolicy.from_connection(stored("baidu_ocr_pii", pii)).encryption_key == bytes(32)


def test_an_upload_into_the_local_bucket_starts_an_event_run(ui, page):
    """``make ui`` wires S3 events: a file uploaded under incoming/ becomes a run of the events DAG, on the
    Dags page, with its rows in the warehouse; no trigger pressed."""
    import sqlite3

    import boto3

    dag_id = "baidu_ocr_s3_events_to_warehouse"
    api = Api(ui.url, ui.user, ui.password())
    s3 = boto3.client("s3", endpoint_url=ui.s3_url, region_name="us-east-1")
    # A scan no other test loads: a copy of one already in the warehouse would add no row (content dedupe).
    sample = REPO_ROOT / "include" / "samples" / "validation" / "documents" / "doc_01.jpg"
    s3.put_object(Bucket=ui.bucket, Key="incoming/ui-upload.jpg", Body=sample.read_bytes())

    def rows_of_the_upload() -> int:
        with sqlite3.connect(ui.warehouse) as db:
            [(rows,)] = db.execute(
                "SELECT count(*) FROM ocr_documents WHERE source_uri = ?",
                (f"s3://{ui.bucket}/incoming/ui-upload.jpg",),
            ).fetchall()
        return rows

    # Wait for the upload's row, not for any successful run: the timed catch-up runs too.
    deadline = time.monotonic() + 240
    runs: list[dict] = []
    rows = 0
    while time.monotonic() < deadline:
        try:
            runs = api.get(f"dags/{dag_id}/dagRuns?run_type=asset_triggered")["dag_runs"]
        except urllib.error.HTTPError as exc:
            if exc.code != 404:  # 404: the DAG processor has not parsed the DAG yet
                raise
        rows = rows_of_the_upload()
        if rows and any(run["state"] == "success" for run in runs):
            break
        time.sleep(2)
    assert any(run["state"] == "success" for run in runs), runs
    assert rows == 1
    context = page.context.browser.new_context(viewport={"width": 1280, "height": 860})
    try:  # a session of its own: the module's page may be signed in already
        fresh = context.new_page()
        sign_in(fresh, ui)
        fresh.goto(f"{ui.url}/dags/{dag_id}")
        fresh.get_by_text(dag_id).first.wait_for()
        shot(fresh, "events-run.png")  # the run the upload started, in the DAG's run history
    finally:
        context.close()
