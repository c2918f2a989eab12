"""The events DAG as the DAG processor sees it: the queue it watches comes from a Variable, with the poll
settings the latency needs; without the Variable it still parses and says what to set."""

from __future__ import annotations

import logging

import pytest

from tests.dags.conftest import SAMPLES_DIR, run_dag
from tests.dags.test_dag_integrity import DAGS_DIR, _import_offline

PATH = DAGS_DIR / "baidu_ocr_s3_events_to_warehouse.py"
QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/baidu-ocr-events"


def watchers(dag) -> list:
    return list(dag.timetable.asset_condition.watchers)


def test_the_queue_from_the_variable_is_watched_with_long_polls(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_BAIDU_OCR_EVENTS_QUEUE_URL", QUEUE)
    module = _import_offline(PATH, monkeypatch)
    [watcher] = watchers(module.dag)
    classpath, kwargs = watcher.trigger.serialize()  # what the triggerer runs: the Amazon SQS trigger
    assert classpath == "airflow.providers.amazon.aws.triggers.sqs.SqsSensorTrigger"
    assert kwargs["sqs_queue"] == QUEUE and kwargs["aws_conn_id"] == "aws_default"
    # Long polls (a message is taken as soon as it arrives), a second apart when the queue is empty: an
    # upload waits at most the polls left in a round, not a poll interval (the provider's default is 60 s).
    assert (
        kwargs["wait_time_seconds"] >= 1 and kwargs["wait_time_seconds"] <= 20 and kwargs["waiter_delay"] <= 5
    )
    assert kwargs["wait_time_seconds"] * (kwargs["num_batches"] - 1) + kwargs["waiter_delay"] <= 10
    # Each event carries several receives of SQS's maximum: a burst drains faster than one event per restart.
    assert kwargs["max_messages"] == 10 and kwargs["num_batches"] > 1
    assert kwargs["delete_message_on_reception"] is True  # hence the inbox
    assert module.dag.max_active_runs == 1


def test_without_the_variable_it_parses_and_says_what_to_set(monkeypatch, caplog):
    monkeypatch.delenv("AIRFLOW_VAR_BAIDU_OCR_EVENTS_QUEUE_URL", raising=False)
    with caplog.at_level(logging.WARNING):
        module = _import_offline(PATH, monkeypatch)
    assert watchers(module.dag) == []
    assert "baidu_ocr_events_queue_url" in caplog.text and "baidu_ocr_events_queue_url" in module.dag.doc_md


def test_the_catch_up_cron_comes_from_its_variable(monkeypatch):
    monkeypatch.setenv("AIRFLOW_VAR_BAIDU_OCR_EVENTS_CATCHUP_CRON", "*/5 * * * *")
    assert _import_offline(PATH, monkeypatch).dag.timetable.timetable.expression == "*/5 * * * *"


@pytest.mark.integration
def test_a_catch_up_run_loads_what_a_failed_run_left_and_clears_its_entry(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse
):
    """No event, one entry left by a run that is gone: the timed catch-up OCRs its objects once, loads them,
    deletes the entry; the next catch-up finds an empty inbox and calls nothing. One batch, as a small
    upload makes: the OCR task's output is then one manifest, which the inbox's clearing must still read."""
    from baidu_ocr.inputs.sources import ImageObject
    from baidu_ocr.pipeline.event_inbox import DEFAULT_INBOX_PREFIX, entry_key, write_entry
    from baidu_ocr.pipeline.s3_batches import s3_hook

    dag_id = PATH.stem
    samples = sorted((SAMPLES_DIR / "documents").glob("doc_0[12].jpg"))
    s3_env.upload({f"incoming/{p.name}": p.read_bytes() for p in samples})
    objects = [
        ImageObject(key=key, etag=head["ETag"].strip('"'), size=head["ContentLength"])
        for key in s3_env.keys("incoming/")
        for head in [s3_env.client.head_object(Bucket=s3_env.bucket, Key=key)]
    ]
    gone_run = "asset_triggered__2026-01-01T00:00:00+00:00_gone"
    inbox = f"{DEFAULT_INBOX_PREFIX}/{dag_id}/"
    write_entry(
        s3_hook("aws_default"),
        s3_env.bucket,
        entry_key(DEFAULT_INBOX_PREFIX, dag_id, gone_run),
        gone_run,
        objects,
    )
    conf = {"bucket": s3_env.bucket, "batch_size": 10}

    run = run_dag(dag_id, conf)

    assert run.state == "success"
    assert int(baidu_ocr_server.stats()["billable"]) == len(samples)
    loaded = sqlite_warehouse.records("SELECT source_uri FROM ocr_documents")
    assert sorted(uri.rsplit("/", 1)[-1] for (uri,) in loaded) == [p.name for p in samples]
    assert [k for k in s3_env.keys(inbox) if k.endswith(".json")] == []

    again = run_dag(dag_id, conf, logical_date=None)

    assert again.state == "success"
    assert int(baidu_ocr_server.stats()["billable"]) == len(samples)
