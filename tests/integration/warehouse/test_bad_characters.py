"""One bad character in a billed response must not lose the batch: NUL (PostgreSQL refuses it in COPY and
TEXT) and a lone surrogate (no UTF-8 encoding: Parquet refuses it) go through staging and both warehouses."""

from __future__ import annotations

from baidu_ocr.normalize import normalize_records
from baidu_ocr.pipeline.records import OcrOutcome
from baidu_ocr.pipeline.staging import read_records, write_records

from tests.unit.operators.conftest import BUCKET, s3  # noqa: F401 - the moto S3 fixture


def _outcomes() -> list[OcrOutcome]:
    result = {
        "log_id": 1,
        "words_result_num": 2,
        "words_result": [{"words": "合计\x00 12.50"}, {"words": "surrogate \ud83d here"}],
    }
    return [
        OcrOutcome(key="a.png", ok=True, result=result, content_sha256="a" * 64, attempts=1),
        OcrOutcome(
            key="b.png",
            ok=False,
            error_class="bad_image",
            error_code="216201",
            error_msg="bad \x00 image \udc80",
            content_sha256="b" * 64,
        ),
    ]


def test_nul_and_lone_surrogates_survive_staging_and_both_warehouses(s3, loader):  # noqa: F811
    records = [o.to_record(endpoint="general_basic", run_id="r", dag_id="d") for o in _outcomes()]
    uri = write_records(s3, records, BUCKET, "stage/batch.parquet")  # Parquet refused surrogates before

    frames = normalize_records(read_records(s3, [uri]))
    loaded = loader.load(frames)  # PostgreSQL's COPY refused NUL before

    assert loaded["ocr_documents"] == 2 and loaded["ocr_lines"] == 2
    texts = sorted(r[0] for r in loader.hook.get_records(f"SELECT text FROM {loader.table('ocr_lines')}"))
    assert texts == ["surrogate \ufffd here", "合计 12.50"]
    ((message,),) = loader.hook.get_records(
        f"SELECT error_msg FROM {loader.table('ocr_documents')} WHERE status = 'failed'"
    )
    assert message == "bad  image \ufffd"
