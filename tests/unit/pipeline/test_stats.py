"""Call counters and latencies: per endpoint, small enough for XCom, and mergeable across batches and a
deferral (a percentile of percentiles is not a percentile)."""

from __future__ import annotations

import json
import random

import pytest
from baidu_ocr.pipeline.stats import CallStats, add_call_counts, call_counts, latency_figures


def _exact(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, round(q / 100 * len(ordered) + 0.5 - 1e-9) - 1)]


def test_latencies_are_kept_per_endpoint_and_merge_across_batches_within_one_percent():
    rng = random.Random(7)
    batches, everything = [], []
    for _ in range(5):
        stats = CallStats()
        for _ in range(400):
            seconds = rng.lognormvariate(-2.5, 0.8)  # ~80 ms, a long tail
            stats.record_latency(seconds, "general_basic")
            everything.append(seconds * 1000)
        stats.record_latency(0.02, "token")  # another endpoint stays apart
        batches.append(json.loads(json.dumps(stats.snapshot())))  # what crosses XCom

    merged: dict = {}
    for snapshot in batches:
        add_call_counts(merged, snapshot)
    figures = latency_figures(merged)

    assert set(figures) == {"general_basic", "token"}
    assert figures["general_basic"]["calls"] == 2000 and figures["token"]["calls"] == 5
    for q in (50, 95):
        assert figures["general_basic"][f"p{q}"] == pytest.approx(_exact(everything, q), rel=0.01)
    assert figures["token"]["p50"] == pytest.approx(20, rel=0.01)
    assert len(json.dumps(batches[0]["latency_ms_by_endpoint"])) < 2000  # small: a manifest is XCom


def test_latencies_cross_a_deferral_with_the_call_counts():
    """An async operator submits in one process and stages in another: the submit calls' latencies travel
    in the carry with their counts."""
    submit = CallStats()
    submit.record_latency(0.3, "form_ocr_request")
    submit.count_call("async_submit", "form_ocr_request")
    carried = json.loads(json.dumps(call_counts(submit.snapshot())))

    resumed = CallStats().snapshot()
    add_call_counts(resumed, carried)

    assert latency_figures(resumed)["form_ocr_request"]["p50"] == pytest.approx(300, rel=0.01)
    assert resumed["billable_calls"] == 1
