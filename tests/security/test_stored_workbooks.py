"""Issue 21: table workbooks are stored with their ID numbers masked, under a prefix that expires."""

from __future__ import annotations

import base64
import io
import json
import re
import zipfile

from tests.unit.operators.conftest import BUCKET, context, png, read_xlsx, use_hook, xlsx_of
from tests.unit.operators.test_table_v2_operator import TableV2Hook

NUMBER = "110101199003071234"
MASKED = "110101********1234"
CLEAR = re.compile(r"1101011990|19900307")  # any identifying piece of the number


def _stored(s3, prefix: str) -> dict[str, bytes]:
    keys = s3.list_keys(BUCKET, prefix=prefix)
    return {key: s3.get_conn().get_object(Bucket=BUCKET, Key=key)["Body"].read() for key in keys}


def _expiring_prefixes(s3) -> dict[str, int]:
    rules = s3.get_conn().get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    return {r["Filter"]["Prefix"]: r["Expiration"]["Days"] for r in rules if r["Status"] == "Enabled"}


def _unzipped(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return "\n".join(archive.read(n).decode("utf-8", "replace") for n in archive.namelist())


def test_table_v2_workbooks_are_stored_masked_under_an_expiring_prefix(s3, monkeypatch):
    from baidu_ocr.operators import BaiduOcrTableOperator

    TableV2Hook.excel, TableV2Hook.calls = {}, []
    use_hook(monkeypatch, BaiduOcrTableOperator, TableV2Hook)
    s3.load_bytes(png(1), "t/a.png", BUCKET)
    TableV2Hook.excel = {"t/a.png": base64.b64encode(xlsx_of("姓名", f"身份证 {NUMBER}")).decode()}

    op = BaiduOcrTableOperator(task_id="tables", bucket=BUCKET, keys=["t/a.png"], excel_prefix="xl/")
    op.execute(context(task_id="tables"))

    ((key, body),) = _stored(s3, "xl/").items()
    assert key.endswith(".xlsx") and CLEAR.search(_unzipped(body)) is None
    assert read_xlsx(body) == [["姓名", f"身份证 {MASKED}"]]
    assert _expiring_prefixes(s3).get("xl/") == 7


def test_form_ocr_xls_workbooks_are_stored_as_masked_csv_under_an_expiring_prefix(
    s3, scripted_table_hook, monkeypatch
):
    import xlwt
    from baidu_ocr.operators import BaiduOcrTableOperator
    from baidu_ocr.pipeline.staging import read_records

    def legacy_xls(self, url: str) -> bytes:
        book = xlwt.Workbook(encoding="utf-8")
        sheet = book.add_sheet("sheet1")
        sheet.write(0, 0, "身份证号")
        sheet.write(0, 1, NUMBER)
        buffer = io.BytesIO()
        book.save(buffer)
        return buffer.getvalue()

    monkeypatch.setattr(scripted_table_hook, "download", legacy_xls)
    s3.load_bytes(png(1, (60, 40)), "tables/a.png", BUCKET)
    op = BaiduOcrTableOperator(
        task_id="tables",
        api="form_ocr",
        bucket=BUCKET,
        keys=["tables/a.png"],
        excel_prefix="out/excel",
        excel_expiry_days=30,
        poll_interval=0,
        deferrable=False,
    )
    manifest = op.execute(context(task_id="tables"))

    ((key, body),) = _stored(s3, "out/excel/").items()
    assert key.endswith(".csv") and body.decode("utf-8-sig").splitlines() == [f"身份证号,{MASKED}"]
    (result,) = read_records(s3, [manifest["uri"]])["result_json"]
    assert json.loads(result)["excel_uri"] == f"s3://{BUCKET}/{key}"
    assert _expiring_prefixes(s3).get("out/excel/") == 30
