"""The ``baidu-ocr-server`` command: prints its URL first, applies flags, stops cleanly on SIGTERM."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import requests

from .conftest import png_bytes


def test_cli_serves_applies_fault_flags_and_exits_0_on_sigterm(tmp_path):
    executable = Path(sys.executable).parent / "baidu-ocr-server"
    process = subprocess.Popen(
        [
            str(executable),
            "--port",
            "0",
            "--engine",
            "fixture",
            "--samples-dir",
            str(tmp_path),
            "--api-key",
            "cli-key",
            "--secret-key",
            "cli-secret",
            "--error-rate",
            "282000=1",
            "--seed",
            "1",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        first_line = process.stdout.readline().strip()
        assert first_line.startswith("listening on http://127.0.0.1:")
        url = first_line.removeprefix("listening on ")
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
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
