"""Moto-backed S3 and a scripted stand-in for BaiduOcrHook, so operator logic runs with no server."""

from __future__ import annotations

import hashlib
import io
import json
from functools import cached_property
from types import SimpleNamespace
from typing import Any

import pytest
from baidu_ocr.exceptions import BadImage
from baidu_ocr.pipeline.budget import RunBudget
from baidu_ocr.pipeline.records import OcrOutcome
from baidu_ocr.pipeline.stats import CallStats
from PIL import Image

from tests.unit.conftest import BUCKET, png, s3  # noqa: F401  (s3: the fixture, shared)


def xlsx_of(*cells: Any) -> bytes:
    """A one-sheet .xlsx workbook whose first row holds ``cells`` (what a table job's Excel link serves)."""
    from openpyxl import Workbook

    book = Workbook()
    book.active.append(list(cells))
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def read_xlsx(data: bytes) -> list[list[Any]]:
    """The rows of a workbook's first sheet."""
    from openpyxl import load_workbook

    return [list(row) for row in load_workbook(io.BytesIO(data)).active.iter_rows(values_only=True)]


def context(map_index: int = 0, task_id: str = "ocr_batch") -> dict[str, Any]:
    pushed: dict[str, Any] = {}
    ti = SimpleNamespace(
        dag_id="unit_dag",
        run_id="manual__2026-01-02T03:04:05+00:00",
        task_id=task_id,
        map_index=map_index,
        pushed=pushed,
        xcom_push=lambda key, value: pushed.__setitem__(key, value),
    )
    return {"ti": ti}


class ScriptedHook:
    """Answers like BaiduOcrHook.ocr_many: ``fail`` maps keys to a per-image error class, ``stop_after``
    raises a batch-stopping error after that many outcomes. Records every key it was asked to OCR."""

    instances: list[ScriptedHook] = []

    def __init__(self, conn_id: str = "baidu_ocr_default", **kwargs: Any) -> None:
        self.conn_id = conn_id
        self.stats = CallStats()
        self.settings = SimpleNamespace(pricing={})  # no prices: usage rows cost NULL
        self.called: list[str] = []
        self.read_from_s3: list[str] = []  # keys handed over as S3 objects (read again), not as bytes
        ScriptedHook.instances.append(self)

    fail: dict[str, str] = {}
    stop_after: int | None = None
    stop_error: Exception | None = None

    def ocr_many(self, items, *, endpoint: str, total: int | None = None, budget=None, **options):
        budget = budget or RunBudget(None)
        for n, (key, source) in enumerate(items):
            if self.stop_after is not None and n >= self.stop_after:
                raise self.stop_error
            budget.take()  # as the real runner: a unit before the call, kept when the call is billed
            budget.settle(key not in self.fail)
            if not isinstance(source, bytes):
                self.read_from_s3.append(key)
            data = source if isinstance(source, bytes) else source.get()["Body"].read()
            self.called.append(key)
            self.stats.count_call("sync", endpoint, ok=key not in self.fail)
            digest = hashlib.sha256(data).hexdigest()
            if key in self.fail:
                yield OcrOutcome(
                    key=key, ok=False, error_class=self.fail[key], error_code="216201", content_sha256=digest
                )
            else:
                result = {"log_id": 18446744073709551615, "words_result": [{"words": f"text of {key}"}]}
                yield OcrOutcome(
                    key=key, ok=True, result=result, content_sha256=digest, bytes=len(data), attempts=1
                )


def use_hook(monkeypatch, operator_cls: type, hook_cls: type) -> None:
    """Give ``operator_cls`` (and its subclasses) ``hook_cls`` through its cached ``hook`` property."""
    prop = cached_property(lambda self: hook_cls(self.baidu_ocr_conn_id))
    prop.__set_name__(operator_cls, "hook")
    monkeypatch.setattr(operator_cls, "hook", prop)


@pytest.fixture
def scripted_hook(monkeypatch):
    from baidu_ocr.operators.base import S3ImageBatchOperator

    ScriptedHook.instances = []
    ScriptedHook.fail = {}
    ScriptedHook.stop_after = None
    ScriptedHook.stop_error = None
    use_hook(monkeypatch, S3ImageBatchOperator, ScriptedHook)
    return ScriptedHook


class ScriptedTableHook:
    """Answers like BaiduOcrHook's async table methods: each job is done after ``polls_until_done`` polls."""

    polls_until_done = 2
    instances: list[ScriptedTableHook] = []

    def __init__(self, conn_id: str = "baidu_ocr_default", **kwargs: Any) -> None:
        self.stats = CallStats()
        self.polls: dict[str, int] = {}
        self.submitted: list[str] = []
        ScriptedTableHook.instances.append(self)

    jobs: dict[str, str] = {}  # request id -> sha256, shared by the hooks of one test

    def prepare(self, source: Any, *, endpoint: str):
        data = source if isinstance(source, bytes) else source.get()["Body"].read()
        if data.startswith(b"not an image"):
            raise BadImage("Not an image", code=216201, endpoint=endpoint)
        img = Image.open(io.BytesIO(data))
        return SimpleNamespace(
            data=data,
            content_sha256=hashlib.sha256(data).hexdigest(),
            source_bytes=len(data),
            width=img.width,
            height=img.height,
        )

    def submit_table_job(self, prepared, **options) -> str:
        request_id = f"req-{prepared.content_sha256[:8]}"
        ScriptedTableHook.jobs[request_id] = prepared.content_sha256
        self.submitted.append(request_id)
        return request_id

    def get_table_job_result(self, request_id: str, *, result_type: str = "json") -> dict:
        n = ScriptedTableHook.polls_seen[request_id] = ScriptedTableHook.polls_seen.get(request_id, 0) + 1
        if n < self.polls_until_done:
            return {"request_id": request_id, "ret_code": 2, "ret_msg": "running", "percent": 50}
        data = (
            f"https://results.example.test/{request_id}.xlsx"
            if result_type == "excel"
            else json.dumps(
                {"form_num": 1, "forms": [{"body": [{"row": [1], "column": [1], "word": request_id}]}]}
            )
        )
        return {
            "request_id": request_id,
            "ret_code": 3,
            "ret_msg": "done",
            "percent": 100,
            "result_data": data,
        }

    polls_seen: dict[str, int] = {}

    def close_idle_connections(self) -> None:
        pass

    def download(self, url: str) -> bytes:
        return xlsx_of(url)


class AsyncAdapter:
    """The trigger's async client (``async with``, awaited polls) over a sync scripted hook."""

    def __init__(self, hook: Any) -> None:
        self.hook = hook

    async def __aenter__(self) -> AsyncAdapter:
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        return None

    async def get_table_job_result(self, request_id: str, *, result_type: str = "json") -> dict:
        return self.hook.get_table_job_result(request_id, result_type=result_type)


@pytest.fixture
def scripted_table_hook(monkeypatch):
    import baidu_ocr.hooks.ocr
    from baidu_ocr.triggers.jobs import BaiduOcrTableJobTrigger

    ScriptedTableHook.instances = []
    ScriptedTableHook.jobs = {}
    ScriptedTableHook.polls_seen = {}
    ScriptedTableHook.polls_until_done = 2
    monkeypatch.setattr(baidu_ocr.hooks.ocr, "BaiduOcrHook", ScriptedTableHook)
    monkeypatch.setattr(
        BaiduOcrTableJobTrigger,
        "_client",
        lambda self: AsyncAdapter(ScriptedTableHook(self.baidu_ocr_conn_id)),
    )
    return ScriptedTableHook
