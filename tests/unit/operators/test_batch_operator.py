"""BaiduOcrBatchOperator: skip known/duplicate content before billing, stage, then decide success."""

from __future__ import annotations

import hashlib

import pytest
from baidu_ocr.exceptions import QuotaExhausted
from baidu_ocr.operators import BaiduOcrBatchOperator, BaiduOcrImageOperator, BatchFailureRatioExceeded
from baidu_ocr.pipeline.staging import read_records

from tests.unit.operators.conftest import BUCKET, context, png, use_hook


def _upload(s3, n: int, prefix: str = "in/") -> dict[str, bytes]:
    images = {f"{prefix}{i:02d}.png": png(i) for i in range(n)}
    for key, data in images.items():
        s3.load_bytes(data, key, BUCKET)
    return images


def _operator(keys, **kwargs) -> BaiduOcrBatchOperator:
    return BaiduOcrBatchOperator(task_id="ocr_batch", bucket=BUCKET, keys=keys, **kwargs)


def test_constructor_does_no_io_and_templates_the_user_facing_fields():
    op = BaiduOcrBatchOperator(
        task_id="t", bucket="{{ params.bucket }}", keys=["a"], baidu_ocr_conn_id="does_not_exist"
    )
    assert {"bucket", "keys", "endpoint", "options", "staging_prefix"} <= set(op.template_fields)
    assert op.template_fields_renderers["options"] == "json"


def test_stages_every_outcome_and_returns_a_small_manifest(s3, scripted_hook):
    images = _upload(s3, 5)
    scripted_hook.fail = {"in/03.png": "bad_image"}
    op = _operator(list(images), options={"probability": "true"}, max_failure_ratio=0.5)
    manifest = op.execute(context(map_index=7))

    assert manifest["uri"] == (
        f"s3://{BUCKET}/baidu-ocr-staging/unit_dag/manual__2026-01-02T03_04_05_00_00/ocr_batch/batch-00007/"
    )
    assert (manifest["n_seen"], manifest["n_ok"], manifest["n_failed"], manifest["n_skipped"]) == (5, 4, 1, 0)
    assert manifest["failed_by_class"] == {"bad_image": 1}
    assert manifest["stats"]["billable_calls"] == 4  # the failed image is not billed
    assert manifest["stats"]["failed_calls"] == 1
    staged = read_records(s3, [manifest["uri"]])
    assert sorted(staged["source_uri"]) == sorted(f"s3://{BUCKET}/{k}" for k in images)
    assert set(staged["content_sha256"]) == {hashlib.sha256(d).hexdigest() for d in images.values()}
    assert set(staged["endpoint"]) == {"general_basic"}
    assert set(staged["dag_id"]) == {"unit_dag"}


def test_skips_content_in_the_warehouse_and_duplicates_before_any_call(
    s3, scripted_hook, monkeypatch, tmp_path
):
    import json

    from baidu_ocr.warehouse import WarehouseLoader

    monkeypatch.setenv("AIRFLOW_CONN_WH", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "w.db")}))
    images = _upload(s3, 4)
    s3.load_bytes(images["in/00.png"], "in/copy-of-00.png", BUCKET)
    known = {hashlib.sha256(images["in/01.png"]).hexdigest()}
    monkeypatch.setattr(BaiduOcrBatchOperator, "_already_processed", lambda self, hashes: known & hashes)
    manifest = _operator([*images, "in/copy-of-00.png"], warehouse_conn_id="wh").execute(context())

    assert sorted(scripted_hook.instances[0].called) == ["in/00.png", "in/02.png", "in/03.png"]
    assert (manifest["n_ok"], manifest["n_skipped"]) == (3, 2)
    # What the try paid for is in ocr_usage (no price configured: no cost).
    assert WarehouseLoader("wh").usage(month_of_day=None) == {"general_basic": (3, 0, None)}


def test_one_warehouse_loader_and_one_schema_check_per_task(s3, scripted_hook, monkeypatch, tmp_path):
    """The task asks what is done, reads the run's budget and records its usage through one loader, built
    in execute: the schema check (an advisory lock on PostgreSQL) runs once, not once per question."""
    import json

    import baidu_ocr.warehouse.loader as loader_module
    from baidu_ocr.warehouse import WarehouseLoader

    built, checked = [], []
    build, check = WarehouseLoader.__init__, loader_module.ensure_tables
    monkeypatch.setattr(
        WarehouseLoader, "__init__", lambda self, *a, **k: built.append(a) or build(self, *a, **k)
    )
    monkeypatch.setattr(loader_module, "ensure_tables", lambda wh, **k: checked.append(wh) or check(wh, **k))
    monkeypatch.setenv("AIRFLOW_CONN_WH", json.dumps({"conn_type": "sqlite", "host": str(tmp_path / "w.db")}))
    images = _upload(s3, 3)
    op = _operator(list(images), warehouse_conn_id="wh", max_billable_calls=10)
    assert built == []  # nothing in __init__

    manifest = op.execute(context())

    assert manifest["n_ok"] == 3
    assert [usage["billable_calls"] for usage in op._lineage_usage] == [3]  # the usage was written
    assert built == [("wh",)]
    assert checked == [op.warehouse]


def test_everything_known_makes_no_call_and_stages_nothing(s3, scripted_hook, monkeypatch, capfd):
    images = _upload(s3, 3)
    monkeypatch.setattr(BaiduOcrBatchOperator, "_already_processed", lambda self, hashes: set(hashes))
    manifest = _operator(list(images), warehouse_conn_id="wh").execute(context())
    logged = capfd.readouterr().out  # task logs: structlog, on stdout
    assert "nothing was staged" in logged and "staged at None" not in logged
    assert scripted_hook.instances[0].called == []
    assert manifest["uri"] is None
    assert (manifest["n_ok"], manifest["n_failed"], manifest["n_skipped"]) == (0, 0, 3)


def test_failure_ratio_over_threshold_fails_after_staging(s3, scripted_hook):
    images = _upload(s3, 4)
    scripted_hook.fail = {"in/00.png": "bad_image", "in/01.png": "transient"}
    with pytest.raises(
        BatchFailureRatioExceeded, match=r"2 of 4 images failed \(50% > max_failure_ratio 20%\)"
    ):
        _operator(list(images)).execute(context())
    staged = read_records(
        s3,
        [
            f"s3://{BUCKET}/baidu-ocr-staging/unit_dag/manual__2026-01-02T03_04_05_00_00/ocr_batch/batch-00000/"
        ],
    )
    assert sorted(staged["status"]) == ["failed", "failed", "ok", "ok"]


def test_unreadable_keys_count_as_failures(s3, scripted_hook):
    images = _upload(s3, 4)
    manifest = _operator([*images, "in/vanished.png"], max_failure_ratio=0.25).execute(context())
    assert manifest["failed_by_class"] == {"unreadable": 1}
    assert (manifest["n_ok"], manifest["n_failed"]) == (4, 1)


def test_batch_stopping_error_is_raised_after_staging_what_finished(s3, scripted_hook):
    images = _upload(s3, 5)
    scripted_hook.stop_after = 2
    scripted_hook.stop_error = QuotaExhausted(
        "Open api daily request limit reached", code=17, endpoint="general_basic"
    )
    ctx = context()
    with pytest.raises(QuotaExhausted):
        _operator(list(images)).execute(ctx)
    # The failed task still publishes its manifest, so the all_done load picks up what was paid for.
    published = ctx["ti"].pushed["return_value"]
    assert (published["n_ok"], published["uri"].endswith("batch-00000/")) == (2, True)
    assert published["error"].startswith("QuotaExhausted: Open api daily request limit reached")
    staged = read_records(
        s3,
        [
            f"s3://{BUCKET}/baidu-ocr-staging/unit_dag/manual__2026-01-02T03_04_05_00_00/ocr_batch/batch-00000/"
        ],
    )
    assert len(staged) == 2 and set(staged["status"]) == {"ok"}


def test_images_past_the_memory_budget_are_read_again_from_s3(s3, scripted_hook):
    images = _upload(s3, 3)
    manifest = _operator(list(images), memory_budget=0).execute(context())
    assert manifest["n_ok"] == 3
    assert scripted_hook.instances[-1].read_from_s3 == sorted(images)


def test_images_within_the_memory_budget_are_not_read_twice(s3, scripted_hook):
    images = _upload(s3, 3)
    manifest = _operator(list(images)).execute(context())
    assert manifest["n_ok"] == 3
    assert scripted_hook.instances[-1].read_from_s3 == []


def test_single_image_operator_returns_baidu_json_for_an_s3_uri(s3, monkeypatch):
    s3.load_bytes(png(9), "one/receipt.png", BUCKET)
    seen = {}

    class OneCallHook:
        def __init__(self, conn_id):
            seen["conn_id"] = conn_id

        def ocr(self, source, *, endpoint, **options):
            seen["bytes"] = source.get()["Body"].read()
            seen["endpoint"], seen["options"] = endpoint, options
            return {"log_id": 1, "words_result": [{"words": "TOTAL 9.90"}]}

    use_hook(monkeypatch, BaiduOcrImageOperator, OneCallHook)
    op = BaiduOcrImageOperator(
        task_id="one",
        image=f"s3://{BUCKET}/one/receipt.png",
        endpoint="accurate",
        options={"probability": "true"},
    )
    result = op.execute(context())
    assert result["words_result"] == [{"words": "TOTAL 9.90"}]
    assert seen == {
        "conn_id": "baidu_ocr_default",
        "bytes": png(9),
        "endpoint": "accurate",
        "options": {"probability": "true"},
    }


def test_content_a_taken_on_run_staged_is_skipped_unless_its_options_differ(s3, scripted_hook):
    """``adopted_staging``: what a failed run staged (results, and images refused as bad) is not sent again
    by the run that takes its objects on; staged with other options, it is another reading and is sent."""
    images = _upload(s3, 4)
    scripted_hook.fail = {"in/03.png": "bad_image", "in/02.png": "internal_error"}
    first = _operator(list(images), options={"probability": "true"}, max_failure_ratio=1.0)
    failed_run_folder = first.execute(context())["uri"].rsplit("ocr_batch/", 1)[0]
    scripted_hook.fail = {}

    def taken_on(options: dict) -> tuple[list[str], dict]:
        ctx = context()
        ctx["ti"].run_id = f"asset_triggered__2026-01-03T00:00:00+00:00_{options['probability']}"
        op = _operator(list(images), options=options, adopted_staging=[failed_run_folder])
        manifest = op.execute(ctx)
        return sorted(op.hook.called), manifest

    called, manifest = taken_on({"probability": "true"})
    assert called == ["in/02.png"]  # only the image whose call failed (unbilled) is sent again
    assert (manifest["n_ok"], manifest["n_skipped"]) == (1, 3)
    called, _ = taken_on({"probability": "false"})
    assert called == sorted(images)


def test_a_failed_authority_query_leaves_the_invoice_unverified_and_a_quota_stops_the_asking(
    s3, scripted_hook, monkeypatch
):
    """``verify_invoices``: each reading is staged whatever the authority's query does; a query refused for
    this invoice leaves it unverified, a quota stops the asking for the rest of the batch."""
    import json

    from baidu_ocr.exceptions import BadImage
    from baidu_ocr.normalize.invoice_verification import VERIFICATION_KEY
    from baidu_ocr.operators.base import S3ImageBatchOperator

    from tests.unit.operators.conftest import ScriptedHook

    invoice = {
        "InvoiceType": "普通发票",
        "InvoiceCode": "3100231130",
        "InvoiceNum": "12345678",
        "InvoiceDate": "2025年05月15日",
        "TotalAmount": "1000.00",
    }
    answers = iter(
        [
            {"VerifyResult": "0009", "VerifyMessage": "查无此票", "InvalidSign": "N"},
            BadImage("refused for this invoice", code=216201),
            QuotaExhausted("daily limit", code=17),
        ]
    )

    class InvoiceHook(ScriptedHook):
        asked: list[dict] = []

        def ocr_many(self, items, **kwargs):
            for outcome in super().ocr_many(items, **kwargs):
                outcome.result = {"log_id": 1, "words_result": dict(invoice)}
                yield outcome

        def post(self, endpoint, form):
            assert endpoint == "vat_invoice_verification"
            InvoiceHook.asked.append(form)
            answer = next(answers)
            if isinstance(answer, Exception):
                raise answer
            return answer

    use_hook(monkeypatch, S3ImageBatchOperator, InvoiceHook)
    images = _upload(s3, 4)
    manifest = _operator(list(images), endpoint="vat_invoice", verify_invoices="True").execute(context())

    assert manifest["n_ok"] == 4  # every reading staged
    assert len(InvoiceHook.asked) == 3  # the fourth is not asked after the quota
    assert InvoiceHook.asked[0]["total_amount"] == "1000.00"
    staged = read_records(s3, [manifest["uri"]]).sort_values("source_uri")
    verdicts = [json.loads(text).get(VERIFICATION_KEY) for text in staged["result_json"]]
    assert verdicts[0]["VerifyResult"] == "0009" and verdicts[1:] == [None, None, None]
