"""S3 notifications through SQS as the events DAG receives them: moto in server mode (the SQS trigger polls
with aiobotocore, which in-process ``mock_aws`` does not intercept), the bucket wired as ``make ui`` and the
cluster wire it, and the DAG's own trigger (``MessageQueueTrigger``, scheme ``sqs``) run once."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import ExitStack

import boto3
import pytest
from baidu_ocr.pipeline.s3_events import select_created_objects
from baidu_ocr_dev.local_services import start_moto, wire_s3_events

pytestmark = pytest.mark.integration

BUCKET = "events-test"


@pytest.fixture(scope="module")
def wired(tmp_path_factory):
    """A moto server whose bucket notifies a queue of what is created under incoming/; the AWS connection.
    One for the module (each test leaves the queue empty)."""
    credentials = {
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    with ExitStack() as stack, pytest.MonkeyPatch.context() as monkeypatch:
        for name, value in credentials.items():
            monkeypatch.setenv(name, value)
        url = start_moto(stack, tmp_path_factory.mktemp("moto"))
        queue_url = wire_s3_events(url, BUCKET)  # raises unless S3's test event reached the queue
        extra = {"endpoint_url": url, "region_name": "us-east-1"}
        monkeypatch.setenv("AIRFLOW_CONN_AWS_DEFAULT", json.dumps({"conn_type": "aws", "extra": extra}))
        yield boto3.client("s3", endpoint_url=url), queue_url


def first_event(trigger, timeout_s: float = 30.0) -> dict:
    async def run() -> dict:
        async for event in trigger.run():
            return event.payload
        raise AssertionError("the trigger ended without an event")

    return asyncio.run(asyncio.wait_for(run(), timeout_s))


def dag_trigger(queue_url: str):
    """The trigger the events DAG watches its queue with, and its poll settings."""
    import importlib.util

    from airflow.providers.common.messaging.triggers.msg_queue import MessageQueueTrigger

    from tests.conftest import REPO_ROOT

    path = REPO_ROOT / "dags" / "baidu_ocr_s3_events_to_warehouse.py"
    spec = importlib.util.spec_from_file_location("events_dag_for_its_poll", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    trigger = MessageQueueTrigger(scheme="sqs", sqs_queue=queue_url, aws_conn_id="aws_default", **module.POLL)
    return trigger, module.POLL


@pytest.mark.exclusive  # times the trigger (< 5 s): beside other tests a busy machine misses it
def test_an_upload_reaches_the_dag_through_the_trigger(wired):
    s3, queue_url = wired
    s3.put_object(Bucket=BUCKET, Key="incoming/发票 01+a.png", Body=b"png")
    s3.put_object(Bucket=BUCKET, Key="elsewhere/b.png", Body=b"png")  # outside the notification's prefix
    trigger, poll = dag_trigger(queue_url)
    started = time.monotonic()
    payload = first_event(trigger)
    # A waiting message is taken in the first round of receives, not after a poll interval.
    assert time.monotonic() - started < poll["wait_time_seconds"] * poll["num_batches"] + 5

    assert payload["status"] == "success"
    selection = select_created_objects(payload["message_batch"], BUCKET, "incoming/")
    assert selection.keys == ["incoming/发票 01+a.png"]  # URL-decoded, the "+" kept
    [obj] = selection.objects
    assert obj.size == 3 and obj.etag


def test_the_trigger_deletes_what_it_received(wired):
    s3, queue_url = wired
    s3.put_object(Bucket=BUCKET, Key="incoming/a.png", Body=b"png")
    first_event(dag_trigger(queue_url)[0])
    sqs = boto3.client("sqs", endpoint_url=s3.meta.endpoint_url)
    attributes = sqs.get_queue_attributes(
        QueueUrl=queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    # Why the DAG keeps an inbox: once received, a message is gone from the queue whatever the run does.
    assert {k: int(v) for k, v in attributes.items()} == {
        "ApproximateNumberOfMessages": 0,
        "ApproximateNumberOfMessagesNotVisible": 0,
    }
