"""Our S3 staging layout: where raw results are written, how they are read back, and how long they live.

OCR tasks never push OCR payloads through XCom: they write their raw records (``records.RAW_RECORD_COLUMNS``)
as Parquet parts in one folder per batch, ``s3://<bucket>/<staging_prefix>/<dag_id>/<run_id>/<task_id>/batch-<n>/``,
a part every few images (:class:`ChunkedStager`), and return a small manifest (``manifests.BatchManifest``)
whose ``uri`` is that folder. A task killed mid-batch loses at most the part it was filling: its retry finds
the parts of earlier tries in the same folder and OCRs only the rest. Staged files expire by an S3
lifecycle rule on the staging prefix (:func:`ensure_staging_expiry`) when nothing deletes them earlier.

Outputs that outlive the load (the Excel workbooks of table results) go outside the staging prefix, keyed
by content (:func:`excel_key`), and are written with the same server-side encryption (:func:`write_output_file`).
"""

from __future__ import annotations

import io
import logging
import re
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from baidu_ocr.pipeline.records import RAW_RECORD_COLUMNS

if TYPE_CHECKING:
    import pandas as pd
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

DEFAULT_STAGING_PREFIX = "baidu-ocr-staging"
DEFAULT_EXPIRY_DAYS = 7
DEFAULT_EXCEL_PREFIX = "baidu-ocr-output/tables"
PARQUET = ".parquet"
XLSX = ".xlsx"
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
log = logging.getLogger(__name__)


def _safe_segment(value: str) -> str:
    # Run ids look like "manual__2026-05-01T10:00:00.123+00:00": keep keys free of characters that
    # need escaping in S3 consoles and shells.
    return re.sub(r"[^A-Za-z0-9._=-]+", "_", value).strip("_") or "unknown"


def staging_key(staging_prefix: str, dag_id: str, run_id: str, name: str) -> str:
    """``<staging_prefix>/<dag_id>/<run_id>/<name>`` with run-id punctuation made key-safe."""
    parts = [staging_prefix.strip("/"), _safe_segment(dag_id), _safe_segment(run_id), name]
    return "/".join(p for p in parts if p)


def batch_file_name(batch_no: int) -> str:
    return f"batch-{max(batch_no, 0):05d}{PARQUET}"


def batch_folder(staging_prefix: str, dag_id: str, run_id: str, task_id: str, batch_no: int) -> str:
    """The key prefix (ending in ``/``) of one batch's parts."""
    return staging_key(staging_prefix, dag_id, run_id, f"{task_id}/batch-{max(batch_no, 0):05d}/")


def run_folder(staging_prefix: str, dag_id: str, run_id: str) -> str:
    """The key prefix (ending in ``/``) of everything one DAG run staged."""
    return staging_key(staging_prefix, dag_id, run_id, "") + "/"


def s3_uri(bucket: str, key: str) -> str:
    return f"s3://{bucket}/{key}"


def excel_key(
    excel_prefix: str,
    content_sha256: str,
    options_hash: str,
    page_no: int | None = None,
    *,
    suffix: str = XLSX,
) -> str:
    """``<excel_prefix>/<sha256>-<options_hash>[-p<page>].xlsx``: the workbook of one table result
    (``suffix`` ``.xls`` for a legacy workbook from ``form_ocr``).

    Keyed like the warehouse's documents (content, options, page), not by the S3 key of the scan: a rerun,
    or the same scan under two keys, writes the same object instead of a second copy.
    """
    page = f"-p{page_no:04d}" if page_no else ""
    return f"{excel_prefix.strip('/')}/{content_sha256}-{options_hash}{page}{suffix}"


def write_output_file(
    s3: S3Hook,
    data: bytes,
    bucket: str,
    key: str,
    *,
    content_type: str | None = None,
    sse: str | None = "AES256",
    kms_key_id: str | None = None,
) -> str:
    """Write one output object (replacing an earlier one under the same key); return its ``s3://`` URI."""
    extra: dict[str, str] = sse_arguments(sse, kms_key_id)
    if content_type:
        extra["ContentType"] = content_type
    s3.get_conn().put_object(Bucket=bucket, Key=key, Body=data, **extra)
    return s3_uri(bucket, key)


def read_object(s3: S3Hook, bucket: str, key: str) -> bytes | None:
    """An object's bytes, or ``None`` when there is no such key (another run deleted it, or it expired)."""
    from botocore.exceptions import ClientError

    try:
        return s3.get_conn().get_object(Bucket=bucket, Key=key)["Body"].read()
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
            return None
        raise


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

    Raw responses hold personal data (names, addresses; ID numbers sealed): the object is written with server-side encryption
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


def staged_files(s3: S3Hook, uris: Iterable[str | None]) -> list[str]:
    """The Parquet files behind ``uris``: a folder URI (ending in ``/``) stands for every part under it.
    Each file once, in order; ``None`` entries are skipped."""
    files: dict[str, None] = {}
    for uri in uris:
        if not uri:
            continue
        if not uri.endswith("/"):
            files[uri] = None
            continue
        bucket, prefix = s3.parse_s3_url(uri)
        for key in sorted(s3.list_keys(bucket_name=bucket, prefix=prefix)):
            if key.endswith(PARQUET):
                files[s3_uri(bucket, key)] = None
    return list(files)


def read_records(
    s3: S3Hook, uris: Iterable[str | None], columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Read staged Parquet files (or folders of parts) back into one raw-record frame (empty, but typed,
    when there are none)."""
    import pandas as pd

    wanted = list(columns or RAW_RECORD_COLUMNS)
    dtypes = {c: RAW_RECORD_COLUMNS[c] for c in wanted}
    frames = []
    for uri in staged_files(s3, uris):
        bucket, key = s3.parse_s3_url(uri)
        body = s3.get_key(key, bucket).get()["Body"].read()
        frames.append(pd.read_parquet(io.BytesIO(body), engine="pyarrow", columns=wanted))
    if not frames:
        return records_frame([])[wanted]
    return pd.concat(frames, ignore_index=True).reindex(columns=wanted).astype(dtypes)


def delete_staged_files(s3: S3Hook, uris: Iterable[str | None]) -> int:
    """Delete staged files by URI (folders: every part under them); return how many were deleted."""
    by_bucket: dict[str, list[str]] = defaultdict(list)
    for uri in staged_files(s3, uris):
        bucket, key = s3.parse_s3_url(uri)
        by_bucket[bucket].append(key)
    for bucket, keys in by_bucket.items():
        s3.delete_objects(bucket=bucket, keys=keys)
    return sum(len(keys) for keys in by_bucket.values())


def delete_run_staging(s3: S3Hook, bucket: str, staging_prefix: str, dag_id: str, run_id: str) -> int:
    """Delete everything one DAG run staged (parts of failed batches too, and the batches' key lists, see
    ``s3_batches.stage_batch_keys``); return how many files."""
    keys = s3.list_keys(bucket_name=bucket, prefix=run_folder(staging_prefix, dag_id, run_id))
    if keys:
        s3.delete_objects(bucket=bucket, keys=keys)
    return len(keys)


class ChunkedStager:
    """Stage one batch's records as they come: a Parquet part every ``every_records`` records or
    ``every_seconds`` seconds, whichever comes first, so a killed task loses at most one part's worth.

    :param folder: the batch folder's key (``batch_folder``); parts of earlier tries stay beside this try's.
    :param try_number: the task's try, in each part's name, so a retry never overwrites an earlier part.
    :param sse: server-side encryption of the parts (see :func:`write_records`).
    :param kms_key_id: KMS key for SSE-KMS.
    :param after_part: called after each part is written (the operator records the try's usage so far, so
        a try killed later still has its calls in ``ocr_usage`` up to its last part).
    """

    def __init__(
        self,
        s3: S3Hook,
        bucket: str,
        folder: str,
        *,
        after_part: Callable[[], None] | None = None,
        try_number: int = 1,
        every_records: int = 50,
        every_seconds: float = 30.0,
        sse: str | None = "AES256",
        kms_key_id: str | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if every_records < 1:
            raise ValueError(f"every_records must be >= 1, got {every_records}")
        self.s3, self.bucket, self.folder = s3, bucket, folder
        self.try_number = try_number
        self.every_records, self.every_seconds = every_records, every_seconds
        self.sse, self.kms_key_id = sse, kms_key_id
        self._clock = clock
        self._after_part = after_part
        self._pending: list[dict[str, Any]] = []
        self._last_flush = clock()
        self.parts_written = 0
        self.records_written = 0

    @property
    def folder_uri(self) -> str:
        return s3_uri(self.bucket, self.folder)

    def earlier_records(self, columns: Sequence[str] | None = None) -> pd.DataFrame:
        """What earlier tries of this batch staged (empty on a first try)."""
        return read_records(self.s3, [self.folder_uri], columns=columns)

    def add(self, record: dict[str, Any]) -> None:
        self._pending.append(record)
        due = self._clock() - self._last_flush >= self.every_seconds
        if len(self._pending) >= self.every_records or due:
            self.flush()

    def flush(self) -> None:
        """Write what is pending as one part (nothing to write: nothing happens)."""
        self._last_flush = self._clock()
        if not self._pending:
            return
        name = f"part-t{self.try_number:02d}-{self.parts_written:05d}{PARQUET}"
        write_records(
            self.s3, self._pending, self.bucket, self.folder + name, sse=self.sse, kms_key_id=self.kms_key_id
        )
        self.parts_written += 1
        self.records_written += len(self._pending)
        self._pending = []
        if self._after_part is not None:
            self._after_part()

    def uri(self) -> str | None:
        """The folder URI when anything is staged in it (this try or an earlier one), else ``None``."""
        return self.folder_uri if staged_files(self.s3, [self.folder_uri]) else None


def ensure_staging_expiry(s3: S3Hook, bucket: str, staging_prefix: str, days: int) -> bool:
    """Make sure an S3 lifecycle rule expires objects under ``staging_prefix`` after ``days`` days.

    The backstop for staged files nothing deleted (a failed load keeps them for a rerun; ID-card responses
    hold personal data). An existing rule of ours is updated in place, other rules are kept. Returns False,
    with a warning, when the credentials may not read or write the bucket's lifecycle: staging goes on, but
    the operator of the bucket must add the rule.
    """
    from botocore.exceptions import ClientError

    prefix = staging_prefix.strip("/") + "/"
    rule_id = f"baidu-ocr-staging-expiry:{prefix}"[:255]
    client = s3.get_conn()
    try:
        try:
            rules = client.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != "NoSuchLifecycleConfiguration":
                raise
            rules = []
        ours = next((r for r in rules if r.get("ID") == rule_id), None)
        if ours and ours.get("Status") == "Enabled" and ours.get("Expiration", {}).get("Days") == days:
            return True
        rule = {
            "ID": rule_id,
            "Filter": {"Prefix": prefix},
            "Status": "Enabled",
            "Expiration": {"Days": days},
        }
        kept = [r for r in rules if r.get("ID") != rule_id]
        client.put_bucket_lifecycle_configuration(
            Bucket=bucket, LifecycleConfiguration={"Rules": [*kept, rule]}
        )
        log.info("Staged files under s3://%s/%s now expire after %d day(s)", bucket, prefix, days)
        return True
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        log.warning(
            "Cannot set the %d-day expiry of s3://%s/%s (%s): staged files will not expire unless the "
            "bucket's owner adds a lifecycle rule for that prefix",
            days,
            bucket,
            prefix,
            code,
        )
        return False
