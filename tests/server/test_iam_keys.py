"""IAM API keys: ``Authorization: Bearer bce-v3/...`` instead of an access token; 14 for a key not configured."""

from __future__ import annotations

import base64
import signal

import requests
from baidu_ocr_server.models import DEFAULT_IAM_API_KEY
from baidu_ocr_server.testing import running_server

from .conftest import call, cli_server, png_bytes

OTHER_KEY = "bce-v3/ALTAK-someoneelse000000000/ffffffffffffffffffffffffffffffffffffffff"


def bearer_call(url: str, key: str, image: bytes, endpoint: str = "general_basic") -> dict:
    return requests.post(
        f"{url}/rest/2.0/ocr/v1/{endpoint}",
        headers={"Authorization": f"Bearer {key}"},
        data={"image": base64.b64encode(image).decode()},
        timeout=30,
    ).json()


def test_the_default_test_key_is_accepted_and_no_token_is_needed(server, samples):
    body = bearer_call(server.url, server.iam_api_key, samples["document"])
    assert server.iam_api_key == DEFAULT_IAM_API_KEY
    assert "error_code" not in body and body["words_result_num"] == 3
    assert server.stats()["tokens_issued"] == 0


def test_a_key_the_account_does_not_have_gets_baidus_iam_error_14(server, samples):
    for key in (OTHER_KEY, server.iam_api_key + "x", "bce-v3/", ""):
        body = bearer_call(server.url, key, samples["document"])
        assert (body["error_code"], body["error_msg"]) == (14, "IAM Certification failed"), key
        assert set(body) == {"log_id", "error_code", "error_msg"}
        assert OTHER_KEY not in str(body)
    assert server.stats()["endpoints"]["general_basic"]["rejected"] == 4
    assert server.stats()["billable"] == 0


def test_access_tokens_keep_working_beside_iam_keys(server, token, samples):
    assert "error_code" not in call(server, "general_basic", token, image=samples["document"]).json()
    # A token in the query is checked first, as before: a wrong token is 110 whatever the header says.
    wrong = requests.post(
        f"{server.url}/rest/2.0/ocr/v1/general_basic",
        params={"access_token": "24.nope"},
        headers={"Authorization": f"Bearer {server.iam_api_key}"},
        data={"image": base64.b64encode(samples["document"]).decode()},
        timeout=30,
    ).json()
    assert wrong["error_code"] == 110


def test_configured_keys_replace_the_default(samples, tmp_path):
    with running_server(engine="fixture", iam_api_keys=(OTHER_KEY,)) as server:
        assert bearer_call(server.url, DEFAULT_IAM_API_KEY, png_bytes())["error_code"] == 14
        assert "error_code" not in bearer_call(server.url, OTHER_KEY, png_bytes())


def test_cli_flag_configures_iam_keys(tmp_path):
    flags = ["--engine", "fixture", "--samples-dir", str(tmp_path), "--iam-api-key", OTHER_KEY]
    with cli_server(*flags) as (process, url):
        assert "error_code" not in bearer_call(url, OTHER_KEY, png_bytes())
        assert bearer_call(url, DEFAULT_IAM_API_KEY, png_bytes())["error_code"] == 14
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
