"""The ``baidu-ocr-server`` command: prints its URL first, applies flags, stops cleanly on SIGTERM."""

from __future__ import annotations

import signal

import requests

from .conftest import cli_server, png_bytes


def test_cli_serves_applies_fault_flags_and_exits_0_on_sigterm(tmp_path):
    flags = ["--engine", "fixture", "--samples-dir", str(tmp_path), "--api-key", "cli-key"]
    flags += ["--secret-key", "cli-secret", "--error-rate", "282000=1", "--seed", "1"]
    with cli_server(*flags) as (process, url):
        token = requests.get(
            f"{url}/oauth/2.0/token",
            params={
                "grant_type": "client_credentials",
                "client_id": "cli-key",
                "client_secret": "cli-secret",
            },
            timeout=10,
        ).json()["access_token"]
        import base64

        body = requests.post(
            f"{url}/rest/2.0/ocr/v1/general_basic",
            params={"access_token": token},
            data={"image": base64.b64encode(png_bytes()).decode()},
            timeout=10,
        ).json()
        assert body["error_code"] == 282000
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0
