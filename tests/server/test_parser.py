"""The async document parser on the local server: submit, Baidu's states, result files, errors, bounds."""

from __future__ import annotations

import base64
import json
import threading

import pytest
import requests
from baidu_ocr_server.engines.base import Box, Line, LinesResult
from baidu_ocr_server.errors import BaiduError
from baidu_ocr_server.parser import ParserTasks
from baidu_ocr_server.testing import FakeClock, running_server

from tests.conftest import REPO_ROOT
from tests.server.conftest import call, get_token, png_bytes, shared_image_pdf

PARSER = "/rest/2.0/brain/online/v2/"
SAMPLE_PDF = REPO_ROOT / "include" / "samples" / "documents_pdf" / "pdf_01.pdf"


def submit(server, token, **form) -> dict:
    if isinstance(form.get("file_data"), bytes):
        form["file_data"] = base64.b64encode(form["file_data"]).decode()
    return call(server, "parser/task", token, path=PARSER, **form).json()


def query(server, token, task_id: str | None) -> dict:
    form = {"task_id": task_id} if task_id is not None else {}
    return call(server, "parser/task/query", token, path=PARSER, **form).json()


def test_a_task_goes_pending_processing_success_and_links_markdown_and_layout():
    clock = FakeClock()
    truth = json.loads(SAMPLE_PDF.with_suffix(".json").read_text(encoding="utf-8"))
    with running_server(engine="fixture", clock=clock, parser_task_seconds=10) as server:
        token = get_token(server)
        answer = submit(server, token, file_data=SAMPLE_PDF.read_bytes(), file_name="contract.pdf")
        assert (answer["error_code"], answer["error_msg"]) == (0, "")
        task_id = answer["result"]["task_id"]
        assert task_id.startswith("task-")
        server.backend.parser_tasks.wait(task_id, timeout=60)  # the engine is done; the clock decides
        states = [query(server, token, task_id)["result"]["status"]]
        clock.advance(5)
        states.append(query(server, token, task_id)["result"]["status"])
        clock.advance(5)
        done = query(server, token, task_id)["result"]
        assert [*states, done["status"]] == ["pending", "processing", "success"]
        assert done["task_error"] is None and done["task_id"] == task_id

        markdown = requests.get(done["markdown_url"], timeout=10).text
        layout = requests.get(done["parse_result_url"], timeout=10).json()
        page_texts = [[line["text"] for line in page["lines"]] for page in truth["pages"]]
        assert markdown.split("\n\n")[: len(page_texts[0])] == page_texts[0]
        assert [p["page_num"] for p in layout["pages"]] == list(range(1, len(page_texts) + 1))
        assert [item["text"] for item in layout["pages"][1]["layouts"]] == page_texts[1]
        first = layout["pages"][0]["layouts"][0]
        assert first["type"] == "para" and len(first["position"]) == 4
        assert layout["file_name"] == "contract.pdf"
        stats = server.stats()
        assert stats["parser_tasks"] == 1 and stats["billable"] == 1  # queries are not billed
        assert stats["endpoints"]["parser/task/query"]["ok"] == 3


def test_an_image_is_one_page(server, token):
    server.configure(parser_task_seconds=0)  # done as soon as the engine is
    task_id = submit(server, token, file_data=png_bytes(200, 60), file_name="scan.png")["result"]["task_id"]
    server.backend.parser_tasks.wait(task_id, timeout=60)
    result = query(server, token, task_id)["result"]
    assert result["status"] == "success"
    assert len(requests.get(result["parse_result_url"], timeout=10).json()["pages"]) == 1


@pytest.mark.parametrize(
    ("data", "file_name", "reason"),
    [
        (b"%PDF-1.7 broken", "broken.pdf", "cannot be read"),
        (b"PK\x03\x04 a word file", "letter.docx", "does not parse .docx"),
        (b"not an image", "scan.png", "file parse failed"),
    ],
)
def test_a_file_it_cannot_parse_fails_the_task_not_the_submit(server, token, data, file_name, reason):
    server.configure(parser_task_seconds=0)
    answer = submit(server, token, file_data=data, file_name=file_name)
    task_id = answer["result"]["task_id"]
    server.backend.parser_tasks.wait(task_id, timeout=60)
    result = query(server, token, task_id)["result"]
    assert result["status"] == "failed" and reason in result["task_error"]
    assert "markdown_url" not in result
    link = server.backend.file_links.url(server.url, f"/_files/{task_id}.md")  # as a success would link it
    assert requests.get(link, timeout=10).status_code == 404


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ({"file_name": "a.pdf"}, 282003),  # no file
        ({"file_data": b"%PDF-1.7"}, 282003),  # no file name
        ({"file_data": b"%PDF-1.7", "file_name": "a.exe"}, 216201),  # not one of Baidu's formats
        ({"file_data": "***not base64***", "file_name": "a.pdf"}, 216201),
        ({"file_data": "", "file_name": "a.pdf"}, 216200),
        ({"file_url": "http://203.0.113.1/a.pdf", "file_name": "a.pdf"}, 282112),  # no internet here
    ],
)
def test_submit_refusals(server, token, form, code):
    assert submit(server, token, **form)["error_code"] == code
    assert server.stats()["parser_tasks"] == 0


def test_query_refusals_and_the_token_check(server, token):
    assert query(server, token, "task-never-issued")["error_code"] == 282808
    assert query(server, token, None)["error_code"] == 282003
    assert query(server, "24.not-a-token", "task-x")["error_code"] == 110
    assert submit(server, None, file_data=b"%PDF-1.7", file_name="a.pdf")["error_code"] == 110
    # Another parser the server does not run: the token is checked, then "service not support".
    other = call(server, "paddle-vl-parser/task", token, path=PARSER, file_name="a.pdf").json()
    assert other["error_code"] == 216102


class _BlockingEngine:
    """Recognizes nothing until released: tasks stay running."""

    def __init__(self) -> None:
        self.release = threading.Event()

    def recognize_lines(self, image, *, chars=False, detect_direction=False):
        self.release.wait(30)
        return LinesResult(lines=[Line("x", Box(0, 0, 1, 1))])


def test_the_task_store_is_bounded_by_count_and_age():
    clock, engine = FakeClock(), _BlockingEngine()
    tasks = ParserTasks(engine, clock=clock, seconds=lambda: 0.0, max_tasks=2, ttl_s=60)
    try:
        first = tasks.submit(png_bytes(), "a.png")
        tasks.submit(png_bytes(), "b.png")
        with pytest.raises(BaiduError) as full:  # every task still running: refused, nothing dropped
            tasks.submit(png_bytes(), "c.png")
        assert full.value.code == 282006
        engine.release.set()
        tasks.wait(first, timeout=30)
        third = tasks.submit(png_bytes(), "c.png")  # the oldest finished task makes room
        with pytest.raises(BaiduError) as gone:
            tasks.status(first)
        assert gone.value.code == 282808
        tasks.wait(third, timeout=30)
        assert tasks.status(third).status == "success"
        clock.advance(61)  # past the expiry: forgotten
        with pytest.raises(BaiduError) as expired:
            tasks.status(third)
        assert expired.value.code == 282808
    finally:
        engine.release.set()
        tasks.close()


class _CountingEngine:
    def __init__(self) -> None:
        self.pages = 0

    def recognize_lines(self, image, *, chars=False, detect_direction=False):
        self.pages += 1
        return LinesResult(lines=[])


def test_a_pdf_over_the_pixel_cap_fails_before_any_page_is_rendered():
    engine = _CountingEngine()
    # 3 pages of 400 x 500 px: 600,000 pixels in all.
    pdf = shared_image_pdf(3, 400, 500)
    tasks = ParserTasks(engine, clock=FakeClock(), seconds=lambda: 0.0, max_pixels=599_999)
    try:
        refused = tasks.submit(pdf, "scan.pdf")
        tasks.wait(refused, timeout=60)
        status = tasks.status(refused)
        assert status.status == "failed" and "more than 599999 pixels" in status.task_error
        assert engine.pages == 0
        tasks.max_pixels = 600_000
        accepted = tasks.submit(pdf, "scan.pdf")
        tasks.wait(accepted, timeout=60)
        assert tasks.status(accepted).status == "success" and engine.pages == 3
    finally:
        tasks.close()
