"""BaiduOcrTableOperator with its default ``table`` (v2) API: Excel files out of the answers into S3."""

from __future__ import annotations

import base64
import hashlib
import io
import json

import pytest
from airflow.exceptions import AirflowException
from baidu_ocr.operators import BaiduOcrTableOperator
from baidu_ocr.pipeline.records import OcrOutcome, options_hash
from baidu_ocr.pipeline.staging import excel_key, read_records
from baidu_ocr.pipeline.stats import CallStats
from openpyxl import Workbook

from tests.unit.operators.conftest import BUCKET, context, png, use_hook


def _xlsx(text: str) -> bytes:
    workbook = Workbook()
    workbook.active["A1"] = text
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


class TableV2Hook:
    """Answers like BaiduOcrHook.ocr_many on ``table``; ``excel`` maps keys to the excel_file they get."""

    excel: dict[str, str] = {}
    calls: list[tuple[str, dict]] = []

    def __init__(self, conn_id: str = "baidu_ocr_default", **kwargs) -> None:
        self.stats = CallStats()

    def ocr_many(self, items, *, endpoint: str, total=None, budget=None, **options):
        for key, source in items:
            data = source if isinstance(source, bytes) else source.get()["Body"].read()
            TableV2Hook.calls.append((endpoint, options))
            self.stats.count("billable_calls")
            body = [{"row_start": 0, "row_end": 1, "col_start": 0, "col_end": 1, "words": f"cell of {key}"}]
            result = {"log_id": 1, "table_num": 1, "tables_result": [{"body": body}]}
            if key in self.excel:
                result["excel_file"] = self.excel[key]
            digest = hashlib.sha256(data).hexdigest()
            yield OcrOutcome(key=key, ok=True, result=result, content_sha256=digest, attempts=1)


@pytest.fixture
def v2_hook(monkeypatch):
    TableV2Hook.excel, TableV2Hook.calls = {}, []
    use_hook(monkeypatch, BaiduOcrTableOperator, TableV2Hook)
    return TableV2Hook


def _staged(s3, manifest) -> dict[str, dict]:
    staged = read_records(s3, [manifest["uri"]])
    return {row.source_uri.rsplit("/", 1)[-1]: json.loads(row.result_json) for row in staged.itertuples()}


def test_excel_files_are_decoded_into_s3_by_content_and_a_bad_one_loses_only_itself(s3, v2_hook):
    s3.load_bytes(png(1), "t/a.png", BUCKET)
    s3.load_bytes(png(2), "t/b.png", BUCKET)
    workbook = _xlsx("cell of t/a.png")
    v2_hook.excel = {
        "t/a.png": base64.b64encode(workbook).decode(),
        "t/b.png": "%%not base64",
    }

    op = BaiduOcrTableOperator(
        task_id="tables", bucket=BUCKET, keys=["t/a.png", "t/b.png"], excel_prefix="xl/"
    )
    manifest = op.execute(context(task_id="tables"))

    assert {endpoint for endpoint, _ in v2_hook.calls} == {"table"}
    assert all(options == {"return_excel": "true"} for _, options in v2_hook.calls)
    key = excel_key("xl/", hashlib.sha256(png(1)).hexdigest(), options_hash({"return_excel": "true"}))
    assert s3.list_keys(BUCKET, prefix="xl/") == [key]
    assert s3.get_key(key, BUCKET).get()["Body"].read() == workbook
    staged = _staged(s3, manifest)
    assert "excel_file" not in staged["a.png"] and staged["a.png"]["excel_uri"] == f"s3://{BUCKET}/{key}"
    # The cells of b are kept; only its workbook is missing, and that is said.
    assert staged["b.png"]["tables_result"][0]["body"][0]["words"] == "cell of t/b.png"
    assert "excel_file" not in staged["b.png"] and "excel_uri" not in staged["b.png"]
    assert staged["b.png"]["excel_error"]
    assert (manifest["n_ok"], manifest["n_failed"]) == (2, 0)


def test_without_an_excel_prefix_no_workbook_is_asked_for_or_kept(s3, v2_hook):
    s3.load_bytes(png(1), "t/a.png", BUCKET)
    v2_hook.excel = {"t/a.png": base64.b64encode(_xlsx("x")).decode()}  # sent anyway by a server

    op = BaiduOcrTableOperator(task_id="tables", bucket=BUCKET, keys=["t/a.png"], excel_prefix=None)
    manifest = op.execute(context(task_id="tables"))

    assert v2_hook.calls == [("table", {})]
    assert not [k for k in s3.list_keys(BUCKET) if k.endswith(".xlsx")]
    assert "excel_file" not in _staged(s3, manifest)["a.png"]


def test_an_unknown_api_fails_before_any_call(s3, v2_hook):
    op = BaiduOcrTableOperator(task_id="tables", bucket=BUCKET, keys=["t/a.png"], api="tables_v3")
    with pytest.raises(AirflowException, match="api must be one of table, form_ocr"):
        op.execute(context(task_id="tables"))
    assert v2_hook.calls == []


def test_the_warehouse_names_each_document_by_its_api():
    assert BaiduOcrTableOperator(task_id="a", bucket="b", keys=[]).record_endpoint == "table"
    assert (
        BaiduOcrTableOperator(task_id="a", bucket="b", keys=[], api="form_ocr").record_endpoint == "form_ocr"
    )
