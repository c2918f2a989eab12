"""Concurrent loads of the same documents (issue 10, item 2): each its own loader and connection.

A load replaces a document's child rows; two loads of two versions of one document must not interleave
their delete and insert (stale rows), and a failed attempt racing an ok one must never win.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pandas as pd
import pytest
from baidu_ocr.normalize import normalize_records

from tests.unit.normalize.helpers import failed_record, ok_record

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DOCUMENTS = 200
ROUNDS = 12


def sha(round_no: int, doc: int) -> str:
    return f"{round_no:04d}{doc:060d}"


def version(shas: list[str], n_lines: int) -> dict[str, pd.DataFrame]:
    body = {"words_result": [{"words": f"line {i}"} for i in range(n_lines)]}
    return normalize_records([ok_record(body, endpoint="general_basic", sha=s) for s in shas])


def failed_version(shas: list[str]) -> dict[str, pd.DataFrame]:
    return normalize_records(
        [failed_record(endpoint="general_basic", sha=s, error_class="transient") for s in shas]
    )


def run_together(make_loader: Callable, batches: list[dict[str, pd.DataFrame]]) -> None:
    """Load every batch at once, one thread and one fresh loader (connection) each."""
    loaders = [make_loader() for _ in batches]
    start = threading.Barrier(len(batches))
    errors: list[BaseException] = []

    def run(loader, frames):
        try:
            start.wait(timeout=60)
            loader.load(frames)
        except BaseException as exc:  # reported below, in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=pair) for pair in zip(loaders, batches, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not [t for t in threads if t.is_alive()], "a load did not finish"
    assert not errors, errors


def per_document(loader) -> list[tuple]:
    """(sha, status, n_lines, line rows) for every stored document."""
    documents, lines = loader.table("ocr_documents"), loader.table("ocr_lines")
    sql = (
        f"SELECT d.content_sha256, d.status, d.n_lines, "
        f"(SELECT COUNT(*) FROM {lines} l WHERE l.content_sha256 = d.content_sha256 "
        f"AND l.endpoint = d.endpoint AND l.options_hash = d.options_hash) "
        f"FROM {documents} d ORDER BY d.content_sha256"
    )
    return [tuple(row) for row in loader.hook.get_records(sql)]


def test_concurrent_reloads_of_two_versions_leave_no_stale_child_rows(make_loader):
    make_loader().ensure_schema()
    shas = [sha(0, doc) for doc in range(DOCUMENTS)]
    # The two versions list the documents in opposite orders: the loads must still not deadlock.
    short, long = version(shas, 5), version(shas[::-1], 20)
    for round_no in range(ROUNDS):
        # Alternate which version starts first; both are stored over the previous round's rows.
        run_together(make_loader, [short, long] if round_no % 2 else [long, short])
        rows = per_document(make_loader())
        assert len(rows) == DOCUMENTS
        mismatched = [row for row in rows if row[2] != row[3]]
        assert not mismatched, f"round {round_no}: n_lines != line rows for {len(mismatched)} document(s)"
        assert {row[2] for row in rows} <= {5, 20}


def test_failed_attempt_racing_an_ok_one_never_wins(make_loader):
    make_loader().ensure_schema()
    for round_no in range(ROUNDS):
        # Fresh documents each round, so the race is always on the first store.
        shas = [sha(round_no + 1, doc) for doc in range(DOCUMENTS)]
        ok, failed = version(shas, 5), failed_version(shas)
        run_together(make_loader, [failed, ok] if round_no % 2 else [ok, failed])
        rows = [row for row in per_document(make_loader()) if row[0] in set(shas)]
        assert len(rows) == DOCUMENTS
        lost = [row for row in rows if row[1:] != ("ok", 5, 5)]
        assert not lost, f"round {round_no}: {len(lost)} ok document(s) overwritten, e.g. {lost[0]}"
