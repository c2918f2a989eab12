"""Issue 11, credentials: a wrong secret is noticed, no key/secret/token is printed or stored in clear,
server text is redacted, and the SDK client from ``get_conn()`` verifies TLS."""

from __future__ import annotations

import asyncio
import http.client
import io
import json
import logging
import uuid
import warnings

import pytest
from baidu_ocr.client import redact
from baidu_ocr.client.auth import cache_key, qps_key
from baidu_ocr.exceptions import AuthenticationFailed, ConfigError
from baidu_ocr.hooks.ocr import BaiduOcrHook, reset_process_caches
from baidu_ocr_server.testing import running_server
from PIL import Image
from tenacity import wait_none

from tests.services import redis_without_tokens

SDK_SECRET = "sdk-secret-key-abcdef"
SDK_KEY = "sdk-api-key-123456"


def png(seed: int = 1) -> bytes:
    image = Image.new("L", (48, 24), 255)
    image.putpixel((seed % 48, 3), 0)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def set_conn(monkeypatch, host: str, login: str, password: str, **extra) -> None:
    conn = {"conn_type": "baidu_ocr", "login": login, "password": password, "host": host}
    conn["extra"] = {"qps": 1000, "max_retries": 1, **extra}
    monkeypatch.setenv("AIRFLOW_CONN_BAIDU_OCR_DEFAULT", json.dumps(conn))


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    monkeypatch.setattr(BaiduOcrHook, "retry_wait", wait_none())
    reset_process_caches()
    yield
    reset_process_caches()


@pytest.fixture
def pristine_redaction(monkeypatch):
    """This process as a fresh worker sees it: no filter on urllib3's logger, http.client's own print."""
    logger = logging.getLogger("urllib3.connectionpool")
    logger.removeFilter(redact._FILTER)
    if hasattr(http.client, "print"):
        monkeypatch.delattr(http.client, "print")
    yield
    logger.removeFilter(redact._FILTER)
    if hasattr(http.client, "print"):
        del http.client.print


@pytest.fixture
def masked(monkeypatch) -> list[str]:
    """What the hook registers with Airflow's secrets masker."""
    values: list[str] = []
    monkeypatch.setattr("airflow.sdk.log.mask_secret", lambda secret, name=None: values.append(str(secret)))
    return values


# -- the token cache is keyed by the full credentials ------------------------------------------------


def _wrong_secret_is_refused(monkeypatch, **extra) -> None:
    with running_server() as server:
        set_conn(monkeypatch, server.url, server.api_key, server.secret_key, **extra)
        assert BaiduOcrHook().get_access_token()
        set_conn(monkeypatch, server.url, server.api_key, "a-wrong-secret-key", **extra)
        with pytest.raises(AuthenticationFailed):
            BaiduOcrHook().get_access_token()
        ok, message = BaiduOcrHook().test_connection()
        assert not ok and "Client authentication failed" in message
        assert server.stats()["tokens_issued"] == 1


def test_a_wrong_secret_does_not_reuse_the_token_of_the_right_one(monkeypatch):
    _wrong_secret_is_refused(monkeypatch)


def test_a_wrong_secret_does_not_reuse_the_token_shared_through_redis(monkeypatch):
    redis_url = redis_without_tokens()
    _wrong_secret_is_refused(monkeypatch, redis_url=redis_url)
    import redis

    client = redis.Redis.from_url(redis_url)
    keys = b" ".join(client.keys("baidu_ocr:*"))
    assert b"test-api-key" not in keys and b"test-secret-key" not in keys


def test_cache_key_covers_and_hides_every_credential():
    base = "https://aip.baidubce.com"
    key = cache_key(base, "my-api-key", "my-secret-key")
    assert "my-api-key" not in key and "my-secret-key" not in key
    assert key != cache_key(base, "my-api-key", "other-secret-key")
    assert key != cache_key("https://proxy.example", "my-api-key", "my-secret-key")
    # Baidu counts QPS per account: the secret does not split the QPS window.
    assert qps_key(base, "my-api-key") == qps_key(base, "my-api-key")


def test_connection_test_always_asks_for_a_fresh_token(monkeypatch):
    with running_server() as server:
        set_conn(monkeypatch, server.url, server.api_key, server.secret_key)
        BaiduOcrHook().get_access_token()
        assert BaiduOcrHook().test_connection()[0]
        assert server.stats()["tokens_issued"] == 2


# -- masking: every process that touches a key, secret or token masks all three ---------------------


def test_api_key_secret_and_token_are_registered_with_the_masker(monkeypatch, masked):
    with running_server() as server:
        set_conn(monkeypatch, server.url, server.api_key, server.secret_key)
        token = BaiduOcrHook().get_access_token()
    assert {server.api_key, server.secret_key, token} <= set(masked)


def test_a_token_read_from_the_cache_is_masked_by_the_process_reading_it(monkeypatch, masked):
    with running_server() as server:
        set_conn(monkeypatch, server.url, server.api_key, server.secret_key)
        token = BaiduOcrHook().get_access_token()  # another task fetched it
        masked.clear()
        assert BaiduOcrHook().get_access_token() == token
    assert token in masked


def test_a_token_read_from_redis_is_masked(monkeypatch, masked):
    redis_url = redis_without_tokens()
    with running_server() as server:
        set_conn(monkeypatch, server.url, server.api_key, server.secret_key, redis_url=redis_url)
        token = BaiduOcrHook().get_access_token()
        masked.clear()
        reset_process_caches()  # a new worker: nothing in memory, the token only in Redis
        assert BaiduOcrHook().get_access_token() == token
        assert server.stats()["tokens_issued"] == 1
    assert token in masked
    assert redact.redact(f"token {token}") == "token ***"


def _async_token(monkeypatch, server, **extra) -> str:
    """What a triggerer does: the trigger's async client, in a process that never built a hook."""
    from baidu_ocr.hooks.async_client import AsyncBaiduOcrClient

    set_conn(monkeypatch, server.url, server.api_key, server.secret_key, **extra)

    async def token() -> str:
        async with AsyncBaiduOcrClient() as client:
            return await client.access_token()

    return asyncio.run(token())


def test_the_async_client_masks_key_secret_and_a_token_read_from_redis(monkeypatch, masked):
    redis_url = redis_without_tokens()
    with running_server() as server:
        set_conn(monkeypatch, server.url, server.api_key, server.secret_key, redis_url=redis_url)
        token = BaiduOcrHook().get_access_token()  # a worker fetched it
        masked.clear()
        reset_process_caches()  # the triggerer: the token only in Redis
        assert _async_token(monkeypatch, server, redis_url=redis_url) == token
        assert server.stats()["tokens_issued"] == 1
    assert {server.api_key, server.secret_key, token} <= set(masked)


def test_the_async_client_token_request_is_redacted_in_debug_output(
    monkeypatch, caplog, capsys, pristine_redaction, masked
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)
    with running_server() as server:
        token = _async_token(monkeypatch, server)
    printed = capsys.readouterr().out
    assert "/oauth/2.0/token" in caplog.text and "send: b'POST /oauth/2.0/token" in printed
    for secret in (server.api_key, server.secret_key, token):
        assert secret not in caplog.text and secret not in printed


# -- debug output: urllib3 DEBUG and http.client debuglevel ------------------------------------------


def test_sdk_client_requests_are_redacted_in_urllib3_debug_logs(
    monkeypatch, caplog, pristine_redaction, masked
):
    caplog.set_level(logging.DEBUG)
    with running_server() as server:
        set_conn(monkeypatch, server.url, server.api_key, server.secret_key)
        client = BaiduOcrHook().get_conn()
        assert client.basicGeneral(png())["words_result_num"] == 1
        token = client._authObj["access_token"]
    assert "/oauth/2.0/token" in caplog.text  # the SDK's token request was logged...
    for secret in (server.api_key, server.secret_key, token):
        assert secret not in caplog.text  # ...without the credentials
        assert secret in masked  # the SDK's own token too


def test_http_client_debug_prints_are_redacted(monkeypatch, capsys, pristine_redaction):
    monkeypatch.setattr(http.client.HTTPConnection, "debuglevel", 1)
    with running_server() as server:
        set_conn(monkeypatch, server.url, server.api_key, server.secret_key)
        hook = BaiduOcrHook()
        hook.ocr(png())
        token = hook.get_access_token()
        hook.get_conn().basicGeneral(png(2))
    printed = capsys.readouterr().out
    assert "send: b'POST /oauth/2.0/token" in printed and "send: b'GET /oauth/2.0/token" in printed
    assert "access_token=***" in printed
    for secret in (server.api_key, server.secret_key, token):
        assert secret not in printed


# -- server text is redacted before it goes anywhere ----------------------------------------------


@pytest.fixture
def mocked_host(monkeypatch, requests_mock):
    host = f"https://ocr-{uuid.uuid4().hex[:8]}.example.test"
    set_conn(monkeypatch, host, SDK_KEY, SDK_SECRET)
    return host


def _echoing(url_with_token: str) -> str:
    return f"bad request to {url_with_token} (client_secret={SDK_SECRET}, key {SDK_KEY})"


def test_ocr_error_messages_are_redacted(requests_mock, mocked_host):
    token = "24.echoed-token-value"
    requests_mock.post(
        mocked_host + "/oauth/2.0/token",
        json={"access_token": token, "expires_in": 2592000, "scope": "brain_all_scope"},
    )
    url = f"{mocked_host}/rest/2.0/ocr/v1/general_basic?access_token={token}"
    body = {"error_code": 216201, "error_msg": _echoing(url) + f" token {token}", "log_id": 1}
    requests_mock.post(mocked_host + "/rest/2.0/ocr/v1/general_basic", json=body)

    hook = BaiduOcrHook()
    [outcome] = list(hook.ocr_many([("a.png", png())]))
    assert not outcome.ok and outcome.error_code == "216201"
    record = outcome.to_record(endpoint="general_basic", dag_id="d", run_id="r")
    # An unknown code: a config error that fails the task, its message redacted the same way.
    requests_mock.post(mocked_host + "/rest/2.0/ocr/v1/general_basic", json={**body, "error_code": 999999})
    with pytest.raises(ConfigError) as info:
        hook.ocr(png())
    everything = " ".join([outcome.error_msg, record["error_msg"], str(info.value), repr(info.value)])
    assert "access_token=***" in everything
    for secret in (SDK_KEY, SDK_SECRET, token):
        assert secret not in everything


def test_token_endpoint_error_descriptions_are_redacted(requests_mock, mocked_host):
    description = _echoing(f"{mocked_host}/oauth/2.0/token?client_id={SDK_KEY}&client_secret={SDK_SECRET}")
    requests_mock.post(
        mocked_host + "/oauth/2.0/token",
        status_code=401,
        json={"error": "invalid_client", "error_description": description},
    )
    with pytest.raises(AuthenticationFailed) as info:
        BaiduOcrHook().get_access_token()
    text = str(info.value)
    assert "client_secret=***" in text
    assert SDK_KEY not in text and SDK_SECRET not in text


def test_staged_and_normalized_error_messages_are_redacted():
    from baidu_ocr.normalize import normalize_records
    from baidu_ocr.pipeline.records import OcrOutcome

    redact.mask_secret("24.a-known-token-value")
    echoed = "echo https://h/rest?access_token=24.a-known-token-value&x=1 and 24.a-known-token-value"
    failed = OcrOutcome(key="s3://b/k.png", ok=False, error_msg=echoed, content_sha256="a" * 64)
    staged_ok = OcrOutcome(
        key="s3://b/j.png",
        ok=True,
        result={"error_code": 282000, "error_msg": echoed},
        content_sha256="b" * 64,
    )
    records = [o.to_record(endpoint="general_basic") for o in (failed, staged_ok)]
    assert "24.a-known-token-value" not in records[0]["error_msg"]
    documents = normalize_records(records)["ocr_documents"]
    assert documents["error_msg"].notna().all()
    assert not documents["error_msg"].str.contains("a-known-token-value").any()


# -- get_conn(): TLS verified --------------------------------------------------------------------


def test_sdk_client_verifies_tls_on_every_request(requests_mock, mocked_host):
    requests_mock.get(
        mocked_host + "/oauth/2.0/token",
        json={"access_token": "24.sdk", "expires_in": 2592000, "scope": "brain_all_scope"},
    )
    requests_mock.post(mocked_host + "/rest/2.0/ocr/v1/general_basic", json={"words_result": []})
    client = BaiduOcrHook().get_conn()
    client.basicGeneral(png())
    history = requests_mock.request_history
    assert len(history) == 2  # True, or the system CA bundle requests picked from the environment
    assert all(r.verify is True or (isinstance(r.verify, str) and r.verify) for r in history)


def test_sdk_client_uses_the_connections_ca_bundle(monkeypatch, requests_mock, tmp_path):
    bundle = tmp_path / "corporate-ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    host = f"https://ocr-{uuid.uuid4().hex[:8]}.example.test"
    set_conn(monkeypatch, host, SDK_KEY, SDK_SECRET, verify=str(bundle))
    requests_mock.get(
        host + "/oauth/2.0/token",
        json={"access_token": "24.sdk", "expires_in": 2592000, "scope": "brain_all_scope"},
    )
    requests_mock.post(host + "/rest/2.0/ocr/v1/general_basic", json={"words_result": []})
    BaiduOcrHook().get_conn().basicGeneral(png())
    assert {r.verify for r in requests_mock.request_history} == {str(bundle)}


def test_sdk_import_does_not_silence_insecure_request_warnings():
    import urllib3
    from baidu_ocr.client.sdk import make_sdk_client

    with warnings.catch_warnings(record=True) as seen:  # records without changing the filters
        urllib3.disable_warnings()  # what `import aip` does, once per process
        make_sdk_client("", SDK_KEY, SDK_SECRET)
        warnings.warn("unverified request", urllib3.exceptions.InsecureRequestWarning, stacklevel=1)
    assert [w.category for w in seen] == [urllib3.exceptions.InsecureRequestWarning]
