"""The Airflow UI as a user meets it, in headless Chromium, against ``make ui``'s own deployment.

``baidu_ocr_dev.ui`` starts moto S3, the local OCR server (fixture engine here: fast) and ``airflow standalone`` on
free ports with an Airflow home in a temporary directory; the test signs in, presses "Test" on the connections
``make ui`` created, checks the Baidu OCR connection form, triggers ``baidu_ocr_s3_to_warehouse`` from the trigger form, waits for it, and checks the mapped tasks'
names and the asset events' row counts. Screenshots go to ``tests/browser/artifacts/``; with
``BAIDU_OCR_UPDATE_README_IMAGES=1`` the ones the README shows are also refreshed in ``docs/images/`` (a test
run never rewrites tracked files otherwise). Chromium comes from Debian (``apt-get install chromium``): without it
the test skips on a laptop and fails under ``CI``.
"""

from __future__ import annotations

import json
import os
import time
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
README_IMAGES = {"connection-keys.png", "connection-form.png", "mapped-tasks.png", "asset-events.png"}
DAG_ID = "baidu_ocr_s3_to_warehouse"
BATCH_SIZE = 4
FORM_CONN_ID = "baidu_ocr_from_the_form"


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
def ui(tmp_path_factory):
    _require_chromium()
    from baidu_ocr_dev.ui import deployment

    root = tmp_path_factory.mktemp("ui")
    with deployment(root, engine="fixture", ready_timeout_s=240) as running:
        yield running


@pytest.fixture(scope="module")
def page(ui):
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


def sign_in(page, ui) -> None:
    page.goto(ui.url)
    page.get_by_label("Username").fill(ui.user)
    page.get_by_label("Password").fill(ui.password())
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/auth/login" not in url)


def check_connection_form(page, ui) -> None:
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
    assert {
        "API base URL",
        "API Key",
        "Secret Key",
        "QPS",
        "Timeout (s)",
        "Max retries",
        "Verify TLS",
    } <= labels
    assert "Image limits" in labels, labels
    shot(page, "connection-form.png", dialog)
    dialog.get_by_text("Extra Fields JSON", exact=True).click()
    dialog.get_by_role("button", name="Save").click()
    dialog.wait_for(state="hidden")
    page.set_viewport_size({"width": 1280, "height": 860})


def check_connections_listed_and_tested(page, ui, api: Api) -> None:
    """Admin -> Connections lists what ``make ui`` created in the metadata DB, and their "Test" buttons work."""
    page.goto(f"{ui.url}/connections")
    for conn_id in ("aws_default", "baidu_ocr_default", "baidu_ocr_pii", "warehouse_default"):
        page.get_by_role("row").filter(has_text=conn_id).first.wait_for()
    for conn_id in ("baidu_ocr_default", "warehouse_default", "aws_default"):  # the PII one holds keys only
        row = page.get_by_role("row").filter(has_text=conn_id).first
        with page.expect_response(lambda r: r.url.endswith("/api/v2/connections/test")) as answer:
            row.get_by_role("button", name="Test Connection").click(force=True)  # a tooltip overlaps it
        page.mouse.move(0, 0)
        result = answer.value.json()
        assert answer.value.status == 200 and result["status"] is True, (conn_id, result)
    shot(page, "connections.png")
    # The AES key of ID numbers is masked like a password (make ui adds it to sensitive_var_conn_names).
    assert json.loads(api.get("connections/baidu_ocr_pii")["extra"]) == {"encryption_key": "***"}


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
    assert by_table["ocr_lines"]["images_ok"] == n_images
    assert by_table["ocr_lines"]["billable_calls"] == n_images
    # The load task's page, tab "Asset Events": the events it created, the first one's extra unfolded.
    page.goto(f"{ui.url}/dags/{DAG_ID}/runs/{quoted}/tasks/normalize_and_load")
    page.get_by_text("Asset Events", exact=True).click()
    page.locator(".codicon-folding-collapsed").first.click(force=True)
    page.get_by_text('"billable_calls"').first.wait_for()
    shot(page, "asset-events.png")
