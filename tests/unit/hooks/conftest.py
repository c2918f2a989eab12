"""A ``baidu_ocr_default`` connection pointing at a fake host that ``requests_mock`` answers."""

from __future__ import annotations

import json
import uuid

import pytest
from baidu_ocr.hooks.ocr import BaiduOcrHook, reset_process_caches
from tenacity import wait_none

API_KEY = "unit-api-key-123"
SECRET_KEY = "unit-secret-key-456"


@pytest.fixture
def base_url() -> str:
    # A host per test: token cache and rate-limit keys include it, so tests never share state.
    return f"https://ocr-{uuid.uuid4().hex[:8]}.example.test"


@pytest.fixture
def baidu_conn(monkeypatch, base_url):
    def configure(**extra):
        conn = {
            "conn_type": "baidu_ocr",
            "login": API_KEY,
            "password": SECRET_KEY,
            "host": base_url,
            "extra": {"qps": 1000, "max_retries": 3, **extra},
        }
        monkeypatch.setenv("AIRFLOW_CONN_BAIDU_OCR_DEFAULT", json.dumps(conn))
        return conn

    configure()
    return configure


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch):
    monkeypatch.setattr(BaiduOcrHook, "retry_wait", wait_none())


@pytest.fixture(autouse=True)
def _fresh_process_caches():
    reset_process_caches()
    yield
    reset_process_caches()


def token_body(token: str = "24.token-one", expires_in: int = 2592000) -> dict:
    return {
        "access_token": token,
        "expires_in": expires_in,
        "refresh_token": "25.refresh",
        "scope": "public brain_all_scope vis-ocr_ocr",
        "session_key": "sk",
        "session_secret": "ss",
    }
