"""The connection's transport keys (proxies, verify, cert, headers) reach every request both clients send,
through the http provider's sessions, and nothing else of the connection does: no credential as Basic auth,
no Baidu setting as a header."""

from __future__ import annotations

import asyncio
import json
import ssl

import pytest
import trustme
from airflow.sdk import Connection
from baidu_ocr.client.connection import BaiduOcrSettings
from baidu_ocr.client.transport import USER_AGENT, async_http_session, async_ssl, http_session
from baidu_ocr.exceptions import ConfigError
from baidu_ocr.hooks.ocr import BaiduOcrHook, reset_process_caches

from tests.unit.conftest import png

HOST = "https://ocr.transport.example.test"
API_KEY = "transport-api-key"
SECRET_KEY = "transport-secret-key"
PROXY = "http://proxy.corp.example:3128"
TOKEN_BODY = {"access_token": "24.transport-token", "expires_in": 2592000, "scope": "brain_all_scope"}


def settings_of(**extra) -> BaiduOcrSettings:
    conn = Connection(
        conn_id="baidu_ocr_transport",
        conn_type="baidu_ocr",
        login=API_KEY,
        password=SECRET_KEY,
        host=HOST,
        extra=json.dumps(extra),
    )
    return BaiduOcrSettings.from_connection(conn)


@pytest.fixture
def hook_requests(monkeypatch, requests_mock):
    """Point ``baidu_ocr_default`` at :data:`HOST` with ``extra``; return the requests one OCR call sent."""
    reset_process_caches()
    monkeypatch.delenv("REQUESTS_CA_BUNDLE", raising=False)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    requests_mock.post(HOST + "/oauth/2.0/token", json=TOKEN_BODY)
    requests_mock.post(HOST + "/rest/2.0/ocr/v1/general_basic", json={"words_result": []})

    def send(**extra):
        conn = {"conn_type": "baidu_ocr", "login": API_KEY, "password": SECRET_KEY, "host": HOST}
        conn["extra"] = {"max_retries": 0, **extra}
        monkeypatch.setenv("AIRFLOW_CONN_BAIDU_OCR_DEFAULT", json.dumps(conn))
        reset_process_caches()  # each call fetches its token: two requests
        BaiduOcrHook().ocr(png(1))
        return requests_mock.request_history[-2:]

    yield send
    reset_process_caches()


def test_tls_is_verified_by_default(hook_requests):
    token, call = hook_requests()
    assert token.verify is True and call.verify is True
    assert async_ssl(settings_of()) is True


def test_tls_verification_off_or_by_a_ca_bundle_as_the_connection_says(hook_requests, tmp_path):
    assert {r.verify for r in hook_requests(verify=False)} == {False}
    assert async_ssl(settings_of(verify=False)) is False
    bundle = tmp_path / "corporate-ca.pem"
    trustme.CA().cert_pem.write_to_path(str(bundle))
    assert {r.verify for r in hook_requests(verify=str(bundle))} == {str(bundle)}
    context = async_ssl(settings_of(verify=str(bundle)))
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
    assert len(context.get_ca_certs()) == 1  # the bundle's CA, not the system's


def test_proxies_client_certificate_and_headers_go_with_every_request(hook_requests):
    requests = hook_requests(
        proxies={"https": PROXY},
        cert=["/etc/corp/client.crt", "/etc/corp/client.key"],
        headers={"X-Team": "ocr"},
    )
    for request in requests:  # the token request and the OCR call
        assert request.proxies["https"] == PROXY
        assert request.cert == ("/etc/corp/client.crt", "/etc/corp/client.key")
        assert request.headers["X-Team"] == "ocr" and request.headers["User-Agent"] == USER_AGENT


def test_the_connection_wins_over_the_environment(hook_requests, monkeypatch, tmp_path):
    # requests alone would take these over a session's own verify and proxies.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tmp_path / "system-bundle.pem"))
    monkeypatch.setenv("HTTPS_PROXY", "http://environment-proxy.example:8080")
    bundle = str(tmp_path / "connection-bundle.pem")
    for request in hook_requests(verify=bundle, proxies={"https": PROXY}):
        assert request.verify == bundle and request.proxies["https"] == PROXY


def test_one_proxy_url_stands_for_every_scheme(hook_requests):
    settings = settings_of(proxy=PROXY)
    assert settings.proxies == {"http": PROXY, "https": PROXY}
    assert {r.proxies["https"] for r in hook_requests(proxies=PROXY)} == {PROXY}


def test_credentials_and_baidu_settings_are_never_sent_as_auth_or_headers(hook_requests):
    # HttpHook sends login/password as Basic auth and every unknown extra key as a header: not here.
    for request in hook_requests(app_id="10000", qps=50, redis_url="", headers={"X-Team": "ocr"}):
        names = {name.lower() for name in request.headers}
        assert "authorization" not in names
        assert not names & {"app_id", "qps", "max_retries", "redis_url", "headers", "verify"}
        assert SECRET_KEY not in json.dumps(dict(request.headers))


def test_the_connections_user_agent_wins():
    session = http_session(settings_of(headers={"User-Agent": "corp-gateway/1.0"}))
    assert session.headers["User-Agent"] == "corp-gateway/1.0"


def test_the_pool_is_sized_and_retries_are_left_to_the_client():
    adapter = http_session(settings_of(), pool_size=34).get_adapter(HOST)
    assert adapter._pool_maxsize == 34 and adapter.max_retries.total == 0


def test_the_async_session_carries_the_proxy_and_headers_and_no_credentials():
    async def config():
        settings = settings_of(proxies={"https": PROXY, "http": "http://other:1"}, headers={"X-Team": "ocr"})
        async with async_http_session(settings) as http:
            return http.config

    config = asyncio.run(config())
    assert config.base_url == HOST and config.auth is None
    assert config.extra_options == {"proxy": PROXY}  # the proxy for the base URL's scheme
    assert config.headers == {"User-Agent": USER_AGENT, "X-Team": "ocr"}


def test_a_client_certificate_makes_an_ssl_context_for_the_triggerer(tmp_path):
    pem = tmp_path / "client.pem"
    trustme.CA().issue_cert("worker@example.test").private_key_and_cert_chain_pem.write_to_path(str(pem))
    context = async_ssl(settings_of(cert=str(pem)))
    assert isinstance(context, ssl.SSLContext) and context.verify_mode == ssl.CERT_REQUIRED
    with pytest.raises(ConfigError, match="client certificate") as missing:
        async_ssl(settings_of(cert=str(tmp_path / "absent.pem")))
    assert str(tmp_path) not in str(missing.value)


@pytest.mark.parametrize(
    "extra",
    [
        {"proxies": ["http://user:pa55word@proxy:3128"]},
        {"proxies": {"https": "user:pa55word@proxy"}},
        {"cert": ["only-one.pem"]},
        {"headers": ["X-Team: ocr"]},
    ],
)
def test_malformed_transport_keys_fail_naming_the_key_and_never_the_value(extra):
    with pytest.raises(ConfigError, match="'(proxies|cert|headers)'|proxy for") as error:
        settings_of(**extra)
    assert "pa55word" not in str(error.value) and "baidu_ocr_transport" in str(error.value)


def test_a_proxy_password_is_a_secret_of_the_connection():
    settings = settings_of(proxies={"https": "http://svc:pa55word@proxy:3128"})
    assert "pa55word" in settings.secrets
    assert "pa55word" not in repr(settings)
