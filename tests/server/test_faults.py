"""Every fault knob: the right code, in the right HTTP status, at the right (seeded, bounded) rate."""

from __future__ import annotations

import math
import threading

import pytest
import requests
from baidu_ocr_server.faults import FaultConfig, parse_error_rate
from baidu_ocr_server.testing import FakeClock, running_server

from .conftest import call, get_token


def _binomial_bounds(n: int, p: float, sigmas: float = 4.0) -> tuple[float, float]:
    mean, sd = n * p, math.sqrt(n * p * (1 - p))
    return mean - sigmas * sd, mean + sigmas * sd


def _outcomes(server, token: str, image: bytes, n: int) -> list[str]:
    """One label per call: ``ok``, the Baidu error code, the HTTP status, or ``drop``."""
    labels = []
    session = requests.Session()
    for _ in range(n):
        try:
            response = session.post(
                f"{server.url}/rest/2.0/ocr/v1/general_basic",
                params={"access_token": token},
                data={"image": image},
                timeout=10,
            )
        except requests.ConnectionError:
            labels.append("drop")
            session = requests.Session()
            continue
        if response.status_code != 200:
            labels.append(str(response.status_code))
        else:
            labels.append(str(response.json().get("error_code", "ok")))
    return labels


@pytest.fixture
def b64_document(samples) -> str:
    import base64

    return base64.b64encode(samples["document"]).decode()


def test_error_rates_are_seeded_and_within_binomial_bounds(samples, b64_document):
    rates = ["282000=0.1", "500=0.05", "drop=0.05"]
    runs = []
    for _ in range(2):
        with running_server(samples_dir=samples["dir"], error_rates=rates, seed=7) as server:
            runs.append(_outcomes(server, get_token(server), b64_document, 400))
            stats = server.stats()
    assert runs[0] == runs[1], "the same seed must inject the same faults in the same order"
    labels = runs[0]
    for key, p in (("282000", 0.1), ("500", 0.05), ("drop", 0.05)):
        low, high = _binomial_bounds(400, p)
        assert low <= labels.count(key) <= high, (key, labels.count(key))
        assert stats["errors"][key] == labels.count(key)
    assert set(labels) == {"ok", "282000", "500", "drop"}
    assert stats["endpoints"]["general_basic"]["ok"] == labels.count("ok") == stats["billable"]


def test_injected_baidu_code_is_inside_http_200_with_baidus_message(server, token, samples):
    server.configure(error_rates={"282000": 1.0})
    response = call(server, "general_basic", token, image=samples["document"])
    assert response.status_code == 200
    assert response.json()["error_code"] == 282000
    assert response.json()["error_msg"] == "internal error"


def test_http_500_is_a_real_http_error_without_json(server, token, samples):
    server.configure(error_rates=["500=1"])
    response = call(server, "general_basic", token, image=samples["document"])
    assert response.status_code == 500
    assert "error_code" not in response.text


def test_drop_closes_the_connection_without_a_response(server, token, samples):
    server.configure(error_rates=["drop=1"])
    with pytest.raises(requests.ConnectionError):
        call(server, "general_basic", token, image=samples["document"])
    assert server.stats()["errors"]["drop"] == 1


def test_qps_window_per_endpoint_rejects_with_18_and_rejections_do_not_count(samples):
    clock = FakeClock()
    with running_server(samples_dir=samples["dir"], clock=clock, qps=2) as server:
        token = get_token(server)
        codes = [
            call(server, "general_basic", token, image=samples["document"]).json().get("error_code")
            for _ in range(5)
        ]
        assert codes == [None, None, 18, 18, 18]
        # Baidu counts per API: another endpoint has its own window.
        assert "error_code" not in call(server, "accurate_basic", token, image=samples["document"]).json()
        clock.advance(0.5)
        assert call(server, "general_basic", token, image=samples["document"]).json()["error_code"] == 18
        clock.advance(0.5)  # the two accepted calls leave the window; the rejected ones never entered it
        codes = [
            call(server, "general_basic", token, image=samples["document"]).json().get("error_code")
            for _ in range(3)
        ]
        assert codes == [None, None, 18]
        body = call(server, "general_basic", token, image=samples["document"]).json()
        assert body["error_msg"] == "Open api qps request limit reached"
        stats = server.stats()["endpoints"]["general_basic"]
        assert (stats["accepted"], stats["rejected"]) == (4, 6)


def test_daily_quota_answers_17_and_only_billable_successes_count(samples):
    clock = FakeClock(start=1_700_000_000)
    with running_server(samples_dir=samples["dir"], clock=clock, daily_quota=2) as server:
        token = get_token(server)
        # A refused image is not billed, so it does not use the quota.
        assert call(server, "general_basic", token, image=b"not an image").json()["error_code"] == 216201
        assert "error_code" not in call(server, "general_basic", token, image=samples["document"]).json()
        assert "error_code" not in call(server, "general", token, image=samples["document"]).json()
        refused = call(server, "accurate", token, image=samples["document"]).json()
        assert (refused["error_code"], refused["error_msg"]) == (17, "Open api daily request limit reached")
        assert server.stats()["billable"] == 2
        clock.advance(86_400)  # next day (Beijing time): the quota is back
        assert "error_code" not in call(server, "accurate", token, image=samples["document"]).json()


def test_latency_is_applied_per_ocr_call_and_recorded(samples):
    with running_server(samples_dir=samples["dir"], latency_ms=40) as server:
        token = get_token(server)
        for _ in range(3):
            call(server, "general_basic", token, image=samples["document"])
        latency = server.stats()["latency_ms"]
        assert latency["count"] == 3  # the token call is not an OCR call: no latency there
        assert latency["min"] >= 40


def test_concurrent_requests_are_not_serialized_by_latency(samples):
    """50 calls with 200 ms latency overlap: the server records how many were in flight at once."""
    with running_server(samples_dir=samples["dir"], latency_ms=200) as server:
        token = get_token(server)
        barrier = threading.Barrier(50)
        results: list[int | None] = []

        def one_call() -> None:
            barrier.wait()
            results.append(
                call(server, "general_basic", token, image=samples["document"]).json().get("error_code")
            )

        threads = [threading.Thread(target=one_call) for _ in range(50)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
        assert results == [None] * 50
        stats = server.stats()
        assert stats["max_in_flight"] >= 20, stats["max_in_flight"]
        assert stats["latency_ms"]["count"] == 50


def test_admin_routes_configure_read_and_reset(server, token, samples):
    base = server.url
    config = requests.post(f"{base}/_admin/config", json={"error_rate": ["18=1"], "seed": 3}, timeout=10)
    assert config.status_code == 200 and config.json()["error_rates"] == {"18": 1.0}
    assert call(server, "general_basic", token, image=samples["document"]).json()["error_code"] == 18
    stats = requests.get(f"{base}/_admin/stats", timeout=10).json()
    assert stats["errors"] == {"18": 1}
    assert stats["endpoints"]["general_basic"]["calls"] == 1
    bad = requests.post(f"{base}/_admin/config", json={"no_such_knob": 1}, timeout=10)
    assert bad.status_code == 400
    assert requests.post(f"{base}/_admin/reset", json={}, timeout=10).json() == {"reset": True}
    assert requests.get(f"{base}/_admin/config", timeout=10).json()["error_rates"] == {}
    assert requests.get(f"{base}/_admin/stats", timeout=10).json()["errors"] == {}
    assert "error_code" not in call(server, "general_basic", token, image=samples["document"]).json()


def test_images_are_counted_by_sha256(server, token, samples):
    import hashlib

    for _ in range(2):
        call(server, "general_basic", token, image=samples["document"])
    call(server, "general_basic", token, image=samples["table"])
    images = server.stats()["images"]
    assert images[hashlib.sha256(samples["document"]).hexdigest()] == 2
    assert images[hashlib.sha256(samples["table"]).hexdigest()] == 1


@pytest.mark.parametrize("spec", ["282000", "x=0.1", "500=1.5", "=0.1"])
def test_bad_error_rate_specs_are_refused(spec):
    with pytest.raises(ValueError):
        parse_error_rate(spec)


def test_error_rates_cannot_exceed_one():
    with pytest.raises(ValueError):
        FaultConfig(error_rates={"282000": 0.7, "drop": 0.5})


def test_calls_are_counted_per_whole_second_refused_ones_included(samples):
    """``calls_per_second`` is what a QPS meter sees: every arrival, by whole second of the server's clock."""
    from baidu_ocr_server.qps import qps_seen

    clock = FakeClock(start=1_700_000_000.2)
    with running_server(samples_dir=samples["dir"], clock=clock, qps=2) as server:
        token = get_token(server)
        for step in (0.0, 0.1, 0.1, 0.7, 0.2, 0.2, 0.2, 0.2, 0.5, 0.1):  # seconds between calls
            clock.advance(step)
            call(server, "general_basic", token, image=samples["document"])
        stats = server.stats()
    assert stats["calls_per_second"]["general_basic"] == {
        "1700000000": 3,
        "1700000001": 5,
        "1700000002": 2,
    }
    seen = qps_seen(stats, "general_basic", 2)
    assert (seen.calls, seen.max_in_one_second) == (10, 5)
    assert (seen.first_second, seen.last_second) == (1700000000, 1700000002)
    assert seen.sustained_qps == 5.0  # only the whole second between the first and the last counts
    assert seen.rate_limited == stats["errors"]["18"] > 0
