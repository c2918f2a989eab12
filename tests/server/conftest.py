"""Fixtures for the local OCR server's own tests: tiny generated samples with ground truth, a running
server on them, and a helper to call Baidu's paths without the SDK."""

from __future__ import annotations

import base64
import io
import json
import random
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests
from baidu_ocr_server.shapes import gb11643_check_digit
from baidu_ocr_server.testing import running_server
from PIL import Image, ImageDraw

ID_NUMBER_17 = "11010519491231002"
ID_NUMBER = ID_NUMBER_17 + gb11643_check_digit(ID_NUMBER_17)


def png_bytes(width: int = 240, height: int = 80, text: str = "", color: str = "white") -> bytes:
    image = Image.new("RGB", (width, height), color)
    if text:
        ImageDraw.Draw(image).text((8, 8), text, fill="black")
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def _write_sample(directory: Path, name: str, image: bytes, truth: dict) -> bytes:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{name}.png").write_bytes(image)
    (directory / f"{name}.json").write_text(json.dumps(truth, ensure_ascii=False), encoding="utf-8")
    return image


@pytest.fixture(scope="session")
def samples(tmp_path_factory) -> dict:
    """A document, both sides of an ID card and a table with a merged header cell, with ground truth."""
    root = tmp_path_factory.mktemp("samples")
    document = _write_sample(
        root / "documents",
        "doc",
        png_bytes(300, 120, "doc"),
        {
            "kind": "document",
            "lines": [
                {"text": "北京市海淀区", "box": [12, 20, 120, 18]},
                {"text": "Total 99.50", "box": [12, 42, 110, 18]},
                {"text": "far below", "box": [12, 100, 80, 16]},
            ],
        },
    )
    front_fields = {
        "姓名": {"text": "张三", "box": [60, 20, 40, 14]},
        "性别": {"text": "男", "box": [60, 40, 14, 14]},
        "民族": {"text": "汉", "box": [120, 40, 14, 14]},
        "出生": {"text": "19491231", "box": [60, 60, 80, 14]},
        "住址": {"text": "北京市西城区", "box": [60, 80, 120, 14]},
        "公民身份号码": {"text": ID_NUMBER, "box": [90, 120, 180, 14]},
    }
    idcard_front = _write_sample(
        root / "idcards",
        "front",
        png_bytes(320, 200, "front"),
        {
            "kind": "idcard",
            "lines": [{"text": item["text"], "box": item["box"]} for item in front_fields.values()],
            "idcard": {"side": "front", "fields": front_fields},
        },
    )
    back_fields = {
        "签发机关": {"text": "北京市公安局西城分局", "box": [120, 140, 160, 14]},
        "签发日期": {"text": "20150101", "box": [120, 165, 70, 14]},
        "失效日期": {"text": "长期", "box": [200, 165, 40, 14]},
    }
    idcard_back = _write_sample(
        root / "idcards",
        "back",
        png_bytes(320, 200, "back"),
        {
            "kind": "idcard",
            "lines": [{"text": item["text"], "box": item["box"]} for item in back_fields.values()],
            "idcard": {"side": "back", "fields": back_fields},
        },
    )
    cells = [
        {
            "row_start": 0,
            "row_end": 1,
            "col_start": 0,
            "col_end": 2,
            "box": [10, 10, 200, 30],
            "text": "销售清单",
        },
        {
            "row_start": 1,
            "row_end": 2,
            "col_start": 0,
            "col_end": 1,
            "box": [10, 40, 100, 30],
            "text": "品名",
        },
        {
            "row_start": 1,
            "row_end": 2,
            "col_start": 1,
            "col_end": 2,
            "box": [110, 40, 100, 30],
            "text": "数量",
        },
        {
            "row_start": 2,
            "row_end": 3,
            "col_start": 0,
            "col_end": 1,
            "box": [10, 70, 100, 30],
            "text": "苹果",
        },
        {"row_start": 2, "row_end": 3, "col_start": 1, "col_end": 2, "box": [110, 70, 100, 30], "text": "3"},
    ]
    table = _write_sample(
        root / "tables",
        "table",
        png_bytes(220, 110, "table"),
        {
            "kind": "table",
            "lines": [{"text": cell["text"], "box": cell["box"]} for cell in cells],
            "tables": [{"box": [10, 10, 200, 90], "cells": cells}],
        },
    )
    broken = _write_sample(
        root / "broken", "unreadable", png_bytes(100, 40, "x"), {"kind": "broken", "expect_error": 216630}
    )
    return {
        "dir": root,
        "document": document,
        "idcard_front": idcard_front,
        "idcard_back": idcard_back,
        "table": table,
        "broken": broken,
    }


@pytest.fixture
def server(samples):
    with running_server(samples_dir=samples["dir"], table_job_seconds=0) as running:
        yield running


def get_token(server) -> str:
    response = requests.get(
        f"{server.url}/oauth/2.0/token",
        params={
            "grant_type": "client_credentials",
            "client_id": server.api_key,
            "client_secret": server.secret_key,
        },
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["access_token"]


@pytest.fixture
def token(server) -> str:
    return get_token(server)


def call(
    server, endpoint: str, token: str | None, *, path: str = "/rest/2.0/ocr/v1/", **form
) -> requests.Response:
    """POST like Baidu's clients: form-encoded body, ``access_token`` in the query."""
    if isinstance(form.get("image"), bytes):
        form["image"] = base64.b64encode(form["image"]).decode()
    params = {"access_token": token} if token else {}
    return requests.post(f"{server.url}{path}{endpoint}", params=params, data=form, timeout=30)


@contextmanager
def cli_server(*flags: str) -> Iterator[tuple[subprocess.Popen, str]]:
    """``baidu-ocr-server`` as its own process on a free port: yields it and its URL (the first line it
    prints). The test may stop it (SIGTERM) to check the exit; whatever is left running is killed here."""
    executable = Path(sys.executable).parent / "baidu-ocr-server"
    process = subprocess.Popen(
        [str(executable), "--port", "0", *flags], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    try:
        first_line = process.stdout.readline().strip()
        assert first_line.startswith("listening on http://127.0.0.1:"), first_line
        yield process, first_line.removeprefix("listening on ")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident memory so far (``VmHWM``), in MB, read from outside it."""
    status = Path(f"/proc/{pid}/status").read_text()
    line = next(line for line in status.splitlines() if line.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024


def shared_image_pdf(pages: int, width: int, height: int) -> bytes:
    """A PDF of ``pages`` pages of ``width`` x ``height`` points that all draw one noise JPEG: a small file
    whose pages are large once rendered (and compress badly as PNG, as scans do)."""
    noise = Image.frombytes("RGB", (width, height), random.Random(0).randbytes(width * height * 3))
    buffer = io.BytesIO()
    noise.save(buffer, "JPEG", quality=5)
    jpeg = buffer.getvalue()
    drawing = f"q {width} 0 0 {height} 0 0 cm /Im0 Do Q".encode()
    kids = " ".join(f"{5 + n} 0 R" for n in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        f"<< /Type /XObject /Subtype /Image /Width {width} /Height {height} /ColorSpace /DeviceRGB "
        f"/BitsPerComponent 8 /Filter /DCTDecode /Length {len(jpeg)} >>\nstream\n".encode()
        + jpeg
        + b"\nendstream",
        f"<< /Length {len(drawing)} >>\nstream\n".encode() + drawing + b"\nendstream",
    ]
    page = (
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {width} {height}] /Contents 4 0 R "
        "/Resources << /XObject << /Im0 3 0 R >> >> >>"
    ).encode()
    objects += [page] * pages
    out = io.BytesIO(b"%PDF-1.7\n")
    out.seek(0, io.SEEK_END)
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    out.write("".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return out.getvalue()
