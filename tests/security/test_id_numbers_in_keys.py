"""Issue 21: an S3 key named after an ID number reaches no XCom batch spec, no staged ``source_uri``, no log
line, no trigger row and no OpenLineage dataset name; the OCR task still reads the object under its real key."""

from __future__ import annotations

import json
import logging
import re

import pytest
from airflow.sdk.exceptions import TaskDeferred

from tests.unit.operators.conftest import BUCKET, context, png

NUMBER = "110101199003071234"
NAMED = f"scans/{NUMBER}_front.png"
PLAIN = "scans/plain.png"
MASKED = "scans/110101********1234_front.png"
CLEAR = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
RUN = {"dag_id": "unit_dag", "run_id": "manual__2026-01-02T03:04:05+00:00"}


def _upload(s3) -> list[str]:
    s3.load_bytes(png(1), NAMED, BUCKET)
    s3.load_bytes(png(2), PLAIN, BUCKET)
    return [NAMED, PLAIN, f"scans/{NUMBER}_gone.png"]  # the last is not there: unreadable, logged


def _specs(s3, keys: list[str], **settings) -> list[dict]:
    from baidu_ocr.pipeline.s3_batches import batch_specs, stage_batch_keys

    return stage_batch_keys(batch_specs([keys], **settings), BUCKET, **RUN)


def test_batch_specs_name_no_key_and_their_key_lists_expire_with_staging(s3):
    from baidu_ocr.pipeline.s3_batches import read_batch_keys

    keys = _upload(s3)
    pages = {NAMED: "1-2"}
    (spec,) = _stage_with_pages(s3, keys, pages)

    assert CLEAR.findall(json.dumps(spec, ensure_ascii=False)) == []
    assert set(spec) == {"keys_uri", "batch_label", "max_failure_ratio"}
    assert "110101********1234" in spec["batch_label"]
    assert spec["keys_uri"].startswith(f"s3://{BUCKET}/baidu-ocr-staging/unit_dag/")
    assert read_batch_keys(s3, spec["keys_uri"]) == (keys, pages)
    rules = s3.get_conn().get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert any(r["Filter"]["Prefix"] == "baidu-ocr-staging/" and r["Expiration"]["Days"] for r in rules)


def test_with_the_pii_connection_the_key_list_itself_holds_no_clear_number(s3, monkeypatch):
    from baidu_ocr.pipeline.s3_batches import read_batch_keys

    pii = {"conn_type": "baidu_ocr_pii", "password": "pii key"}
    monkeypatch.setenv("AIRFLOW_CONN_BAIDU_OCR_PII", json.dumps(pii))
    keys = _upload(s3)
    (spec,) = _stage_with_pages(s3, keys, {NAMED: "1"})
    bucket, key = s3.parse_s3_url(spec["keys_uri"])
    listed = s3.get_conn().get_object(Bucket=bucket, Key=key)["Body"].read().decode()
    assert CLEAR.findall(listed) == [] and "{pii:v2:" in listed
    assert read_batch_keys(s3, spec["keys_uri"]) == (keys, {NAMED: "1"})
    pii["password"] = "another key"  # a key list sealed under a password the connection lost
    monkeypatch.setenv("AIRFLOW_CONN_BAIDU_OCR_PII", json.dumps(pii))
    with pytest.raises(ValueError, match="not the one that sealed"):
        read_batch_keys(s3, spec["keys_uri"])


def _stage_with_pages(s3, keys, pages):
    from baidu_ocr.pipeline.s3_batches import batch_specs, stage_batch_keys

    specs = batch_specs([{"keys": keys, "pages": pages}], max_failure_ratio=0.5)
    return stage_batch_keys(specs, BUCKET, **RUN)


def _batch(s3, keys: list[str], via_key_list: bool) -> dict:
    """The mapped task's arguments: the planned spec (a key list in S3), or the keys themselves."""
    return _specs(s3, keys)[0] if via_key_list else {"keys": keys}


@pytest.mark.parametrize("via_key_list", [True, False])
def test_a_batch_stages_logs_and_reports_no_clear_key(s3, scripted_hook, caplog, capfd, via_key_list):
    from baidu_ocr.operators import BaiduOcrBatchOperator
    from baidu_ocr.pipeline.staging import read_records

    keys = _upload(s3)
    spec = _batch(s3, keys, via_key_list)
    op = BaiduOcrBatchOperator(
        task_id="ocr_batch", bucket=BUCKET, endpoint="general_basic", max_failure_ratio=1.0, **spec
    )
    caplog.set_level(logging.DEBUG)

    manifest = op.execute(context())
    lineage = op.get_openlineage_facets_on_complete(None)

    assert set(scripted_hook.instances[0].called) == {NAMED, PLAIN}  # read under their real keys
    staged = read_records(s3, [manifest["uri"]])
    assert set(staged["source_uri"]) == {f"s3://{BUCKET}/{MASKED}", f"s3://{BUCKET}/{PLAIN}"}
    assert {d.name for d in lineage.inputs} == {MASKED, PLAIN}
    printed = capfd.readouterr()
    logs = caplog.text + printed.out + printed.err  # task logs go through structlog to stdout
    assert "110101********1234_gone.png" in logs  # the unreadable key is logged, masked
    assert CLEAR.findall(logs) == []
    assert CLEAR.findall(json.dumps(manifest, ensure_ascii=False)) == []


@pytest.mark.parametrize("via_key_list", [True, False])
def test_trigger_rows_of_a_deferred_batch_hold_no_clear_key(s3, scripted_table_hook, via_key_list):
    from baidu_ocr.operators import BaiduOcrTableOperator

    keys = _upload(s3)[:2]
    spec = _batch(s3, keys, via_key_list)
    op = BaiduOcrTableOperator(
        task_id="tables", api="form_ocr", bucket=BUCKET, excel_prefix=None, deferrable=True, **spec
    )
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(context(task_id="tables"))
    _path, kwargs = deferred.value.trigger.serialize()
    text = json.dumps(kwargs, ensure_ascii=False)
    assert CLEAR.findall(text) == [] and "110101********1234_front.png" in text
    assert len(scripted_table_hook.instances[0].submitted) == 2  # both objects were read and submitted


def test_keys_and_a_key_list_together_are_refused(s3, scripted_hook):
    from baidu_ocr.operators import BaiduOcrBatchOperator

    (spec,) = _specs(s3, [PLAIN])
    op = BaiduOcrBatchOperator(task_id="ocr_batch", bucket=BUCKET, keys=[PLAIN], **spec)
    with pytest.raises(ValueError, match="not both"):
        op.execute(context())


def test_an_expired_key_list_says_to_plan_again(s3, scripted_hook):
    from baidu_ocr.operators import BaiduOcrBatchOperator

    op = BaiduOcrBatchOperator(task_id="ocr_batch", bucket=BUCKET, keys_uri=f"s3://{BUCKET}/gone.json")
    with pytest.raises(ValueError, match="rerun the planning task"):
        op.execute(context())


def test_purging_a_run_deletes_its_key_lists_with_its_staged_records(s3):
    from baidu_ocr.pipeline.staging import DEFAULT_STAGING_PREFIX, delete_run_staging, write_records

    (spec,) = _specs(s3, _upload(s3))
    part = (
        f"{DEFAULT_STAGING_PREFIX}/unit_dag/manual__2026-01-02T03_04_05_00_00/ocr_batch/batch-00000/p.parquet"
    )
    write_records(s3, [], BUCKET, part)
    assert delete_run_staging(s3, BUCKET, DEFAULT_STAGING_PREFIX, **RUN) == 2
    assert s3.list_keys(BUCKET, prefix=DEFAULT_STAGING_PREFIX) == []
