"""S3 notifications (as the SQS trigger hands them to a run) -> the objects to OCR."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from baidu_ocr.pipeline.s3_events import messages_of_asset_events, select_created_objects

BUCKET = "invoices"


def record(key: str, *, event: str = "ObjectCreated:Put", bucket: str = BUCKET, etag: str = "e1") -> dict:
    return {
        "eventName": event,
        "s3": {"bucket": {"name": bucket}, "object": {"key": key, "size": 12, "eTag": etag}},
    }


def message(*records: dict) -> dict:
    return {"MessageId": "m", "ReceiptHandle": "r", "Body": json.dumps({"Records": list(records)})}


def test_created_objects_are_selected_with_their_etag_and_size():
    selection = select_created_objects([message(record("in/a.png"), record("in/b.pdf", etag='"e2"'))], BUCKET)
    assert [(o.key, o.etag, o.size) for o in selection.objects] == [
        ("in/a.png", "e1", 12),
        ("in/b.pdf", "e2", 12),
    ]
    assert selection.counts["selected"] == 2 and selection.counts["records"] == 2


def test_keys_are_url_decoded():
    selection = select_created_objects([message(record("in/%E5%8F%91%E7%A5%A8+01%282%29.png"))], BUCKET)
    assert selection.keys == ["in/发票 01(2).png"]


def test_the_test_event_carries_no_object():
    test_event = {"Body": json.dumps({"Service": "Amazon S3", "Event": "s3:TestEvent", "Bucket": BUCKET})}
    selection = select_created_objects([test_event], BUCKET)
    assert selection.objects == [] and selection.counts["test_events"] == 1


@pytest.mark.parametrize(
    "event", ["ObjectRemoved:Delete", "ObjectRestore:Completed", "Replication:OperationFailed"]
)
def test_other_event_types_are_ignored(event):
    selection = select_created_objects([message(record("in/a.png", event=event))], BUCKET)
    assert selection.objects == [] and selection.counts["other_events"] == 1


@pytest.mark.parametrize(
    "event", ["ObjectCreated:Put", "ObjectCreated:Copy", "ObjectCreated:CompleteMultipartUpload"]
)
def test_every_kind_of_creation_counts(event):
    assert select_created_objects([message(record("in/a.png", event=event))], BUCKET).keys == ["in/a.png"]


def test_records_for_another_bucket_are_ignored():
    selection = select_created_objects(
        [message(record("in/a.png", bucket="elsewhere"), record("in/b.png"))], BUCKET
    )
    assert selection.keys == ["in/b.png"] and selection.counts["other_bucket"] == 1


def test_keys_outside_the_prefix_or_the_suffixes_are_ignored():
    records = [record("in/a.png"), record("out/b.png"), record("in/notes.txt"), record("in/C.JPG")]
    selection = select_created_objects([message(*records)], BUCKET, "in/", (".png", ".jpg"))
    assert selection.keys == ["in/a.png", "in/C.JPG"]
    assert selection.counts["outside_prefix"] == 1 and selection.counts["other_suffix"] == 1


def test_duplicates_within_a_batch_collapse_to_the_latest_record():
    first, again = message(record("in/a.png", etag="old")), message(record("in/a.png", etag="new"))
    selection = select_created_objects([first, message(record("in/b.png")), again, again], BUCKET)
    assert [(o.key, o.etag) for o in selection.objects] == [("in/b.png", "e1"), ("in/a.png", "new")]
    assert selection.counts["duplicates"] == 2


def test_an_sns_envelope_is_unwrapped():
    inner = json.dumps({"Records": [record("in/a.png")]})
    sns = {"Body": json.dumps({"Type": "Notification", "TopicArn": "arn:aws:sns:x", "Message": inner})}
    assert select_created_objects([sns], BUCKET).keys == ["in/a.png"]


@pytest.mark.parametrize("body", ["not json", json.dumps([1, 2]), json.dumps({"Something": "else"}), None])
def test_bodies_that_are_no_s3_event_are_counted_not_raised(body):
    selection = select_created_objects([{"Body": body}], BUCKET)
    assert selection.objects == [] and selection.counts["unreadable"] == 1


def test_the_description_counts_without_naming_a_key():
    selection = select_created_objects(
        [message(record("in/110101199003071234.png"), record("in/x.png", event="ObjectRemoved:Delete"))],
        BUCKET,
    )
    line = selection.describe()
    assert "selected 1" in line and "other_events 1" in line and "110101" not in line


def test_messages_come_from_each_event_payload():
    batch = [message(record("in/a.png")), message(record("in/b.png"))]
    events = [
        SimpleNamespace(
            extra={"from_trigger": True, "payload": {"status": "success", "message_batch": batch[:1]}}
        ),
        {"extra": {"payload": {"message_batch": batch[1:]}}},
        SimpleNamespace(extra={}),  # an event not from a queue (a manual asset event)
    ]
    messages = messages_of_asset_events(events)
    assert select_created_objects(messages, BUCKET).keys == ["in/a.png", "in/b.png"]


def test_a_record_with_a_malformed_size_is_counted_not_raised():
    bad = record("in/a.png")
    bad["s3"]["object"]["size"] = "twelve"
    selection = select_created_objects([message(bad, record("in/b.png"))], BUCKET)
    assert [o.key for o in selection.objects] == ["in/b.png"] and selection.counts["unreadable"] == 1
