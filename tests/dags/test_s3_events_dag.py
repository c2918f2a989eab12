"""The events DAG as the DAG processor sees it (the queue it watches comes from a Variable, with the poll
settings the latency needs; without the Variable it still parses and says what to set), and its runs under
``dag.test()`` taking on what runs that are gone or failed left in the inbox."""

from __future__ import annotations

import logging
from pathlib import Path

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


DAG_ID = PATH.stem
INBOX = f"baidu-ocr-inbox/{DAG_ID}/"


def left_by_a_gone_run(s3_env, names=("doc_01.jpg", "doc_02.jpg")) -> list[Path]:
    """Upload samples under incoming/ and write the inbox entry a run that is gone left for them."""
    from baidu_ocr.inputs.sources import ImageObject
    from baidu_ocr.pipeline.event_inbox import DEFAULT_INBOX_PREFIX, entry_key, write_entry
    from baidu_ocr.pipeline.s3_batches import s3_hook

    samples = [SAMPLES_DIR / "documents" / name for name in names]
    s3_env.upload({f"incoming/{p.name}": p.read_bytes() for p in samples})
    objects = [
        ImageObject(key=key, etag=head["ETag"].strip('"'), size=head["ContentLength"])
        for key in s3_env.keys("incoming/")
        for head in [s3_env.client.head_object(Bucket=s3_env.bucket, Key=key)]
    ]
    gone = "asset_triggered__2026-01-01T00:00:00+00:00_gone"
    key = entry_key(DEFAULT_INBOX_PREFIX, DAG_ID, gone)
    write_entry(s3_hook("aws_default"), s3_env.bucket, key, gone, objects)
    return samples


def billable(server) -> int:
    return int(server.stats()["billable"])


def loaded_names(warehouse) -> list[str]:
    return sorted(
        uri.rsplit("/", 1)[-1] for (uri,) in warehouse.records("SELECT source_uri FROM ocr_documents")
    )


def inbox_entries(s3_env) -> list[str]:
    return [k for k in s3_env.keys(INBOX) if k.endswith(".json")]


@pytest.mark.integration
def test_a_catch_up_run_loads_what_a_failed_run_left_and_clears_its_entry(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse
):
    """No event, one entry left by a run that is gone: the timed catch-up OCRs its objects once, loads them,
    deletes the entry; the next catch-up finds an empty inbox and calls nothing. One batch, as a small
    upload makes: the OCR task's output is then one manifest, which the inbox's clearing must still read."""
    samples = left_by_a_gone_run(s3_env)
    conf = {"bucket": s3_env.bucket, "batch_size": 10}

    run = run_dag(DAG_ID, conf)

    assert run.state == "success"
    assert billable(baidu_ocr_server) == len(samples)
    assert loaded_names(sqlite_warehouse) == [p.name for p in samples]
    assert inbox_entries(s3_env) == []

    again = run_dag(DAG_ID, conf, logical_date=None)

    assert again.state == "success"
    assert billable(baidu_ocr_server) == len(samples)


@pytest.mark.integration
def test_what_a_run_paid_for_before_its_load_failed_is_loaded_by_the_next_not_paid_again(
    airflow_db, s3_env, baidu_ocr_server, sqlite_warehouse, monkeypatch
):
    """The warehouse goes down after the OCR staged its results, before the load: the run fails with its
    entry kept. The next run takes the entry on, reads what the failed run staged, calls nothing, loads it."""
    from baidu_ocr.warehouse import WarehouseLoader

    samples = left_by_a_gone_run(s3_env)
    conf = {"bucket": s3_env.bucket, "batch_size": 1}  # one batch per sample: more than one manifest
    up = WarehouseLoader.load

    def down(self, frames):
        raise ConnectionError("the warehouse went down before the load")

    monkeypatch.setattr(WarehouseLoader, "load", down)
    failed = run_dag(DAG_ID, conf)

    assert failed.state == "failed"
    assert billable(baidu_ocr_server) == len(samples)
    assert loaded_names(sqlite_warehouse) == []
    entries = inbox_entries(s3_env)
    assert len(entries) == 2  # the gone run's, and the failed run's (it took the objects on)

    monkeypatch.setattr(WarehouseLoader, "load", up)
    recovered = run_dag(DAG_ID, conf, logical_date=None)

    assert recovered.state == "success"
    assert billable(baidu_ocr_server) == len(samples)  # nothing paid twice
    assert loaded_names(sqlite_warehouse) == [p.name for p in samples]
    assert inbox_entries(s3_env) == []
