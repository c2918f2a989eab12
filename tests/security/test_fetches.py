"""Issue 11, what the client fetches: result files only from allowed hosts, no redirect, capped; Excel copies
keep the source key's folders; a ``pdf_file`` is checked before any billable call."""

from __future__ import annotations

import io
import json
import uuid

import pytest
import requests
from baidu_ocr.exceptions import BadImage, ConfigError
from baidu_ocr.hooks.ocr import BaiduOcrHook, reset_process_caches

from tests.unit.operators.conftest import BUCKET, context, png

API_KEY, SECRET_KEY = "fetch-api-key", "fetch-secret-key"


@pytest.fixture
def host(monkeypatch) -> str:
    base = f"https://ocr-{uuid.uuid4().hex[:8]}.example.test"
    conn = {"conn_type": "baidu_ocr", "login": API_KEY, "password": SECRET_KEY, "host": base}
    conn["extra"] = {"qps": 1000, "max_retries": 0}
    monkeypatch.setenv("AIRFLOW_CONN_BAIDU_OCR_DEFAULT", json.dumps(conn))
    reset_process_caches()
    yield base
    reset_process_caches()


# -- result downloads ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("{host}/files/req-1.xlsx", True),
        ("https://bj.bcebos.com/v1/ai-edgecloud/req-1.xls?authorization=x", True),
        ("https://aip.baidubce.com/file/req-1.xlsx", True),
        ("https://fs.baidu.com/x.xlsx", True),
        ("http://bj.bcebos.com/x.xlsx", False),  # Baidu's hosts over https only
        ("https://169.254.169.254/latest/meta-data/", False),
        ("http://localhost:5432/", False),
        ("https://bcebos.com.evil.example/x.xlsx", False),
        ("https://evilbaidu.com/x.xlsx", False),
        ("https://aip.baidubce.com@evil.example/x.xlsx", False),
        ("{host}:8443/files/req-1.xlsx", False),  # another port of the same host is another service
        ("file:///etc/passwd", False),
    ],
)
def test_only_the_connection_host_and_baidu_hosts_are_allowed(url, allowed):
    from baidu_ocr.client.downloads import download_allowed

    base = "https://ocr.example.test"
    assert download_allowed(url.format(host=base), base) is allowed


def test_a_disallowed_host_is_refused_before_any_request(requests_mock, host):
    requests_mock.get("http://10.0.0.1/secret.xlsx", content=b"PK")
    with pytest.raises(ConfigError, match="Refusing to download"):
        BaiduOcrHook().download("http://10.0.0.1/secret.xlsx")
    assert requests_mock.call_count == 0


def test_a_redirect_is_not_followed(requests_mock, host):
    requests_mock.get(host + "/files/a.xlsx", status_code=302, headers={"Location": "http://10.0.0.1/"})
    inner = requests_mock.get("http://10.0.0.1/", content=b"internal")
    with pytest.raises(ConfigError, match="redirect"):
        BaiduOcrHook().download(host + "/files/a.xlsx")
    assert inner.call_count == 0


def test_allowed_downloads_still_work(requests_mock, host):
    requests_mock.get(host + "/files/a.xlsx", content=b"PK\x03\x04workbook")
    assert BaiduOcrHook().download(host + "/files/a.xlsx") == b"PK\x03\x04workbook"


def test_the_size_is_capped_by_content_length_and_while_streaming(requests_mock):
    from baidu_ocr.client.downloads import fetch_result_file

    base = "https://ocr.example.test"
    session = requests.Session()
    # Declared over the cap: refused before the body is read (these 4 bytes alone would pass).
    requests_mock.get(base + "/declared.xlsx", content=b"x" * 4, headers={"Content-Length": "10"})
    requests_mock.get(base + "/small.xlsx", content=b"x" * 4, headers={"Content-Length": "4"})
    requests_mock.get(
        base + "/streamed.xlsx", body=io.BytesIO(b"y" * 64)
    )  # no Content-Length: read in chunks
    for path in ("/declared.xlsx", "/streamed.xlsx"):
        with pytest.raises(ConfigError, match="larger than 8 bytes"):
            fetch_result_file(session, base + path, base_url=base, timeout=(1, 1), max_bytes=8)
    assert (
        fetch_result_file(session, base + "/small.xlsx", base_url=base, timeout=(1, 1), max_bytes=8)
        == b"x" * 4
    )


# -- Excel copies keep the source key's folders -------------------------------------------------


def test_excel_copies_of_same_named_images_in_different_folders_do_not_overwrite(s3, scripted_table_hook):
    from baidu_ocr.operators import BaiduOcrTableOperator

    keys = ["tables/2024/scan.png", "tables/2025/scan.png"]
    s3.load_bytes(png(1, (60, 40)), keys[0], BUCKET)
    s3.load_bytes(png(2, (60, 40)), keys[1], BUCKET)
    op = BaiduOcrTableOperator(
        task_id="tables",
        api="form_ocr",  # the async API's copies are named after the image key (table v2's after content)
        bucket=BUCKET,
        keys=keys,
        excel_prefix="excel/",
        poll_interval=0,
        deferrable=False,
    )
    op.execute(context(task_id="tables"))
    assert sorted(s3.list_keys(BUCKET, prefix="excel/")) == [
        "excel/tables/2024/scan.xlsx",
        "excel/tables/2025/scan.xlsx",
    ]
    first = s3.read_key("excel/tables/2024/scan.xlsx", BUCKET)
    assert first != s3.read_key("excel/tables/2025/scan.xlsx", BUCKET)


# -- pdf_file is checked like an image ----------------------------------------------------------


@pytest.mark.parametrize(
    ("pdf", "code"),
    [
        (b"", 216201),
        (b"\x89PNG\r\n\x1a\n not a pdf", 216201),
        (b"%PDF-1.7\n" + bytes(range(256)) * 20_000, 216202),  # ~5 MB once encoded: over the 4 MB default
    ],
)
def test_bad_pdf_files_fail_before_any_call(requests_mock, host, pdf, code):
    token = requests_mock.post(
        host + "/oauth/2.0/token",
        json={"access_token": "24.t", "expires_in": 2592000, "scope": "brain_all_scope"},
    )
    ocr = requests_mock.post(host + "/rest/2.0/ocr/v1/general_basic", json={"words_result": []})
    with pytest.raises(BadImage) as info:
        BaiduOcrHook().ocr(pdf_file=pdf)
    assert info.value.code == code
    assert token.call_count == 0 and ocr.call_count == 0


def test_a_good_pdf_is_sent(requests_mock, host):
    requests_mock.post(
        host + "/oauth/2.0/token",
        json={"access_token": "24.t", "expires_in": 2592000, "scope": "brain_all_scope"},
    )
    ocr = requests_mock.post(host + "/rest/2.0/ocr/v1/general_basic", json={"words_result": []})
    BaiduOcrHook().ocr(pdf_file=b"%PDF-1.4\n%minimal\n", pdf_file_num=1)
    assert ocr.call_count == 1 and "pdf_file=" in ocr.last_request.text
