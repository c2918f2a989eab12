"""S3 event notifications (delivered through SQS) -> the objects an event-driven run should OCR.

Pure: no I/O, no Airflow import. The DAG hands in its ``triggering_asset_events``; each event of an
``AssetWatcher`` on ``MessageQueueTrigger(scheme="sqs")`` carries the raw SQS messages it received in
``extra["payload"]["message_batch"]``, each message's ``Body`` a JSON string:

- ``{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"bucket": {"name": ...}, "object": {"key": ...,
  "size": ..., "eTag": ...}}}]}`` for each created object; keys are URL-encoded (``unquote_plus``);
- ``{"Event": "s3:TestEvent", ...}`` once, when the bucket's notification configuration is set;
- the same S3 event wrapped in an SNS envelope (``{"Type": "Notification", "Message": "<json>"}``) when the
  bucket notifies an SNS topic that the queue subscribes to.

Delivery is at least once (the same upload may arrive twice, every upload of a key sends a message): the
selection collapses duplicates within a run, and the OCR task's content-hash dedupe does the rest.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote_plus

from baidu_ocr.inputs.sources import INPUT_SUFFIXES, ImageObject, is_image_key

CREATED_PREFIX = "ObjectCreated:"  # eventName as S3 sends it (the configuration says "s3:ObjectCreated:*")


@dataclass
class EventSelection:
    """The objects to OCR (one per key, in order of arrival) and why the other records were left out.

    ``counts`` keys: ``messages``, ``records``, ``selected``, ``test_events``, ``other_events`` (not
    ObjectCreated), ``other_bucket``, ``outside_prefix``, ``other_suffix``, ``duplicates``, ``unreadable``
    (a body that is no S3 event).
    """

    objects: list[ImageObject] = field(default_factory=list)
    counts: Counter = field(default_factory=Counter)

    @property
    def keys(self) -> list[str]:
        return [obj.key for obj in self.objects]

    def describe(self) -> str:
        """One log line of counts (no key: a key may be named after an ID number)."""
        order = ("messages", "records", "selected", "duplicates", "test_events", "other_events")
        rest = sorted(k for k in self.counts if k not in order)
        return ", ".join(f"{name} {self.counts[name]}" for name in (*order, *rest) if self.counts[name])


def messages_of_asset_events(events: Iterable[Any]) -> list[Mapping[str, Any]]:
    """The SQS messages of asset events (``triggering_asset_events[asset]``: objects with ``extra``, or
    mappings with an ``"extra"``); events not from a message queue trigger carry none."""
    messages: list[Mapping[str, Any]] = []
    for event in events:
        extra = event.get("extra") if isinstance(event, Mapping) else getattr(event, "extra", None)
        payload = (extra or {}).get("payload") or {}
        batch = payload.get("message_batch") if isinstance(payload, Mapping) else None
        messages.extend(m for m in batch or () if isinstance(m, Mapping))
    return messages


def select_created_objects(
    messages: Iterable[Mapping[str, Any]],
    bucket: str,
    prefix: str = "",
    suffixes: Sequence[str] = INPUT_SUFFIXES,
) -> EventSelection:
    """The objects created in ``bucket`` under ``prefix`` with one of ``suffixes``, once per key (the
    last record of a key wins: it names the object as it is now)."""
    selection = EventSelection()
    counts = selection.counts
    chosen: dict[str, ImageObject] = {}
    for message in messages:
        counts["messages"] += 1
        body = _event_body(message.get("Body"))
        if body is None:
            counts["unreadable"] += 1
            continue
        if body.get("Event") == "s3:TestEvent":
            counts["test_events"] += 1
            continue
        records = body.get("Records")
        if not isinstance(records, list):
            counts["unreadable"] += 1
            continue
        for record in records:
            counts["records"] += 1
            reason, obj = _created_object(record, bucket, prefix, suffixes)
            if obj is None:
                counts[reason] += 1
                continue
            if obj.key in chosen:
                counts["duplicates"] += 1
                del chosen[obj.key]  # re-inserted: arrival order follows the latest record
            chosen[obj.key] = obj
    selection.objects = list(chosen.values())
    counts["selected"] = len(selection.objects)
    return selection


def _event_body(body: Any) -> dict[str, Any] | None:
    """A message body as an S3 event (unwrapping an SNS envelope), or ``None`` when it is none."""
    try:
        parsed = json.loads(body) if isinstance(body, str | bytes) else body
    except ValueError:
        return None
    if isinstance(parsed, dict) and parsed.get("Type") == "Notification" and "Message" in parsed:
        return _event_body(parsed["Message"])
    return parsed if isinstance(parsed, dict) else None


def _created_object(
    record: Any, bucket: str, prefix: str, suffixes: Sequence[str]
) -> tuple[str, ImageObject | None]:
    """``(reason, None)`` for a record to leave out, ``("", object)`` for one to OCR."""
    if not isinstance(record, Mapping):
        return "unreadable", None
    if not str(record.get("eventName", "")).startswith(CREATED_PREFIX):
        return "other_events", None
    s3 = record.get("s3") or {}
    obj = s3.get("object") or {}
    if not isinstance(obj.get("key"), str):
        return "unreadable", None
    if (s3.get("bucket") or {}).get("name") != bucket:
        return "other_bucket", None
    key = unquote_plus(obj["key"])
    if not key.startswith(prefix):
        return "outside_prefix", None
    if not is_image_key(key, suffixes):
        return "other_suffix", None
    try:
        size = int(obj.get("size") or 0)
    except (TypeError, ValueError):
        return "unreadable", None
    return "", ImageObject(key=key, etag=str(obj.get("eTag") or "").strip('"'), size=size)
