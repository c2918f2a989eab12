"""Crash safety of a batch: parts staged as results come, a retry pays only for what no part holds, and the
staging prefix expires by an S3 lifecycle rule the provider sets."""

from __future__ import annotations

import pytest
from baidu_ocr.operators import BaiduOcrBatchOperator
from baidu_ocr.pipeline.staging import ChunkedStager, ensure_staging_expiry, read_records, staged_files

from tests.unit.operators.conftest import BUCKET, context, png


class WorkerDied(BaseException):
    """Stands for the task process dying: not an Exception, so nothing in the operator catches it."""


def _upload(s3, n: int) -> list[str]:
    keys = [f"in/{i:02d}.png" for i in range(n)]
    for i, key in enumerate(keys):
        s3.load_bytes(png(i), key, BUCKET)
    return keys


def _record(n: int) -> dict:
    return {"content_sha256": f"{n:064x}", "status": "ok", "endpoint": "general_basic"}


def test_parts_are_written_every_n_records_or_t_seconds(s3):
    now = [0.0]
    stager = ChunkedStager(
        s3, BUCKET, "stage/b/", try_number=3, every_records=3, every_seconds=10, clock=lambda: now[0]
    )
    for n in range(7):
        stager.add(_record(n))
    assert stager.parts_written == 2  # after records 3 and 6
    now[0] = 11.0
    stager.add(_record(7))  # 10 s since the last part: written although only 2 records wait
    assert stager.parts_written == 3
    stager.flush()  # nothing pending: no empty part
    assert staged_files(s3, [stager.folder_uri]) == [
        f"s3://{BUCKET}/stage/b/part-t03-0000{i}.parquet" for i in range(3)
    ]
    assert len(read_records(s3, [stager.folder_uri])) == 8


def test_a_retry_pays_only_for_images_no_earlier_part_holds(s3, scripted_hook):
    keys = _upload(s3, 9)
    first = context()
    scripted_hook.stop_after, scripted_hook.stop_error = 5, WorkerDied()
    with pytest.raises(WorkerDied):
        BaiduOcrBatchOperator(task_id="ocr_batch", bucket=BUCKET, keys=keys, stage_every_images=2).execute(
            first
        )
    assert scripted_hook.instances[-1].called == keys[:5]  # billed: 5; staged: 4 (two parts of 2)

    retry = context()
    retry["ti"].try_number = 2
    manifest = BaiduOcrBatchOperator(
        task_id="ocr_batch", bucket=BUCKET, keys=keys, stage_every_images=2
    ).execute(retry)

    assert scripted_hook.instances[-1].called == keys[4:]  # one image paid twice, at most one part's worth
    assert (manifest["n_seen"], manifest["n_ok"], manifest["n_failed"]) == (9, 9, 0)
    assert manifest["stats"]["calls_of_earlier_tries"] == 4
    staged = read_records(s3, [manifest["uri"]])
    assert sorted(staged["source_uri"]) == sorted(f"s3://{BUCKET}/{k}" for k in keys)


def test_the_staging_prefix_gets_an_expiry_rule_once_and_foreign_rules_stay(s3):
    client = s3.get_conn()
    foreign = {"ID": "logs", "Filter": {"Prefix": "logs/"}, "Status": "Enabled", "Expiration": {"Days": 30}}
    client.put_bucket_lifecycle_configuration(Bucket=BUCKET, LifecycleConfiguration={"Rules": [foreign]})

    assert ensure_staging_expiry(s3, BUCKET, "baidu-ocr-staging", 7)
    assert ensure_staging_expiry(s3, BUCKET, "baidu-ocr-staging", 7)  # already there: unchanged
    assert ensure_staging_expiry(s3, BUCKET, "baidu-ocr-staging", 3)  # updated in place

    rules = {r["ID"]: r for r in client.get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]}
    assert set(rules) == {"logs", "baidu-ocr-staging-expiry:baidu-ocr-staging/"}
    ours = rules["baidu-ocr-staging-expiry:baidu-ocr-staging/"]
    assert (ours["Filter"]["Prefix"], ours["Expiration"]["Days"], ours["Status"]) == (
        "baidu-ocr-staging/",
        3,
        "Enabled",
    )


def test_a_batch_sets_the_expiry_of_its_staging_prefix(s3, scripted_hook):
    keys = _upload(s3, 2)
    BaiduOcrBatchOperator(task_id="ocr_batch", bucket=BUCKET, keys=keys, staging_expiry_days=5).execute(
        context()
    )
    (rule,) = s3.get_conn().get_bucket_lifecycle_configuration(Bucket=BUCKET)["Rules"]
    assert rule["Expiration"]["Days"] == 5


def test_without_lifecycle_permission_staging_goes_on_with_a_warning(s3, caplog):
    from botocore.exceptions import ClientError

    class Denied:
        def get_bucket_lifecycle_configuration(self, **kwargs):
            raise ClientError({"Error": {"Code": "AccessDenied"}}, "GetBucketLifecycleConfiguration")

    class DeniedS3:
        def get_conn(self):
            return Denied()

    assert ensure_staging_expiry(DeniedS3(), BUCKET, "baidu-ocr-staging", 7) is False
    assert "AccessDenied" in caplog.text and "will not expire" in caplog.text
