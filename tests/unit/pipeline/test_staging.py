"""S3 inputs and staging: listing images, batching under the mapping limit, Parquet staging round trips."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from baidu_ocr.inputs.sources import ImageObject, fetch_images, list_image_objects
from baidu_ocr.pipeline.planning import plan_batches
from baidu_ocr.pipeline.records import RAW_RECORD_COLUMNS, OcrOutcome
from baidu_ocr.pipeline.staging import read_records, records_frame, staging_key, write_records

from tests.unit.conftest import BUCKET, png


def test_plan_batches_keeps_batch_size_and_groups_equal_etags():
    objects = [ImageObject(f"in/{i:03d}.png", etag=f"e{i}", size=10) for i in range(250)]
    objects.append(ImageObject("in/zz-copy-of-000.png", etag="e0", size=10))
    batches = plan_batches(objects, batch_size=100)
    assert sum(len(b) for b in batches) == 251
    assert max(len(b) for b in batches) <= 101
    first = next(b for b in batches if "in/000.png" in b)
    assert "in/zz-copy-of-000.png" in first  # same content, same batch: billed once


def test_plan_batches_grows_batches_to_stay_under_the_mapping_limit():
    objects = [ImageObject(f"k{i}", etag=f"e{i}", size=1) for i in range(3000)]
    batches = plan_batches(objects, batch_size=1, max_batches=512)
    assert len(batches) <= 512
    assert sorted(k for b in batches for k in b) == sorted(o.key for o in objects)


def test_plan_batches_rejects_nonpositive_batch_size():
    with pytest.raises(ValueError, match="batch_size"):
        plan_batches([ImageObject("k", "e", 1)], batch_size=0)


def test_staging_key_makes_run_ids_key_safe():
    key = staging_key("stage/", "my_dag", "manual__2026-01-02T03:04:05.123+00:00", "ocr/batch-00001.parquet")
    assert key == "stage/my_dag/manual__2026-01-02T03_04_05.123_00_00/ocr/batch-00001.parquet"


def test_list_image_objects_ignores_ground_truth_and_other_prefixes(s3):
    s3.load_bytes(png(1), "docs/a.png", BUCKET)
    s3.load_bytes(b"{}", "docs/a.json", BUCKET)
    s3.load_bytes(png(2), "docs/sub/B.JPG", BUCKET)
    s3.load_bytes(png(3), "other/c.png", BUCKET)
    listed = list_image_objects(s3, BUCKET, "docs/")
    assert sorted(o.key for o in listed) == ["docs/a.png", "docs/sub/B.JPG"]
    assert all(o.etag and o.size > 0 for o in listed)


def test_fetch_images_hashes_all_keeps_bytes_within_budget_and_reports_missing(s3):
    images = {f"in/{i}.png": png(i) for i in range(4)}
    for key, data in images.items():
        s3.load_bytes(data, key, BUCKET)
    budget = len(images["in/0.png"]) + len(images["in/1.png"])
    fetched = fetch_images(s3, BUCKET, [*images, "in/missing.png"], memory_budget=budget)
    assert set(fetched.sha256) == set(images)
    assert sum(len(v) for v in fetched.cached.values()) <= budget
    assert len(fetched.cached) >= 1 and len(fetched.cached) < len(images)
    assert list(fetched.unreadable) == ["in/missing.png"]
    assert "NoSuchKey" in fetched.unreadable["in/missing.png"]


def test_records_round_trip_through_parquet_with_exact_dtypes(s3):
    ok = OcrOutcome(key="in/a.png", ok=True, result={"log_id": 18446744073709551615, "words_result": []})
    ok.content_sha256, ok.bytes, ok.attempts, ok.log_id = "a" * 64, 123, 1, "18446744073709551615"
    bad = OcrOutcome(
        key="in/b.png", ok=False, error_class="bad_image", error_code="216201", content_sha256="b" * 64
    )
    when = datetime(2026, 1, 2, tzinfo=UTC)
    records = [
        o.to_record(endpoint="general_basic", options={"probability": True}, processed_at=when)
        for o in (ok, bad)
    ]
    uri = write_records(s3, records, BUCKET, "stage/d/r/batch-00000.parquet")
    assert uri == f"s3://{BUCKET}/stage/d/r/batch-00000.parquet"

    frame = read_records(s3, [uri, None])
    assert list(frame.columns) == list(RAW_RECORD_COLUMNS)
    assert {c: str(t) for c, t in frame.dtypes.items()} == {
        c: str(t) for c, t in records_frame([]).dtypes.items()
    }
    assert frame["log_id"].tolist()[0] == "18446744073709551615"  # not rounded through a float
    assert frame["status"].tolist() == ["ok", "failed"]
    assert frame["options_json"].iloc[0] == '{"probability":"true"}'
    assert frame["processed_at"].iloc[0] == when


def test_read_records_without_files_is_empty_but_typed(s3):
    frame = read_records(s3, [None, ""])
    assert frame.empty
    assert list(frame.columns) == list(RAW_RECORD_COLUMNS)
