"""The events DAG as the DAG processor sees it: the queue it watches comes from a Variable, with the poll
settings the latency needs; without the Variable it still parses and says what to set."""

from __future__ import annotations

import logging

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
