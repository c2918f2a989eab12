"""TLS as the connection says, for the hook and the triggerer's client alike: verified by default (a server
whose certificate no system CA signed is refused), the connection's CA bundle trusted, and its client
certificate presented to a server that requires one. Certificates come from trustme; the local server's
connections are wrapped in TLS."""

from __future__ import annotations

import asyncio
import json
import ssl

import pytest
import trustme
from baidu_ocr.exceptions import TransientError
from baidu_ocr.hooks.async_client import AsyncBaiduOcrClient
from baidu_ocr.hooks.ocr import BaiduOcrHook, reset_process_caches
from baidu_ocr_server.server import OcrHttpServer

from tests.conftest import REPO_ROOT
from tests.integration.conftest import DEFAULT_CONN_EXTRA
from tests.unit.conftest import png

TABLE = (REPO_ROOT / "include" / "samples" / "tables" / "table_01.png").read_bytes()


@pytest.fixture(autouse=True)
def _fresh_caches():
    reset_process_caches()
    yield
    reset_process_caches()


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_bundle(ca, tmp_path) -> str:
    path = tmp_path / "corporate-ca.pem"
    ca.cert_pem.write_to_path(str(path))
    return str(path)


def serve_tls(monkeypatch, server, ca: trustme.CA, *, client_certificates: bool = False) -> str:
    """Wrap the server's connections in TLS (a certificate for 127.0.0.1 signed by ``ca``); return its URL.

    The handshake runs in the connection's handler thread, so a refused one stalls nothing."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1").configure_cert(context)
    if client_certificates:
        ca.configure_trust(context)
        context.verify_mode = ssl.CERT_REQUIRED
    http_server = server.http_server

    def finish_request(request, client_address) -> None:
        tls = context.wrap_socket(request, server_side=True)
        OcrHttpServer.finish_request(http_server, tls, client_address)

    monkeypatch.setattr(http_server, "finish_request", finish_request)
    return f"https://127.0.0.1:{http_server.server_address[1]}"


def connect(monkeypatch, server, url: str, **extra) -> None:
    """``baidu_ocr_default`` at ``url``: no retries, so a refused handshake fails the call at once."""
    conn = json.loads(server.airflow_connection(**{**DEFAULT_CONN_EXTRA, "max_retries": 0, **extra}))
    monkeypatch.setenv("AIRFLOW_CONN_BAIDU_OCR_DEFAULT", json.dumps({**conn, "host": url}))


def poll(request_id: str) -> dict:
    async def run() -> dict:
        async with AsyncBaiduOcrClient() as client:
            return await client.get_table_job_result(request_id)

    return asyncio.run(run())


def server_calls(server) -> int:
    stats = server.stats()
    return stats["tokens_issued"] + sum(e["calls"] for e in stats["endpoints"].values())


def test_tls_is_verified_by_default_and_the_connections_ca_bundle_trusted(
    baidu_ocr_server, ca, ca_bundle, monkeypatch
):
    url = serve_tls(monkeypatch, baidu_ocr_server, ca)
    connect(monkeypatch, baidu_ocr_server, url, verify=ca_bundle)
    request_id = BaiduOcrHook().submit_table_job(TABLE)
    assert poll(request_id)["request_id"] == request_id

    connect(monkeypatch, baidu_ocr_server, url)  # no "verify": on, with the system's CAs
    reached = server_calls(baidu_ocr_server)
    with pytest.raises(TransientError):  # the token is cached: this is the OCR call's own handshake
        BaiduOcrHook().ocr(png(1))
    with pytest.raises(TransientError):
        poll(request_id)
    reset_process_caches()
    with pytest.raises(TransientError, match="token endpoint"):
        BaiduOcrHook().ocr(png(2))
    assert server_calls(baidu_ocr_server) == reached  # no request got past a handshake


@pytest.mark.parametrize("form", ["one PEM file", "certificate and key files"])
def test_the_connections_client_certificate_is_presented(
    baidu_ocr_server, ca, ca_bundle, monkeypatch, tmp_path, form
):
    url = serve_tls(monkeypatch, baidu_ocr_server, ca, client_certificates=True)
    client = ca.issue_cert("airflow-worker@example.test")
    if form == "one PEM file":
        cert = str(tmp_path / "client.pem")
        client.private_key_and_cert_chain_pem.write_to_path(cert)
    else:
        cert = [str(tmp_path / "client.crt"), str(tmp_path / "client.key")]
        client.cert_chain_pems[0].write_to_path(cert[0])
        client.private_key_pem.write_to_path(cert[1])

    connect(monkeypatch, baidu_ocr_server, url, verify=ca_bundle, cert=cert)
    request_id = BaiduOcrHook().submit_table_job(TABLE)
    assert poll(request_id)["request_id"] == request_id

    connect(monkeypatch, baidu_ocr_server, url, verify=ca_bundle)  # the same connection without it
    with pytest.raises(TransientError):
        BaiduOcrHook().ocr(png(1))
    with pytest.raises(TransientError):
        poll(request_id)
