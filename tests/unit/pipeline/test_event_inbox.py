"""The events DAG's inbox: what a run was told to OCR stays in S3 until it is loaded; later runs take on
what finished runs left; the watermark of the asset events read."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from baidu_ocr.inputs.sources import ImageObject
from baidu_ocr.pipeline.event_inbox import (
    WATERMARK_MARGIN,
    Adoption,
    adopt_leftovers,
    delete_entries,
    entry_key,
    list_entries,
    merge_objects,
    next_watermark,
    read_entry,
    read_watermark,
    watermark_key,
    write_entry,
    write_watermark,
)

from tests.unit.conftest import BUCKET

DAG = "events_dag"
NUMBER = "110101199003071234"
PREFIX = "baidu-ocr-inbox"


def objects(*keys: str) -> list[ImageObject]:
    return [ImageObject(key=k, etag=f"etag-{k}", size=len(k)) for k in keys]


def entry(s3, run_id: str, *keys: str) -> str:
    return write_entry(s3, BUCKET, entry_key(PREFIX, DAG, run_id), run_id, objects(*keys), pii_conn_id=None)


def test_an_entry_round_trips_and_lists_under_the_dag(s3):
    key = entry(s3, "asset_triggered__2026-12-06T10:00:00+00:00_abc", "in/a.png", "in/b.pdf")
    assert key.startswith(f"{PREFIX}/{DAG}/") and key.endswith(".json") and ":" not in key
    assert list_entries(s3, BUCKET, PREFIX, DAG) == [key]
    assert read_entry(s3, BUCKET, key, pii_conn_id=None) == (
        "asset_triggered__2026-12-06T10:00:00+00:00_abc",
        objects("in/a.png", "in/b.pdf"),
    )


def test_keys_named_after_id_numbers_are_sealed_in_the_entry(s3, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_BAIDU_OCR_PII", json.dumps({"conn_type": "generic", "password": "k" * 32})
    )
    named = f"in/{NUMBER}_front.png"
    key = write_entry(s3, BUCKET, entry_key(PREFIX, DAG, "run_1"), "run_1", objects(named))
    assert NUMBER not in s3.read_key(key, BUCKET)
    assert read_entry(s3, BUCKET, key) == ("run_1", objects(named))


def test_leftovers_are_entries_of_runs_no_longer_at_work(s3):
    own = entry(s3, "run_now", "in/new.png")
    failed = entry(s3, "run_failed", "in/a.png")
    running = entry(s3, "run_running", "in/b.png")
    gone = entry(s3, "run_deleted", "in/c.png")
    states = {"run_failed": "failed", "run_running": "running", "run_now": "running"}

    adoption = adopt_leftovers(
        s3, BUCKET, list_entries(s3, BUCKET, PREFIX, DAG), own, states.get, pii_conn_id=None
    )
    assert sorted(adoption.entries) == sorted([failed, gone])
    assert sorted(o.key for o in adoption.objects) == ["in/a.png", "in/c.png"]
    assert sorted(adoption.run_ids) == ["run_deleted", "run_failed"]  # their staging is read, not paid again
    assert running not in adoption.entries


def test_an_entry_deleted_meanwhile_is_skipped(s3):
    key = entry(s3, "run_failed", "in/a.png")
    delete_entries(s3, BUCKET, [key])
    assert read_entry(s3, BUCKET, key, pii_conn_id=None) is None
    assert adopt_leftovers(s3, BUCKET, [key], "own", lambda _: "failed", pii_conn_id=None) == Adoption()


def test_merging_keeps_one_object_per_key_the_latest_winning():
    old, new = ImageObject("in/a.png", "old", 1), ImageObject("in/a.png", "new", 2)
    assert merge_objects([old, ImageObject("in/b.png", "b", 1)], [new]) == [
        ImageObject("in/b.png", "b", 1),
        new,
    ]


def test_the_watermark_round_trips_beside_the_entries(s3):
    key = watermark_key(PREFIX, DAG)
    assert read_watermark(s3, BUCKET, key) is None
    when = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    write_watermark(s3, BUCKET, key, when)
    assert read_watermark(s3, BUCKET, key) == when
    entry(s3, "run_1", "in/a.png")
    assert list_entries(s3, BUCKET, PREFIX, DAG) == [entry_key(PREFIX, DAG, "run_1")]  # not an entry


@pytest.mark.parametrize("complete", [True, False])
def test_the_watermark_moves_on_but_never_back(complete):
    previous = datetime(2026, 12, 6, 10, 0, tzinfo=UTC)
    last = previous + timedelta(minutes=2)
    expected = last - WATERMARK_MARGIN if complete else last
    assert next_watermark(previous, [previous + timedelta(minutes=1), last], complete=complete) == expected
    assert next_watermark(last, [], complete=complete) == last  # nothing read: unmoved
    assert next_watermark(last, [previous], complete=complete) == last  # never backwards


def test_a_retried_run_adds_to_its_entry_instead_of_replacing_it(s3):
    from baidu_ocr.pipeline.event_inbox import record_objects

    key = entry_key(PREFIX, DAG, "run_1")
    # Try 1 read a.png from events now behind the watermark, then failed; try 2 reads only b.png.
    assert record_objects(s3, BUCKET, key, "run_1", objects("a.png"), pii_conn_id=None) == objects("a.png")
    held = record_objects(s3, BUCKET, key, "run_1", objects("b.png"), pii_conn_id=None)
    assert sorted(o.key for o in held) == ["a.png", "b.png"]
    assert sorted(o.key for o in read_entry(s3, BUCKET, key, pii_conn_id=None)[1]) == ["a.png", "b.png"]
    assert record_objects(s3, BUCKET, entry_key(PREFIX, DAG, "run_2"), "run_2", [], pii_conn_id=None) == []
    assert list_entries(s3, BUCKET, PREFIX, DAG) == [key]  # nothing recorded, no entry


def test_pages_that_failed_or_were_left_unsent_keep_the_entries():
    from baidu_ocr.pipeline.event_inbox import unfinished_documents

    assert unfinished_documents([{"n_failed": 0}, {"n_failed": 0, "n_left": 0}, None]) == 0
    assert unfinished_documents([{"n_failed": 2}, {"n_failed": 0, "n_left": 3}]) == 5
    assert unfinished_documents({"n_failed": 1, "n_left": 1}) == 2  # XCom's answer when one batch ran


def test_an_entry_nobody_can_open_is_left_in_place_and_the_others_adopted(s3, caplog):
    entry(s3, "run_ok", "a.png")
    broken = entry_key(PREFIX, DAG, "run_broken")
    s3.load_string("not json", broken, BUCKET)
    adoption = adopt_leftovers(
        s3, BUCKET, list_entries(s3, BUCKET, PREFIX, DAG), "own", lambda run: "failed", pii_conn_id=None
    )
    assert adoption.entries == [entry_key(PREFIX, DAG, "run_ok")] and [o.key for o in adoption.objects] == [
        "a.png"
    ]
    assert broken in caplog.text and broken in list_entries(s3, BUCKET, PREFIX, DAG)
