"""Both auth modes against the local server: API Key / Secret Key (30-day token) and an IAM API key
(``Authorization: Bearer bce-v3/...``, no token), through the sync hook and the triggerer's async client."""

from __future__ import annotations

import asyncio
import json
import pickle

import pytest
from baidu_ocr.exceptions import AuthenticationFailed, ConfigError
from baidu_ocr.hooks.async_client import AsyncBaiduOcrClient
from baidu_ocr.hooks.ocr import BaiduOcrHook, reset_process_caches

from tests.conftest import REPO_ROOT
from tests.integration.conftest import DEFAULT_CONN_EXTRA, baidu_conn_env

DOCUMENT = REPO_ROOT / "include" / "samples" / "documents" / "doc_01.jpg"
TABLE = (REPO_ROOT / "include" / "samples" / "tables" / "table_01.png").read_bytes()
WRONG_KEY = "bce-v3/ALTAK-notthisaccount00000000/0000000000000000000000000000000000000000"


@pytest.fixture(autouse=True)
def _fresh_caches():
    reset_process_caches()
    yield
    reset_process_caches()


def _wrong_key_conn(monkeypatch, server, conn_id: str = "baidu_ocr_wrong_key", **extra) -> str:
    conn = json.loads(server.airflow_connection(iam=True, **{**DEFAULT_CONN_EXTRA, **extra}))
    conn["password"] = WRONG_KEY
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))
    return conn_id


@pytest.mark.parametrize("iam", [False, True], ids=["token", "iam_api_key"])
def test_hook_reads_the_same_text_in_both_modes_and_fetches_a_token_only_without_iam(
    baidu_ocr_server, monkeypatch, iam
):
    baidu_conn_env(monkeypatch, baidu_ocr_server, iam=iam)
    hook = BaiduOcrHook()
    truth = json.loads(DOCUMENT.with_suffix(".json").read_text(encoding="utf-8"))

    body = hook.ocr(DOCUMENT.read_bytes())
    outcomes = list(hook.ocr_many([("a", TABLE), ("b", DOCUMENT.read_bytes())], endpoint="table"))

    assert [w["words"] for w in body["words_result"]] == [line["text"] for line in truth["lines"]]
    assert all(o.ok for o in outcomes)
    stats = baidu_ocr_server.stats()
    assert stats["tokens_issued"] == (0 if iam else 1)
    assert hook.stats.snapshot()["token_fetches"] == (0 if iam else 1)
    assert stats["endpoints"]["general_basic"]["ok"] == 1 and stats["endpoints"]["table"]["ok"] == 2


def test_extra_iam_api_key_works_like_the_password(baidu_ocr_server, monkeypatch):
    conn = json.loads(baidu_ocr_server.airflow_connection(**DEFAULT_CONN_EXTRA))
    conn.pop("login"), conn.pop("password")
    conn["extra"]["iam_api_key"] = baidu_ocr_server.iam_api_key
    monkeypatch.setenv("AIRFLOW_CONN_BAIDU_OCR_DEFAULT", json.dumps(conn))

    assert BaiduOcrHook().ocr(DOCUMENT.read_bytes())["words_result_num"] > 0
    assert baidu_ocr_server.stats()["tokens_issued"] == 0


def test_a_wrong_iam_key_fails_at_once_naming_the_connection_never_the_key(baidu_ocr_server, monkeypatch):
    conn_id = _wrong_key_conn(monkeypatch, baidu_ocr_server, max_retries=3)
    hook = BaiduOcrHook(conn_id)

    with pytest.raises(AuthenticationFailed) as raised:
        hook.ocr(DOCUMENT.read_bytes())

    error = raised.value
    assert error.code == 14 and error.conn_id == conn_id
    assert f"connection '{conn_id}'" in str(error) and "IAM API key" in str(error)
    unpickled = pickle.loads(pickle.dumps(error))
    for text in (str(error), repr(error), json.dumps(error.to_dict()), str(unpickled)):
        assert WRONG_KEY not in text and "notthisaccount" not in text
    # No token dance and no retries: one call, refused; nothing was billed.
    stats = baidu_ocr_server.stats()
    assert stats["endpoints"]["general_basic"]["calls"] == 1
    assert (stats["tokens_issued"], stats["token_failures"], stats["billable"]) == (0, 0, 0)
    # A batch stops on it rather than recording it per image.
    with pytest.raises(AuthenticationFailed):
        list(hook.ocr_many([("a", TABLE), ("b", TABLE)], endpoint="table"))


def test_test_connection_in_both_modes(baidu_ocr_server, monkeypatch):
    baidu_conn_env(monkeypatch, baidu_ocr_server, iam=True)
    ok, message = BaiduOcrHook().test_connection()
    assert ok and "IAM API key" in message
    assert baidu_ocr_server.stats()["billable"] == 0  # the probe carries no image: refused, not billed

    ok, message = BaiduOcrHook(_wrong_key_conn(monkeypatch, baidu_ocr_server)).test_connection()
    assert not ok and "baidu_ocr_wrong_key" in message and WRONG_KEY not in message

    baidu_conn_env(monkeypatch, baidu_ocr_server)
    ok, message = BaiduOcrHook().test_connection()
    assert ok and "access token valid for 30.0 days" in message


def test_the_sdk_client_needs_the_key_pair(baidu_ocr_server, monkeypatch):
    baidu_conn_env(monkeypatch, baidu_ocr_server, iam=True)
    with pytest.raises(ConfigError, match="only an IAM API key"):
        BaiduOcrHook().get_conn()
    with pytest.raises(ConfigError, match="no access token"):
        BaiduOcrHook().get_access_token()


@pytest.mark.parametrize("iam", [False, True], ids=["token", "iam_api_key"])
def test_async_client_polls_in_both_modes(baidu_ocr_server, monkeypatch, iam):
    baidu_conn_env(monkeypatch, baidu_ocr_server, iam=iam)
    request_id = BaiduOcrHook().submit_table_job(TABLE)

    async def poll():
        async with AsyncBaiduOcrClient() as client:
            return await client.get_table_job_result(request_id), client.token_fetches

    result, fetches = asyncio.run(poll())
    assert result["request_id"] == request_id and result["ret_code"] in (1, 2, 3)
    assert baidu_ocr_server.stats()["tokens_issued"] == (0 if iam else 1)
    assert fetches == 0  # with a token, the hook's cached one was reused


def test_async_client_with_a_wrong_iam_key_fails_as_the_hook_does(baidu_ocr_server, monkeypatch):
    conn_id = _wrong_key_conn(monkeypatch, baidu_ocr_server)

    async def poll():
        async with AsyncBaiduOcrClient(conn_id) as client:
            await client.get_table_job_result("any-request")

    with pytest.raises(AuthenticationFailed) as raised:
        asyncio.run(poll())
    assert raised.value.code == 14 and raised.value.conn_id == conn_id
    assert f"connection '{conn_id}'" in str(raised.value) and WRONG_KEY not in str(raised.value)
    assert baidu_ocr_server.stats()["tokens_issued"] == 0
