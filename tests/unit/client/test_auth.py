"""TokenCache: expiry margin, one fetch for many threads, rejected tokens replaced once."""

from __future__ import annotations

import threading

from baidu_ocr.client.auth import AccessToken, TokenCache, cache_key


def token(value: str, expires_at: float = 10_000.0, lifetime: float = 1000.0) -> AccessToken:
    return AccessToken(value=value, expires_at=expires_at, lifetime=lifetime)


def test_refresh_margin_is_ten_percent_capped_at_five_minutes():
    assert not token("t", 1000.0, 100.0).refresh_due(989.0)
    assert token("t", 1000.0, 100.0).refresh_due(991.0)
    month = token("t", 2592000.0, 2592000.0)
    assert not month.refresh_due(2592000.0 - 301) and month.refresh_due(2592000.0 - 299)


def test_cached_until_due_then_refetched():
    now = [0.0]
    cache = TokenCache(clock=lambda: now[0])
    fetched = []

    def fetch():
        fetched.append(1)
        return token(f"t{len(fetched)}", expires_at=now[0] + 1000, lifetime=1000)

    assert cache.get("k", fetch).value == "t1"
    now[0] = 800
    assert cache.get("k", fetch).value == "t1"
    now[0] = 950
    assert cache.get("k", fetch).value == "t2"
    assert len(fetched) == 2


def test_rejected_token_replaced_once_for_all_threads():
    cache = TokenCache(clock=lambda: 0.0)
    calls = []
    gate = threading.Event()

    def fetch():
        calls.append(1)
        gate.wait(1.0)  # hold the lock so the other threads queue up behind this refresh
        return token(f"t{len(calls)}")

    cache.get("k", lambda: token("old"))
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(cache.get("k", fetch, rejected="old").value))
        for _ in range(10)
    ]
    for t in threads:
        t.start()
    gate.set()
    for t in threads:
        t.join()
    assert calls == [1] and results == ["t1"] * 10


def test_cache_key_hides_the_api_key():
    key = cache_key("https://aip.baidubce.com", "my-api-key")
    assert "my-api-key" not in key and key.startswith("baidu_ocr:token:")
    assert key != cache_key("https://aip.baidubce.com", "other-key")
