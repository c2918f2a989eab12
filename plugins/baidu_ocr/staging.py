"""Our S3 staging layout: where raw results are written, and how they are read back.

OCR tasks never push OCR payloads through XCom: they write their raw records (``records.RAW_RECORD_COLUMNS``)
as one Parquet file per batch at ``s3://<bucket>/<staging_prefix>/<dag_id>/<run_id>/<task_id>/batch-<n>.parquet``
and return a small manifest (``manifests.BatchManifest``).
"""

from __future__ import annotations

import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from baidu_ocr.records import RAW_RECORD_COLUMNS

if TYPE_CHECKING:
    import pandas as pd
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

DEFAULT_STAGING_PREFIX = "baidu-ocr-staging"


def _safe_segment(value: str) -> str:
    # Run ids look like "manual__2026-05-01T10:00:00.123+00:00": keep keys free of characters that
    # need escaping in S3 consoles and shells.
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", value).strip("_") or "unknown"


def staging_key(staging_prefix: str, dag_id: str, run_id: str, name: str) -> str:
    """``<staging_prefix>/<dag_id>/<run_id>/<name>`` with run-id punctuation made key-safe."""
    parts = [staging_prefix.strip("/"), _safe_segment(dag_id), _safe_segment(run_id), name]
    return "/".join(p for p in parts if p)


def batch_file_name(batch_no: int) -> str:
    return f"batch-{max(batch_no, 0):05d}.parquet"


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def records_frame(records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Raw records as a DataFrame with exactly the columns and dtypes of ``RAW_RECORD_COLUMNS``."""
    import pandas as pd  # when a task runs, not each time the DAG processor parses a DAG file

    frame = pd.DataFrame.from_records(list(records), columns=list(RAW_RECORD_COLUMNS))
    if "processed_at" in frame:
        frame["processed_at"] = pd.to_datetime(frame["processed_at"], utc=True)
    return frame.astype(RAW_RECORD_COLUMNS)


def sse_arguments(sse: str | None = "AES256", kms_key_id: str | None = None) -> dict[str, str]:
    """S3 ``put_object`` arguments requesting server-side encryption: SSE-S3, or SSE-KMS with a key id."""
    if kms_key_id:
        return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
    return {"ServerSideEncryption": sse} if sse else {}


def write_records(
    s3: S3Hook,
    records: Iterable[dict[str, Any]],
    bucket: str,
    key: str,
    *,
    sse: str | None = "AES256",
    kms_key_id: str | None = None,
) -> str:
    """Write raw records as one Parquet object (replacing a previous try's) and return its ``s3://`` URI.

    Raw responses hold personal data (clear ID numbers): the object is written with server-side encryption
    requested, SSE-S3 (``AES256``) by default, SSE-KMS with ``kms_key_id``; ``sse=None`` requests none.
    """
    buffer = io.BytesIO()
    records_frame(records).to_parquet(buffer, engine="pyarrow", index=False)
    extra = sse_arguments(sse, kms_key_id)
    if extra.get("ServerSideEncryption") in (None, "AES256"):
        s3.load_bytes(buffer.getvalue(), key=key, bucket_name=bucket, replace=True, encrypt=bool(extra))
    else:  # load_bytes only knows SSE-S3
        s3.get_conn().put_object(Bucket=bucket, Key=key, Body=buffer.getvalue(), **extra)
    return s3_uri(bucket, key)


def read_records(
    s3: S3Hook, uris: Iterable[str | None], columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Read staged Parquet files back into one raw-record frame (empty, but typed, when there are none)."""
    import pandas as pd

    wanted = list(columns or RAW_RECORD_COLUMNS)
    dtypes = {c: RAW_RECORD_COLUMNS[c] for c in wanted}
    frames = []
    for uri in uris:
        if not uri:
            continue
        bucket, key = s3.parse_s3_url(uri)
        body = s3.get_key(key, bucket).get()["Body"].read()
        frames.append(pd.read_parquet(io.BytesIO(body), engine="pyarrow", columns=wanted))
    if not frames:
        return records_frame([])[wanted]
    return pd.concat(frames, ignore_index=True).reindex(columns=wanted).astype(dtypes)


def delete_staged_files(s3: S3Hook, uris: Iterable[str | None]) -> int:
    """Delete staged files by URI (``None`` entries are skipped); return how many were deleted."""
    by_bucket: dict[str, list[str]] = defaultdict(list)
    for uri in uris:
        if uri:
            bucket, key = s3.parse_s3_url(uri)
            by_bucket[bucket].append(key)
    for bucket, keys in by_bucket.items():
        s3.delete_objects(bucket=bucket, keys=keys)
    return sum(len(keys) for keys in by_bucket.values())
