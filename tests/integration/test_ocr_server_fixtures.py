"""The shared server fixtures work with the provider's own connection parsing."""

from __future__ import annotations

import os

import requests
from baidu_ocr.client.connection import BaiduOcrSettings

from .conftest import baidu_conn_env


def test_baidu_conn_env_points_the_default_connection_at_the_server(monkeypatch, baidu_ocr_server):
    conn_id = baidu_conn_env(monkeypatch, baidu_ocr_server, qps=7)
    from airflow.models.connection import Connection

    raw = os.environ["AIRFLOW_CONN_BAIDU_OCR_DEFAULT"]
    settings = BaiduOcrSettings.from_connection(Connection.from_json(raw, conn_id=conn_id))
    assert settings.base_url == baidu_ocr_server.url
    assert (settings.api_key, settings.secret_key) == (baidu_ocr_server.api_key, baidu_ocr_server.secret_key)
    assert settings.qps == 7
    token = requests.get(
        f"{settings.base_url}/oauth/2.0/token",
        params={
            "grant_type": "client_credentials",
            "client_id": settings.api_key,
            "client_secret": settings.secret_key,
        },
        timeout=10,
    )
    assert token.status_code == 200


def test_factory_starts_servers_with_faults(ocr_server_factory):
    server = ocr_server_factory(qps=3, error_rates={"282000": 0.5}, seed=1)
    assert server.stats()["faults"]["qps"] == 3
    assert server.backend.faults.error_rates == {"282000": 0.5}
