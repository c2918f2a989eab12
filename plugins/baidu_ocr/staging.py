"""Our S3 layout: which input keys are images, how they are cut into batches, where raw results are staged.

OCR tasks never push OCR payloads through XCom: they write their raw records (``records.RAW_RECORD_COLUMNS``)
as one Parquet file per batch at ``s3://<bucket>/<staging_prefix>/<dag_id>/<run_id>/batch-<n>.parquet`` and
return a small :class:`BatchManifest`. Everything goes through the Amazon provider's ``S3Hook``, so the
``aws_default`` connection (credentials, region, ``endpoint_url`` for moto or MinIO) decides where S3 is.
"""

from __future__ import annotations

import hashlib
import io
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NotRequired, TypedDict

from airflow.exceptions import AirflowException

from baidu_ocr.records import RAW_RECORD_COLUMNS
from baidu_ocr.stats import percentile

if TYPE_CHECKING:
    from logging import Logger

    import pandas as pd
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

# What Baidu or images.prepare_image can read; everything else under a prefix (ground-truth JSON, README,
# "folder" placeholders) is not an image and is never listed.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif")
DEFAULT_STAGING_PREFIX = "baidu-ocr-staging"
# Half of Airflow's default [core] max_map_length (1024): the batch size grows before the mapping limit nears.
MAX_BATCHES = 512


class BatchManifest(TypedDict):
    """What an OCR batch task returns through XCom: a pointer to its staged records and its counts."""

    uri: str | None  # None when nothing had to be staged (every image skipped)
    n_seen: int
    n_ok: int
    n_failed: int
    n_skipped: int  # already in the warehouse, or the same content under another key of the batch
    failed_by_class: dict[str, int]
    stats: dict[str, Any]  # BaiduOcrHook.stats.snapshot()
    started_at: float  # UNIX time: with finished_at, the run's wall clock for its achieved QPS
    finished_at: float
    error: NotRequired[str]  # set when the batch task failed after staging (quota, failure ratio, timeout)


@dataclass(frozen=True)
class ImageObject:
    key: str
    etag: str
    size: int


def is_image_key(key: str) -> bool:
    return key.lower().endswith(IMAGE_SUFFIXES)


def list_image_objects(s3: S3Hook, bucket: str, prefix: str) -> list[ImageObject]:
    """Every image object under ``prefix`` (paginated; no content read). Empty files are listed too: they
    become "empty image" failures in the warehouse rather than silently vanishing."""
    return [
        ImageObject(key=obj["Key"], etag=str(obj.get("ETag", "")).strip('"'), size=int(obj.get("Size", 0)))
        for obj in s3.iter_file_metadata(prefix=prefix, bucket_name=bucket)
        if is_image_key(obj["Key"])
    ]


@dataclass
class FetchedImages:
    """The content hash of every readable key of a batch, and the bytes of those that fit in memory."""

    sha256: dict[str, str] = field(default_factory=dict)
    cached: dict[str, bytes] = field(default_factory=dict)
    unreadable: dict[str, str] = field(default_factory=dict)  # key -> why (never a URL with a secret)


class S3ImageSource:
    """A lazily read S3 object: ``images.read_image_source`` calls :meth:`get` in an OCR worker thread."""

    def __init__(self, s3: S3Hook, bucket: str, key: str) -> None:
        self.s3, self.bucket, self.key = s3, bucket, key

    def get(self) -> dict[str, Any]:
        return self.s3.get_conn().get_object(Bucket=self.bucket, Key=self.key)


def fetch_images(
    s3: S3Hook,
    bucket: str,
    keys: Sequence[str],
    *,
    memory_budget: int = 128 * 1024 * 1024,
    max_workers: int = 8,
) -> FetchedImages:
    """Read and hash every key (a few in parallel); keep bytes up to ``memory_budget`` for the OCR pass.

    Hashing needs the content, and the warehouse decides by content hash what is already done: reading
    first costs an S3 GET, never a billed OCR call. Images past the budget are read again when OCRed.
    """
    fetched = FetchedImages()
    client = s3.get_conn()

    def read(key: str) -> tuple[str, bytes | None, str | None]:
        try:
            return key, client.get_object(Bucket=bucket, Key=key)["Body"].read(), None
        except Exception as exc:  # one missing/forbidden object must not stop the batch
            return key, None, f"{type(exc).__name__}: {getattr(exc, 'response', {}).get('Error', exc)}"

    kept = 0
    with ThreadPoolExecutor(max_workers=max(1, min(max_workers, len(keys)))) as pool:
        for key, data, error in pool.map(read, keys):
            if data is None:
                fetched.unreadable[key] = error or "unreadable"
                continue
            fetched.sha256[key] = hashlib.sha256(data).hexdigest()
            if kept + len(data) <= memory_budget:
                fetched.cached[key] = data
                kept += len(data)
    return fetched


def effective_batch_size(n_images: int, batch_size: int, max_batches: int = MAX_BATCHES) -> int:
    """``batch_size``, raised just enough that ``n_images`` never need more than ``max_batches`` tasks."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    return max(batch_size, math.ceil(n_images / max_batches))


def plan_batches(
    objects: Sequence[ImageObject], batch_size: int, max_batches: int = MAX_BATCHES
) -> list[list[str]]:
    """Cut ``objects`` into batches of about ``batch_size`` keys, at most ``max_batches`` of them.

    Objects with the same ETag (for single-part uploads: the MD5 of the content) go in the same batch,
    so the batch task, which deduplicates by SHA-256, bills the same image under two keys once. A group
    of equal ETags is never split; batches keep the listing's key order otherwise.
    """
    size = effective_batch_size(len(objects), batch_size, max_batches)
    groups: dict[str, list[str]] = defaultdict(list)
    for obj in sorted(objects, key=lambda o: o.key):
        groups[obj.etag or obj.key].append(obj.key)
    batches: list[list[str]] = []
    current: list[str] = []
    for keys in groups.values():
        if current and len(current) + len(keys) > size:
            batches.append(current)
            current = []
        current.extend(keys)
    if current:
        batches.append(current)
    return batches


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


def write_records(s3: S3Hook, records: Iterable[dict[str, Any]], bucket: str, key: str) -> str:
    """Write raw records as one Parquet object (replacing a previous try's) and return its ``s3://`` URI."""
    buffer = io.BytesIO()
    records_frame(records).to_parquet(buffer, engine="pyarrow", index=False)
    s3.load_bytes(buffer.getvalue(), key=key, bucket_name=bucket, replace=True)
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


def manifest_list(manifests: Any) -> list[BatchManifest]:
    """The manifests of a (mapped) task's output as a plain list, without ``None`` entries.

    Indexing up to ``len()`` rather than iterating: iterating Airflow's lazy XCom sequence probes one offset
    past the end and logs a scary "XCom not found" error for it.
    """
    if manifests is None:
        return []
    if isinstance(manifests, dict):
        return [manifests]  # type: ignore[list-item]
    try:
        items = [manifests[i] for i in range(len(manifests))]
    except TypeError:
        items = list(manifests)
    return [m for m in items if m]


def summarize_run(
    manifests: Iterable[BatchManifest | None],
    *,
    n_batches: int | None = None,
    latencies_ms: Iterable[float] | None = None,
) -> dict[str, Any]:
    """One run's numbers from its batch manifests: images seen/skipped/ok/failed by class, billable calls,
    retries, p50/p95 latency (per image, from the staged records) and the achieved QPS over the wall clock
    from the first batch's start to the last one's end (batches may run in parallel)."""
    done = [m for m in manifests if m]
    failed_by_class: dict[str, int] = defaultdict(int)
    for manifest in done:
        for name, count in (manifest.get("failed_by_class") or {}).items():
            failed_by_class[name] += count
    calls = sum(int(m["stats"].get("billable_calls", 0)) for m in done)
    latencies = [float(v) for v in (latencies_ms or []) if v is not None and v == v]  # v == v drops NaN
    starts = [m["started_at"] for m in done if m.get("started_at")]
    ends = [m["finished_at"] for m in done if m.get("finished_at")]
    wall = (max(ends) - min(starts)) if starts and ends else 0.0
    return {
        "batches": len(done) if n_batches is None else n_batches,
        "batches_without_manifest": 0 if n_batches is None else max(0, n_batches - len(done)),
        "batches_failed_after_staging": sum(1 for m in done if m.get("error")),
        "images_seen": sum(m["n_seen"] for m in done),
        "images_skipped": sum(m["n_skipped"] for m in done),
        "images_ok": sum(m["n_ok"] for m in done),
        "images_failed": sum(m["n_failed"] for m in done),
        "failed_by_class": dict(sorted(failed_by_class.items())),
        "billable_calls": calls,
        "retries": sum(int(m["stats"].get("retries", 0)) for m in done),
        "latency_p50_ms": percentile(latencies, 50),
        "latency_p95_ms": percentile(latencies, 95),
        "wall_clock_s": round(wall, 3),
        "achieved_qps": round(calls / wall, 3) if wall > 0 else 0.0,
    }


def format_summary(summary: dict[str, Any]) -> str:
    """The run summary as a few aligned log lines."""
    width = max(len(k) for k in summary)
    return "\n".join(f"  {key:<{width}}  {value}" for key, value in summary.items())


class RunHadFailedBatches(AirflowException):
    """Some OCR batches of the run failed; what the others staged was loaded."""


def finish_run(
    s3: S3Hook,
    manifests: Iterable[BatchManifest | None],
    *,
    n_batches: int | None = None,
    rows_loaded: dict[str, int] | None = None,
    log: Logger,
) -> dict[str, Any]:
    """The last task of an OCR DAG: log the run summary, return it, and fail when a batch failed.

    A batch that failed after staging published its manifest with an ``error``; one that failed earlier
    published none, so ``n_batches`` minus the manifests counts those. The summary is logged first so a
    failed run still says what it did.
    """
    manifests = manifest_list(manifests)
    latencies = read_records(s3, [m.get("uri") for m in manifests], columns=["latency_ms"])["latency_ms"]
    summary = summarize_run(manifests, n_batches=n_batches, latencies_ms=latencies.dropna().tolist())
    summary["rows_loaded"] = dict(rows_loaded or {})
    log.info("Baidu OCR run summary:\n%s", format_summary(summary))
    failed = summary["batches_without_manifest"] + summary["batches_failed_after_staging"]
    if failed:
        errors = sorted({m["error"] for m in manifests if m.get("error")})
        raise RunHadFailedBatches(
            f"{failed} of {summary['batches']} OCR batch(es) failed ({'; '.join(errors) or 'see their logs'}). "
            "Everything that was staged, failed batches included, was loaded."
        )
    return summary


def delete_staged(s3: S3Hook, manifests: Iterable[BatchManifest | None]) -> int:
    """Delete a run's staged files, e.g. raw ID-card responses once the masked tables are loaded."""
    by_bucket: dict[str, list[str]] = defaultdict(list)
    for manifest in manifest_list(manifests):
        if manifest.get("uri"):
            bucket, key = s3.parse_s3_url(manifest["uri"])
            by_bucket[bucket].append(key)
    for bucket, keys in by_bucket.items():
        s3.delete_objects(bucket=bucket, keys=keys)
    return sum(len(keys) for keys in by_bucket.values())
