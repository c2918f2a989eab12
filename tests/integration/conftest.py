"""Shared fixtures for integration tests: the local Baidu-compatible OCR server, and an Airflow
connection pointing at it.

- ``baidu_ocr_server``: a fresh server (fixture engine over ``include/samples``, no faults) per test.
- ``ocr_server_factory(**options)``: start one with given options (``engine``, ``samples_dir``, ``clock``,
  and any fault: ``latency_ms``, ``qps``, ``token_ttl``, ``daily_quota``, ``error_rates``, ``seed``,
  ``table_job_seconds``); every server started is stopped after the test.
- ``baidu_conn_env(monkeypatch, server, **extra)``: set ``AIRFLOW_CONN_BAIDU_OCR_DEFAULT`` to it
  (``iam=True``: authenticated by the server's IAM API key instead of API Key / Secret Key).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack
from typing import Any

import pytest
from baidu_ocr_server.testing import RunningServer, running_server

from tests.unit.conftest import s3  # noqa: F401  (the moto S3 fixture, for operator tests)

DEFAULT_CONN_EXTRA = {"app_id": "10000000", "qps": 50, "timeout": 10, "max_retries": 3}


@pytest.fixture
def ocr_server_factory() -> Iterator[Callable[..., RunningServer]]:
    with ExitStack() as stack:

        def start(**options: Any) -> RunningServer:
            return stack.enter_context(running_server(**options))

        yield start


@pytest.fixture
def baidu_ocr_server(ocr_server_factory) -> RunningServer:
    return ocr_server_factory(engine="fixture", table_job_seconds=0)


def baidu_conn_env(
    monkeypatch: pytest.MonkeyPatch, server: RunningServer, conn_id: str = "baidu_ocr_default", **extra: Any
) -> str:
    """Point connection ``conn_id`` at ``server``; ``extra`` overrides :data:`DEFAULT_CONN_EXTRA`."""
    connection = server.airflow_connection(**{**DEFAULT_CONN_EXTRA, **extra})
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", connection)
    return conn_id
