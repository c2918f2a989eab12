"""The parser calls of the hook and of the trigger's async client against the local server."""

from __future__ import annotations

import asyncio
import json

import pytest
from baidu_ocr.client.parser_tasks import parser_submit_form
from baidu_ocr.exceptions import BadImage, ConfigError
from baidu_ocr.hooks.async_client import AsyncBaiduOcrClient
from baidu_ocr.hooks.ocr import BaiduOcrHook, reset_process_caches

from tests.conftest import REPO_ROOT
from tests.integration.conftest import baidu_conn_env

PDF = (REPO_ROOT / "include" / "samples" / "documents_pdf" / "pdf_02.pdf").read_bytes()


@pytest.fixture(autouse=True)
def _fresh_caches():
    reset_process_caches()
    yield
    reset_process_caches()


def test_hook_submits_polls_and_downloads(ocr_server_factory, monkeypatch):
    server = ocr_server_factory(engine="fixture", parser_task_seconds=0)
    baidu_conn_env(monkeypatch, server)
    hook = BaiduOcrHook()
    task_id = hook.submit_parser_task(PDF, file_name="statement.pdf", recognize_formula=True)
    server.backend.parser_tasks.wait(task_id, timeout=60)
    result = hook.get_parser_task(task_id)
    assert result["status"] == "success"
    assert hook.download(result["markdown_url"]).decode().strip()
    assert json.loads(hook.download(result["parse_result_url"]))["file_name"] == "statement.pdf"
    stats = hook.stats.snapshot()
    assert (stats["billable_calls"], stats["status_checks"]) == (1, 1)


def test_an_unknown_task_is_a_config_error_for_both_clients(baidu_ocr_server, monkeypatch):
    baidu_conn_env(monkeypatch, baidu_ocr_server)
    with pytest.raises(ConfigError, match="282808"):
        BaiduOcrHook().get_parser_task("task-never-issued")

    async def poll():
        async with AsyncBaiduOcrClient() as client:
            await client.get_parser_task("task-never-issued")

    with pytest.raises(ConfigError, match="282808"):
        asyncio.run(poll())


def test_the_submit_form_is_checked_before_any_call():
    with pytest.raises(BadImage, match="empty"):
        parser_submit_form(b"", "a.pdf", {})
    form = parser_submit_form(b"%PDF-1.7", "a.pdf", {"return_doc_chunks": {"switch": True}, "x": None})
    assert json.loads(form["return_doc_chunks"]) == {"switch": True}  # a dict goes as JSON, not repr
    assert "x" not in form and form["file_name"] == "a.pdf"
