"""Token endpoint and token checks: Baidu's success body, its 401 JSON, 110/111 on OCR calls."""

from __future__ import annotations

import requests
from baidu_ocr_server.testing import FakeClock, running_server

from .conftest import call, get_token


def _token_request(server, method: str = "GET", **params) -> requests.Response:
    query = {
        "grant_type": "client_credentials",
        "client_id": server.api_key,
        "client_secret": server.secret_key,
    }
    query.update(params)
    return requests.request(method, f"{server.url}/oauth/2.0/token", params=query, timeout=10)


def test_token_success_body_like_baidu(server):
    for method in ("GET", "POST"):
        response = _token_request(server, method)
        assert response.status_code == 200
        body = response.json()
        assert body["expires_in"] == 2592000
        assert "brain_all_scope" in body["scope"].split(" ")
        assert {"access_token", "refresh_token", "session_key", "session_secret"} <= set(body)
    assert server.stats()["tokens_issued"] == 2


def test_wrong_credentials_get_401_oauth_json(server):
    unknown = _token_request(server, client_id="nobody")
    assert unknown.status_code == 401
    assert unknown.json() == {"error": "invalid_client", "error_description": "unknown client id"}
    bad_secret = _token_request(server, client_secret="wrong")
    assert bad_secret.status_code == 401
    assert bad_secret.json() == {
        "error": "invalid_client",
        "error_description": "Client authentication failed",
    }
    assert "wrong" not in bad_secret.text
    assert _token_request(server, grant_type="password").status_code == 400
    assert server.stats()["tokens_issued"] == 0


def test_missing_or_unknown_token_is_110(server, samples):
    for token in (None, "24.not-a-token"):
        body = call(server, "general_basic", token, image=samples["document"]).json()
        assert body["error_code"] == 110
        assert body["error_msg"] == "Access token invalid or no longer valid"


def test_token_from_a_previous_server_is_invalid(samples):
    with running_server(samples_dir=samples["dir"]) as first:
        old_token = get_token(first)
    with running_server(samples_dir=samples["dir"]) as second:
        assert call(second, "general_basic", old_token, image=samples["document"]).json()["error_code"] == 110


def test_token_expires_after_token_ttl(samples):
    clock = FakeClock()
    with running_server(samples_dir=samples["dir"], clock=clock, token_ttl=1) as server:
        response = _token_request(server)
        assert response.json()["expires_in"] == 1
        token = response.json()["access_token"]
        assert "error_code" not in call(server, "general_basic", token, image=samples["document"]).json()
        clock.advance(1.0)
        expired = call(server, "general_basic", token, image=samples["document"]).json()
        assert (expired["error_code"], expired["error_msg"]) == (111, "Access token expired")
        assert server.stats()["endpoints"]["general_basic"]["rejected"] == 1
        assert server.stats()["errors"]["111"] == 1


def test_signed_request_with_unknown_access_key_is_14(server, samples):
    headers = {"authorization": "bce-auth-v1/unknown-ak/2024-01-01T00:00:00Z/1800/host/abc"}
    response = requests.post(
        f"{server.url}/rest/2.0/ocr/v1/general_basic", data={"image": "x"}, headers=headers, timeout=10
    )
    assert response.json()["error_code"] == 14
