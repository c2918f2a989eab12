"""BaiduOcrTableJobTrigger: serializes, polls until done, and always ends with exactly one event."""

from __future__ import annotations

import asyncio
import re
import time

import pytest
from baidu_ocr.client.table_jobs import check_table_jobs
from baidu_ocr.exceptions import BadImage, QuotaExhausted, TransientError
from baidu_ocr.triggers.jobs import BaiduOcrTableJobTrigger

from tests.unit.operators.conftest import AsyncAdapter


class PollingHook:
    """``script`` maps a request id to the answers of its successive polls (a dict or an exception)."""

    def __init__(self, script):
        self.script = {rid: list(answers) for rid, answers in script.items()}
        self.polls: list[str] = []

    def get_table_job_result(self, request_id, *, result_type="json"):
        self.polls.append(request_id)
        answers = self.script[request_id]
        answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer


RUNNING = {"ret_code": 2, "percent": 40}
DONE = {"ret_code": 3, "percent": 100, "result_data": "{}"}


def _trigger(jobs, *, deadline_in: float = 60.0) -> BaiduOcrTableJobTrigger:
    return BaiduOcrTableJobTrigger(
        jobs=jobs, carry={"n_seen": len(jobs)}, poll_interval=0, deadline=time.time() + deadline_in
    )


def _events(trigger, hook):
    trigger._client = lambda: AsyncAdapter(hook)

    async def collect():
        return [event async for event in trigger.run()]

    return [e.payload for e in asyncio.run(collect())]


def test_serialize_round_trips_through_init():
    trigger = BaiduOcrTableJobTrigger(
        jobs=[{"key": "t/a.png", "request_id": "r1"}],
        carry={"n_seen": 1},
        baidu_ocr_conn_id="c",
        poll_interval=2.5,
        deadline=1234.5,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "baidu_ocr.triggers.jobs.BaiduOcrTableJobTrigger"
    from airflow.sdk._shared.module_loading import import_string

    rebuilt = import_string(classpath)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert kwargs == {
        "jobs": [{"key": "t/a.png", "request_id": "r1"}],
        "carry": {"n_seen": 1},
        "baidu_ocr_conn_id": "c",
        "poll_interval": 2.5,
        "deadline": 1234.5,
    }


def test_polls_until_every_job_is_done_then_yields_one_success(capfd):
    hook = PollingHook({"r1": [RUNNING, RUNNING, DONE], "r2": [DONE]})
    jobs = [
        {"key": "a", "request_id": "r1"},
        {"key": "b", "request_id": "r2"},
        {"key": "c", "request_id": None},
    ]
    [event] = _events(_trigger(jobs), hook)
    # Each round that leaves jobs running logs a progress line with the time waited so far (structlog: stdout).
    progress = [line for line in capfd.readouterr().out.splitlines() if "table jobs:" in line]
    assert len(progress) == 2 and all(re.search(r"running \(\d+s elapsed\)", line) for line in progress)
    assert event["status"] == "success"
    assert sorted(event["done"]) == ["r1", "r2"]
    assert event["jobs"] == jobs and event["carry"] == {"n_seen": 3}
    assert hook.polls.count("r1") == 3 and hook.polls.count("r2") == 1  # done jobs are not polled again


def test_bad_image_fails_that_job_only_and_transient_errors_are_polled_again():
    hook = PollingHook({"r1": [TransientError("busy"), DONE], "r2": [BadImage("nothing", code=216630)]})
    [event] = _events(_trigger([{"request_id": "r1"}, {"request_id": "r2"}]), hook)
    assert event["status"] == "success"
    assert event["done"] == ["r1"]
    assert event["failed"]["r2"]["error_class"] == "bad_image"
    assert event["failed"]["r2"]["error_code"] == "216630"


def test_deadline_gives_one_timeout_event_naming_pending_jobs():
    hook = PollingHook({"r1": [RUNNING], "r2": [DONE]})
    [event] = _events(_trigger([{"request_id": "r1"}, {"request_id": "r2"}], deadline_in=-1), hook)
    assert event["status"] == "timeout"
    assert event["pending"] == ["r1"] and event["done"] == ["r2"]
    assert "r1" in event["message"]


def test_batch_stopping_error_gives_one_error_event_without_secrets():
    hook = PollingHook({"r1": [QuotaExhausted("Open api daily request limit reached", code=17, conn_id="c")]})
    [event] = _events(_trigger([{"request_id": "r1"}]), hook)
    assert event["status"] == "error"
    assert event["error_class"] == "quota"
    assert "error_code 17" in event["message"] and "access_token" not in event["message"]


def test_check_table_jobs_raises_errors_that_concern_every_job():
    hook = PollingHook({"r1": [QuotaExhausted("quota", code=19)]})
    with pytest.raises(QuotaExhausted):
        check_table_jobs(hook, ["r1"])
