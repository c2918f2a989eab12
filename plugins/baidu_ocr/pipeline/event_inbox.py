"""The inbox of an event-driven DAG: what its runs were told to OCR, kept in S3 until it is loaded.

The SQS trigger deletes a message as soon as it receives it, so a run that fails (warehouse down, budget
reached, a worker lost) would lose its objects. Its first task therefore writes them to
``s3://<bucket>/<inbox_prefix>/<dag_id>/<run_id>.json`` and the run deletes that entry only once every batch
succeeded and the load went through. Every run (and the DAG's timed catch-up run) also takes the entries
that finished runs left behind; what of them the warehouse already holds costs an S3 GET and no OCR call
(content-hash dedupe), and what those runs staged before they failed is loaded from their staging, not paid
for again (``Adoption.run_ids``). At least once in delivery, exactly once in effect.

The inbox is not under the staging prefix: staged files expire after a few days, an entry must wait for as
long as the warehouse is down. Keys are sealed like the batches' key lists (a key may be named after an ID
number); run ids are not personal and may go to XCom and logs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from baidu_ocr.inputs.sources import ImageObject
from baidu_ocr.pii.connection import DEFAULT_PII_CONN_ID
from baidu_ocr.pipeline.staging import staging_key

if TYPE_CHECKING:
    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

DEFAULT_INBOX_PREFIX = "baidu-ocr-inbox"
ENTRY_SUFFIX = ".json"
# Dag run states of a run still at work on its entry: another run leaves the entry to it.
ACTIVE_RUN_STATES = frozenset({"queued", "running"})
log = logging.getLogger(__name__)


def entry_key(inbox_prefix: str, dag_id: str, run_id: str) -> str:
    """``<inbox_prefix>/<dag_id>/<run_id>.json`` (run-id punctuation made key-safe)."""
    return staging_key(inbox_prefix, dag_id, run_id, "").rstrip("/") + ENTRY_SUFFIX


def write_entry(
    s3: S3Hook,
    bucket: str,
    key: str,
    run_id: str,
    objects: Sequence[ImageObject],
    *,
    pii_conn_id: str | None = DEFAULT_PII_CONN_ID,
    sse: str | None = "AES256",
) -> str:
    """Record ``objects`` as ``run_id``'s to load; return the entry's key."""
    from baidu_ocr.pipeline.s3_batches import key_list_sealer
    from baidu_ocr.pipeline.staging import write_output_file

    listed = key_list_sealer(pii_conn_id)(
        {
            "keys": [o.key for o in objects],
            "etags": [o.etag for o in objects],
            "sizes": [o.size for o in objects],
        }
    )
    body = json.dumps({"run_id": run_id, **listed}, ensure_ascii=False).encode()
    write_output_file(s3, body, bucket, key, content_type="application/json", sse=sse)
    return key


def read_entry(
    s3: S3Hook, bucket: str, key: str, *, pii_conn_id: str | None = DEFAULT_PII_CONN_ID
) -> tuple[str, list[ImageObject]] | None:
    """The run id and objects of an entry, or ``None`` when another run deleted it meanwhile."""
    from baidu_ocr.pipeline.s3_batches import open_key_list
    from baidu_ocr.pipeline.staging import read_object

    body = read_object(s3, bucket, key)
    if body is None:
        return None
    listed = open_key_list(json.loads(body), pii_conn_id)
    objects = [
        ImageObject(key=str(k), etag=str(e), size=int(n))
        for k, e, n in zip(listed["keys"], listed["etags"], listed["sizes"], strict=True)
    ]
    return str(listed["run_id"]), objects


def record_objects(
    s3: S3Hook,
    bucket: str,
    key: str,
    run_id: str,
    objects: Sequence[ImageObject],
    *,
    pii_conn_id: str | None = DEFAULT_PII_CONN_ID,
) -> list[ImageObject]:
    """Record ``objects`` in ``run_id``'s entry, added to what an earlier try of the run recorded there (a
    retry or a cleared run: the events that try read are behind the watermark now, its objects only in the
    entry); return everything the entry holds. No entry is written for nothing."""
    earlier = read_entry(s3, bucket, key, pii_conn_id=pii_conn_id)
    merged = merge_objects(earlier[1] if earlier else [], objects)
    if merged:
        write_entry(s3, bucket, key, run_id, merged, pii_conn_id=pii_conn_id)
    return merged


def unfinished_documents(manifests: Any) -> int:
    """Documents the run's OCR batches did not finish: pages that failed (a batch succeeds under its
    ``max_failure_ratio``) and documents a stop left unsent. Their entries must stay for the next run, which
    sends only those again (what is loaded, or refused as a bad image, is skipped for free). ``manifests``:
    the mapped OCR task's output, whatever shape XCom gives it (``manifests.manifest_list``)."""
    from baidu_ocr.pipeline.manifests import manifest_list

    return sum(int(m.get("n_failed") or 0) + int(m.get("n_left") or 0) for m in manifest_list(manifests))


def list_entries(s3: S3Hook, bucket: str, inbox_prefix: str, dag_id: str) -> list[str]:
    """The keys of the DAG's inbox entries."""
    prefix = entry_key(inbox_prefix, dag_id, "any").rsplit("/", 1)[0] + "/"
    return [k for k in s3.list_keys(bucket_name=bucket, prefix=prefix) or [] if k.endswith(ENTRY_SUFFIX)]


@dataclass
class Adoption:
    """What a run takes on from the inbox: the entries, their objects, and the runs that wrote them (whose
    staging may hold results they paid for before they failed)."""

    entries: list[str] = field(default_factory=list)
    objects: list[ImageObject] = field(default_factory=list)
    run_ids: list[str] = field(default_factory=list)


def adopt_leftovers(
    s3: S3Hook,
    bucket: str,
    entries: Iterable[str],
    own_entry: str,
    run_state: Callable[[str], str | None],
    *,
    pii_conn_id: str | None = DEFAULT_PII_CONN_ID,
) -> Adoption:
    """The entries (and their objects) left by runs that are no longer at work: a run that failed, or one
    deleted from the metadata database (``run_state`` answers ``None``). An entry of a queued or running
    run stays with it (its own clear would otherwise race ours)."""
    adoption = Adoption()
    for key in entries:
        if key == own_entry:
            continue
        try:
            entry = read_entry(s3, bucket, key, pii_conn_id=pii_conn_id)
        except Exception as exc:  # noqa: BLE001 - one entry nobody can open must not stop every later run
            log.error(
                "Inbox entry %s cannot be read (%s): left in place for a person", key, type(exc).__name__
            )
            continue
        if entry is None:
            continue
        run_id, entry_objects = entry
        if run_state(run_id) in ACTIVE_RUN_STATES:
            continue
        adoption.entries.append(key)
        adoption.objects.extend(entry_objects)
        adoption.run_ids.append(run_id)
    return adoption


def merge_objects(*groups: Iterable[ImageObject]) -> list[ImageObject]:
    """One object per key, the latest mention winning (the object as it is now)."""
    merged: dict[str, ImageObject] = {}
    for group in groups:
        for obj in group:
            merged.pop(obj.key, None)
            merged[obj.key] = obj
    return list(merged.values())


def delete_entries(s3: S3Hook, bucket: str, keys: Sequence[str]) -> int:
    """Delete loaded entries (a missing one is not an error: S3 deletes are idempotent)."""
    if keys:
        s3.delete_objects(bucket=bucket, keys=list(keys))
    log.info("Cleared %d inbox entr%s", len(keys), "y" if len(keys) == 1 else "ies")
    return len(keys)


# -- the events watermark -----------------------------------------------------------------------------------
# Airflow queues one asset-triggered run per asset at a time (asset_dag_run_queue, insert-or-ignore) and the
# run consumes the events up to the moment that queue row was made: events that arrive after it but before
# the scheduler creates the run are consumed by no run until another event comes. So each run also reads
# the asset's events newer than the watermark (the task's inlet events), then moves the watermark on.
WATERMARK_SUFFIX = ".watermark"
# Events newer than read time minus this margin are read again by the next run (an event committed a moment
# after its timestamp is never skipped); reading one twice costs nothing (dedupe).
WATERMARK_MARGIN = timedelta(seconds=30)
MAX_EVENTS_PER_RUN = 5000  # 50,000 messages at 10 a poll; a longer backlog goes to the next runs


def watermark_key(inbox_prefix: str, dag_id: str) -> str:
    """``<inbox_prefix>/<dag_id>.watermark`` (beside the entries' folder, not in it)."""
    return entry_key(inbox_prefix, dag_id, "any").rsplit("/", 1)[0] + WATERMARK_SUFFIX


def read_watermark(s3: S3Hook, bucket: str, key: str) -> datetime | None:
    """The time up to which the asset's events were read, ``None`` before the first run wrote one."""
    from baidu_ocr.pipeline.staging import read_object

    body = read_object(s3, bucket, key)
    if body is None:
        return None
    return datetime.fromisoformat(json.loads(body)["events_read_until"])


def write_watermark(s3: S3Hook, bucket: str, key: str, when: datetime, *, sse: str | None = "AES256") -> None:
    from baidu_ocr.pipeline.staging import write_output_file

    body = json.dumps({"events_read_until": when.isoformat()}).encode()
    write_output_file(s3, body, bucket, key, content_type="application/json", sse=sse)


def next_watermark(previous: datetime, read: Sequence[datetime], *, complete: bool = True) -> datetime:
    """Where the next run starts reading: the last event read, less the margin when every event was read (an
    event committed late may carry an earlier time), exactly the last one when a run hit
    ``MAX_EVENTS_PER_RUN``; unmoved when nothing was read; never backwards. Event times only: the worker's
    clock may be skewed against the metadata database's."""
    if not read:
        return previous
    until = max(read) - WATERMARK_MARGIN if complete else max(read)
    return max(previous, until)
