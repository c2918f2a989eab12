"""BaiduOcrHook against mocked HTTP: tokens, every error class, retries, batches, masking."""

from __future__ import annotations

import io
import json
import logging
import threading

import pytest
import requests
from baidu_ocr.exceptions import (
    AuthenticationFailed,
    BadImage,
    ConfigError,
    QuotaExhausted,
    RateLimited,
    ResultFileError,
    TokenError,
    TransientError,
)
from baidu_ocr.hooks.ocr import BaiduOcrHook
from PIL import Image

from .conftest import API_KEY, SECRET_KEY, token_body

GENERAL_BASIC = "/rest/2.0/ocr/v1/general_basic"
OK_BODY = {"log_id": 18446744073709551615, "words_result_num": 1, "words_result": [{"words": "青岛啤酒"}]}


def png_bytes(width: int = 64, height: int = 32, color: int = 200) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (color, color, color)).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def token_mock(requests_mock, base_url):
    return requests_mock.post(base_url + "/oauth/2.0/token", json=token_body())


def ocr_mock(requests_mock, base_url, responses, path=GENERAL_BASIC):
    return requests_mock.post(base_url + path, responses)


def test_init_does_no_io(requests_mock, baidu_conn):
    hook = BaiduOcrHook()
    assert hook.baidu_ocr_conn_id == "baidu_ocr_default"
    assert requests_mock.call_count == 0


def test_settings_from_connection(baidu_conn, base_url):
    baidu_conn(qps=5, timeout=12, app_id="123", redis_url=None)
    settings = BaiduOcrHook().settings
    assert (settings.base_url, settings.qps, settings.timeout, settings.app_id) == (
        base_url,
        5.0,
        12.0,
        "123",
    )
    assert settings.verify is True
    assert SECRET_KEY not in repr(settings) and API_KEY not in repr(settings)


def test_missing_keys_name_the_connection(monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_BAIDU_OCR_DEFAULT", '{"conn_type": "baidu_ocr", "host": "x"}')
    with pytest.raises(ConfigError, match="baidu_ocr_default"):
        _ = BaiduOcrHook().settings


def test_token_is_fetched_once_and_sent(requests_mock, baidu_conn, base_url, token_mock):
    ocr = ocr_mock(requests_mock, base_url, [{"json": OK_BODY}])
    hook = BaiduOcrHook()
    for _ in range(3):
        assert hook.ocr(png_bytes())["words_result"][0]["words"] == "青岛啤酒"
    assert token_mock.call_count == 1
    first = ocr.request_history[0]
    assert first.qs["access_token"] == ["24.token-one"]
    assert first.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert "image=" in first.text
    assert token_mock.request_history[0].qs["grant_type"] == ["client_credentials"]


def test_log_id_keeps_all_64_bits(requests_mock, baidu_conn, base_url, token_mock):
    ocr_mock(requests_mock, base_url, [{"json": OK_BODY}])
    outcome = next(BaiduOcrHook().ocr_many([("a.png", png_bytes())]))
    assert outcome.log_id == "18446744073709551615"


@pytest.mark.parametrize("code", [110, 111, 100])
def test_token_error_refreshes_once_then_retries(requests_mock, baidu_conn, base_url, code):
    tokens = requests_mock.post(
        base_url + "/oauth/2.0/token", [{"json": token_body("24.old")}, {"json": token_body("24.new")}]
    )
    ocr = ocr_mock(
        requests_mock,
        base_url,
        [{"json": {"error_code": code, "error_msg": "Access token expired"}}, {"json": OK_BODY}],
    )
    assert BaiduOcrHook().ocr(png_bytes())["words_result_num"] == 1
    assert tokens.call_count == 2
    assert [r.qs["access_token"][0] for r in ocr.request_history] == ["24.old", "24.new"]


def test_token_error_twice_is_raised(requests_mock, baidu_conn, base_url, token_mock):
    ocr_mock(requests_mock, base_url, [{"json": {"error_code": 110, "error_msg": "Access token invalid"}}])
    with pytest.raises(TokenError):
        BaiduOcrHook().ocr(png_bytes())
    assert token_mock.call_count == 2


def test_token_refreshed_before_expiry(requests_mock, baidu_conn, base_url, monkeypatch):
    import baidu_ocr.client.auth as auth

    now = [1_000_000.0]
    monkeypatch.setattr(auth.time, "time", lambda: now[0])
    monkeypatch.setattr(auth._PROCESS_CACHE, "_clock", lambda: now[0])
    tokens = requests_mock.post(
        base_url + "/oauth/2.0/token", [{"json": token_body("24.a", 100)}, {"json": token_body("24.b", 100)}]
    )
    ocr = ocr_mock(requests_mock, base_url, [{"json": OK_BODY}])
    hook = BaiduOcrHook()
    hook.ocr(png_bytes())
    now[0] += 89  # 11 s left: more than the 10 % margin, still usable
    hook.ocr(png_bytes())
    now[0] += 2  # 9 s left: inside the margin, refreshed before Baidu would answer 111
    hook.ocr(png_bytes())
    assert tokens.call_count == 2
    assert [r.qs["access_token"][0] for r in ocr.request_history] == ["24.a", "24.a", "24.b"]


def test_concurrent_threads_share_one_refresh(requests_mock, baidu_conn, base_url):
    tokens = requests_mock.post(
        base_url + "/oauth/2.0/token", [{"json": token_body("24.old")}, {"json": token_body("24.new")}]
    )
    barrier = threading.Barrier(8)

    def answer(request, context):
        if request.qs["access_token"] == ["24.old"]:
            return {"error_code": 110, "error_msg": "Access token invalid or no longer valid"}
        return OK_BODY

    ocr_mock(requests_mock, base_url, [{"json": answer}])
    hook = BaiduOcrHook()
    hook.get_access_token()  # everyone starts from the old token
    results, errors = [], []

    def worker():
        barrier.wait()
        try:
            results.append(hook.ocr(png_bytes()))
        except Exception as exc:  # collected and asserted below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(results) == 8
    assert tokens.call_count == 2  # the first fetch and ONE shared refresh


@pytest.mark.parametrize("code", [18, 282006])
def test_rate_limited_is_retried(requests_mock, baidu_conn, base_url, token_mock, code):
    ocr = ocr_mock(
        requests_mock,
        base_url,
        [{"json": {"error_code": code, "error_msg": "qps limit"}}] * 2 + [{"json": OK_BODY}],
    )
    hook = BaiduOcrHook()
    assert hook.ocr(png_bytes())["words_result_num"] == 1
    assert ocr.call_count == 3
    assert hook.stats.snapshot()["retries"] == 2
    assert hook.stats.snapshot()["errors_by_class"] == {"rate_limited": 2}


@pytest.mark.parametrize(
    "response",
    [
        {"json": {"error_code": 282000, "error_msg": "internal error"}},
        {"json": {"error_code": 2, "error_msg": "Service temporarily unavailable"}},
        {"status_code": 500, "text": "<html>oops</html>"},
        {"status_code": 502, "json": {}},
        {"status_code": 429, "text": "slow down"},
        {"exc": requests.ConnectionError},
        {"exc": requests.ReadTimeout},
    ],
    ids=["282000", "2", "http500", "http502", "http429", "conn-error", "timeout"],
)
def test_transient_failures_are_retried(requests_mock, baidu_conn, base_url, token_mock, response):
    ocr = ocr_mock(requests_mock, base_url, [response, {"json": OK_BODY}])
    assert BaiduOcrHook().ocr(png_bytes())["words_result_num"] == 1
    assert ocr.call_count == 2


def test_retries_are_bounded(requests_mock, baidu_conn, base_url, token_mock):
    baidu_conn(max_retries=2)
    ocr = ocr_mock(requests_mock, base_url, [{"json": {"error_code": 282000, "error_msg": "internal error"}}])
    with pytest.raises(TransientError) as info:
        BaiduOcrHook().ocr(png_bytes())
    assert ocr.call_count == 3
    assert info.value.code == 282000 and info.value.endpoint == "general_basic"


@pytest.mark.parametrize(
    ("code", "exc_type"),
    [
        (17, QuotaExhausted),
        (19, QuotaExhausted),
        (3, ConfigError),
        (6, ConfigError),
        (14, ConfigError),
        (216100, ConfigError),
        (282003, ConfigError),
        (216201, BadImage),
        (216202, BadImage),
        (216630, BadImage),
        (216633, BadImage),
        (282810, BadImage),
    ],
)
def test_non_retryable_errors_raise_at_once(requests_mock, baidu_conn, base_url, token_mock, code, exc_type):
    ocr = ocr_mock(
        requests_mock, base_url, [{"json": {"error_code": code, "error_msg": "msg", "log_id": 42}}]
    )
    with pytest.raises(exc_type) as info:
        BaiduOcrHook().ocr(png_bytes())
    assert ocr.call_count == 1
    assert info.value.code == code and info.value.log_id == "42"
    assert "baidu_ocr_default" in str(info.value) and "general_basic" in str(info.value)


def test_wrong_keys_say_which_connection_and_why(requests_mock, baidu_conn, base_url):
    requests_mock.post(
        base_url + "/oauth/2.0/token",
        status_code=401,
        json={"error": "invalid_client", "error_description": "unknown client id"},
    )
    with pytest.raises(AuthenticationFailed) as info:
        BaiduOcrHook().ocr(png_bytes())
    message = str(info.value)
    assert "baidu_ocr_default" in message and "unknown client id" in message
    assert SECRET_KEY not in message and API_KEY not in message


def test_token_without_ocr_scope_is_refused(requests_mock, baidu_conn, base_url):
    requests_mock.post(base_url + "/oauth/2.0/token", json={**token_body(), "scope": "public"})
    with pytest.raises(AuthenticationFailed, match="brain_all_scope"):
        BaiduOcrHook().get_access_token()


def test_secrets_never_in_messages_or_logs(requests_mock, baidu_conn, base_url, token_mock, caplog):
    ocr_mock(
        requests_mock, base_url, [{"exc": requests.ConnectionError("boom at /?access_token=24.token-one")}]
    )
    caplog.set_level(logging.DEBUG, logger="airflow.task.hooks")
    with pytest.raises(TransientError) as info:
        BaiduOcrHook().ocr(png_bytes())
    everything = str(info.value) + repr(info.value) + caplog.text
    for secret in (SECRET_KEY, "24.token-one"):
        assert secret not in everything


def test_secrets_are_registered_with_the_masker(requests_mock, baidu_conn, base_url, token_mock, monkeypatch):
    masked = []
    monkeypatch.setattr("airflow.sdk.log.mask_secret", lambda secret, name=None: masked.append(secret))
    BaiduOcrHook().get_access_token()
    assert SECRET_KEY in masked and "24.token-one" in masked


def test_errors_pickle_with_their_attributes():
    import pickle

    for cls in (
        TokenError,
        RateLimited,
        TransientError,
        QuotaExhausted,
        ConfigError,
        BadImage,
        AuthenticationFailed,
        ResultFileError,
    ):
        exc = cls("message", code=18, endpoint="general", conn_id="c", log_id="7")
        back = pickle.loads(pickle.dumps(exc))
        assert type(back) is cls
        assert (back.code, back.endpoint, back.conn_id, back.log_id, str(back)) == (
            18,
            "general",
            "c",
            "7",
            str(exc),
        )


def test_ocr_many_records_per_image_failures(requests_mock, baidu_conn, base_url, token_mock):
    def answer(request, context):
        return OK_BODY if "image=" in request.text else {"error_code": 216200, "error_msg": "empty image"}

    ocr_mock(requests_mock, base_url, [{"json": answer}])
    items = [
        ("good-1.png", png_bytes()),
        ("corrupt.jpg", b"\xff\xd8not a jpeg"),
        ("good-2.png", png_bytes(color=10)),
    ]
    outcomes = {o.key: o for o in BaiduOcrHook().ocr_many(items)}
    assert set(outcomes) == {"good-1.png", "corrupt.jpg", "good-2.png"}
    assert outcomes["good-1.png"].ok and outcomes["good-2.png"].ok
    bad = outcomes["corrupt.jpg"]
    assert not bad.ok and bad.error_class == "bad_image" and bad.error_code == "216201" and bad.attempts == 0
    assert bad.content_sha256 is not None
    assert outcomes["good-1.png"].content_sha256 != outcomes["good-2.png"].content_sha256


def test_ocr_many_exhausted_retries_are_outcomes(requests_mock, baidu_conn, base_url, token_mock):
    baidu_conn(max_retries=1)
    ocr_mock(requests_mock, base_url, [{"json": {"error_code": 18, "error_msg": "qps"}}])
    (outcome,) = BaiduOcrHook().ocr_many([("a.png", png_bytes())])
    assert (outcome.ok, outcome.error_class, outcome.error_code, outcome.attempts) == (
        False,
        "rate_limited",
        "18",
        2,
    )


def test_ocr_many_stops_on_quota_after_yielding_finished(requests_mock, baidu_conn, base_url, token_mock):
    answers = [{"json": OK_BODY}] * 3 + [{"json": {"error_code": 17, "error_msg": "daily limit"}}]
    ocr = ocr_mock(requests_mock, base_url, answers)
    items = [(f"{i}.png", png_bytes(color=i)) for i in range(50)]
    seen = []
    with pytest.raises(QuotaExhausted):
        for outcome in BaiduOcrHook().ocr_many(items, concurrency=1):
            seen.append(outcome)
    assert sorted(o.key for o in seen) == ["0.png", "1.png", "2.png"] and all(o.ok for o in seen)
    assert ocr.call_count == 4  # stopped at once: no call for the other 46 images


def test_ocr_many_reads_items_lazily(requests_mock, baidu_conn, base_url, token_mock):
    ocr_mock(requests_mock, base_url, [{"json": OK_BODY}])
    produced = []

    def items():
        for i in range(40):
            produced.append(i)
            yield f"{i}.png", png_bytes(color=i)

    stream = BaiduOcrHook().ocr_many(items(), concurrency=2)
    next(stream)
    assert len(produced) <= 5  # a bounded window, not the whole generator
    assert len(list(stream)) == 39


def test_unknown_endpoint_fails_before_any_call(requests_mock, baidu_conn):
    with pytest.raises(ConfigError, match="no_such"):
        list(BaiduOcrHook().ocr_many([("a", png_bytes())], endpoint="no_such_endpoint"))
    assert requests_mock.call_count == 0


def test_test_connection(requests_mock, baidu_conn, base_url, token_mock):
    ok, message = BaiduOcrHook().test_connection()
    assert ok and "30.0 days" in message
    requests_mock.post(base_url + "/oauth/2.0/token", status_code=401, json={"error": "invalid_client"})
    ok, message = BaiduOcrHook().test_connection()
    assert not ok and "baidu_ocr_default" in message


def test_get_conn_is_the_sdk_pointed_at_the_connection_host(baidu_conn, base_url):
    client = BaiduOcrHook().get_conn()
    assert client._AipOcr__generalBasicUrl == base_url + GENERAL_BASIC
    assert client._AipBase__accessTokenUrl == base_url + "/oauth/2.0/token"


def test_table_job_submit_and_poll(requests_mock, baidu_conn, base_url, token_mock):
    requests_mock.post(
        base_url + "/rest/2.0/solution/v1/form_ocr/request",
        json={"log_id": 1, "result": [{"request_id": "123_456"}]},
    )
    poll = requests_mock.post(
        base_url + "/rest/2.0/solution/v1/form_ocr/get_request_result",
        json={
            "log_id": 2,
            "result": {
                "request_id": "123_456",
                "ret_code": 3,
                "ret_msg": "已完成",
                "percent": 100,
                "result_data": "{}",
            },
        },
    )
    hook = BaiduOcrHook()
    assert hook.submit_table_job(png_bytes()) == "123_456"
    assert hook.get_table_job_result("123_456")["ret_code"] == 3
    assert poll.last_request.text == "request_id=123_456&result_type=json"


def test_polling_a_table_job_is_a_status_check_not_a_billable_call(
    requests_mock, baidu_conn, base_url, token_mock
):
    requests_mock.post(
        base_url + "/rest/2.0/solution/v1/form_ocr/request",
        json={"log_id": 1, "result": [{"request_id": "1_2"}]},
    )
    requests_mock.post(
        base_url + "/rest/2.0/solution/v1/form_ocr/get_request_result",
        json={"log_id": 2, "result": {"request_id": "1_2", "ret_code": 1, "percent": 0}},
    )
    hook = BaiduOcrHook()
    hook.submit_table_job(png_bytes())
    for _ in range(3):
        hook.get_table_job_result("1_2")
    stats = hook.stats.snapshot()
    assert (stats["billable_calls"], stats["status_checks"]) == (1, 3)


def test_urllib3_debug_lines_are_redacted(caplog):
    from baidu_ocr.client.redact import install_url_redaction

    install_url_redaction()
    caplog.set_level(logging.DEBUG, logger="urllib3.connectionpool")
    logging.getLogger("urllib3.connectionpool").debug(
        '%s://%s:%s "%s %s %s" %s %s',
        "https",
        "aip.baidubce.com",
        443,
        "POST",
        f"/oauth/2.0/token?grant_type=client_credentials&client_id={API_KEY}&client_secret={SECRET_KEY}",
        "HTTP/1.1",
        200,
        120,
    )
    logging.getLogger("urllib3.connectionpool").debug("POST /rest/2.0/ocr/v1/general?access_token=24.abc&x=1")
    assert SECRET_KEY not in caplog.text and API_KEY not in caplog.text and "24.abc" not in caplog.text
    assert "client_secret=***" in caplog.text and "access_token=***&x=1" in caplog.text


def test_missing_required_option_fails_before_any_call(requests_mock, baidu_conn):
    with pytest.raises(ConfigError, match="id_card_side"):
        BaiduOcrHook().ocr(png_bytes(), endpoint="idcard")
    with pytest.raises(ConfigError, match="id_card_side"):
        list(BaiduOcrHook().ocr_many([("a", png_bytes())], endpoint="idcard"))
    assert requests_mock.call_count == 0


IAM_KEY = "bce-v3/ALTAK-unittestkey/0123456789abcdef"


@pytest.mark.parametrize(
    "fields",
    [
        {"password": IAM_KEY},
        {"login": "", "password": IAM_KEY},
        {"extra": {"iam_api_key": IAM_KEY}},
        {"login": "k", "password": "s", "extra": {"iam_api_key": IAM_KEY}},
    ],
    ids=["password", "empty-login", "extra", "extra-beside-the-pair"],
)
def test_an_iam_key_in_the_password_or_the_extra_needs_no_key_pair(fields):
    from airflow.models import Connection
    from baidu_ocr.client.connection import BaiduOcrSettings

    settings = BaiduOcrSettings.from_connection(Connection(conn_id="c", conn_type="baidu_ocr", **fields))
    assert settings.iam_api_key == IAM_KEY and settings.uses_iam_key
    assert IAM_KEY in settings.secrets and settings.account
    assert IAM_KEY not in repr(settings)


def test_an_iam_key_is_sent_as_a_bearer_header_with_no_token_request(requests_mock, monkeypatch, base_url):
    conn = {"conn_type": "baidu_ocr", "password": IAM_KEY, "host": base_url, "extra": {"qps": 100}}
    monkeypatch.setenv("AIRFLOW_CONN_BAIDU_OCR_DEFAULT", json.dumps(conn))
    ocr = requests_mock.post(
        f"{base_url}/rest/2.0/ocr/v1/general_basic", json={"log_id": 1, "words_result": []}
    )

    BaiduOcrHook().post("general_basic", {"image": "aGk="})

    assert [r.url.split("?")[0] for r in requests_mock.request_history] == [ocr.last_request.url]
    assert ocr.last_request.headers["Authorization"] == f"Bearer {IAM_KEY}"
    assert "access_token" not in ocr.last_request.url


@pytest.mark.parametrize("code", [14, 110, 111])
def test_a_refused_iam_key_is_not_refreshed_or_retried(requests_mock, monkeypatch, base_url, code):
    conn = {"conn_type": "baidu_ocr", "password": IAM_KEY, "host": base_url, "extra": {"max_retries": 3}}
    monkeypatch.setenv("AIRFLOW_CONN_BAIDU_OCR_DEFAULT", json.dumps(conn))
    ocr = requests_mock.post(
        f"{base_url}/rest/2.0/ocr/v1/general_basic", json={"error_code": code, "error_msg": "refused"}
    )
    with pytest.raises(AuthenticationFailed, match="connection 'baidu_ocr_default'"):
        BaiduOcrHook().post("general_basic", {"image": "aGk="})
    assert ocr.call_count == 1
