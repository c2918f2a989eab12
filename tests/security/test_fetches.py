"""Issues 11 and 21, what the client fetches: result files only from allowed hosts (the host the HTTP client
really connects to), no redirect, capped in size and in time; form_ocr workbooks named by content, not by
source key; a ``pdf_file`` is checked before any billable call."""

from __future__ import annotations

import io
import json
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from baidu_ocr.exceptions import BadImage, BaiduOcrError, TransientError
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
        # The authority as requests (urllib3) reads it ends at the backslash: it would connect to evil.example.
        ("https://evil.example\\@aip.baidubce.com/x.xls", False),
        ("https://evil.example:443\\@ocr.example.test/x.xls", False),
        ("https://user@aip.baidubce.com/x.xlsx", False),  # no credentials in a result file's URL
        ("https://aip.baidubce.com%40evil.example/x.xlsx", False),
        ("https://aip.baidubce.com /x.xlsx", False),
        ("https://ocr.example.test\t/x.xlsx", False),
        ("https://ocr.example.test\n@evil.example/x.xlsx", False),
    ],
)
def test_only_the_connection_host_and_baidu_hosts_are_allowed(url, allowed):
    from baidu_ocr.client.downloads import download_allowed

    base = "https://ocr.example.test"
    assert download_allowed(url.format(host=base), base) is allowed


def test_a_disallowed_host_is_refused_before_any_request(requests_mock, host):
    requests_mock.get("http://10.0.0.1/secret.xlsx", content=b"PK")
    with pytest.raises(BaiduOcrError, match="Refusing to download") as info:
        BaiduOcrHook().download("http://10.0.0.1/secret.xlsx")
    assert info.value.error_class == "result_file"  # that document's failure, not the connection's
    assert requests_mock.call_count == 0


def test_a_redirect_is_not_followed(requests_mock, host):
    requests_mock.get(host + "/files/a.xlsx", status_code=302, headers={"Location": "http://10.0.0.1/"})
    inner = requests_mock.get("http://10.0.0.1/", content=b"internal")
    with pytest.raises(BaiduOcrError, match="redirect") as info:
        BaiduOcrHook().download(host + "/files/a.xlsx")
    assert info.value.error_class == "result_file"
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
        with pytest.raises(BaiduOcrError, match="larger than 8 bytes") as info:
            fetch_result_file(session, base + path, base_url=base, timeout=(1, 1), max_bytes=8)
        assert info.value.error_class == "result_file"
    assert (
        fetch_result_file(session, base + "/small.xlsx", base_url=base, timeout=(1, 1), max_bytes=8)
        == b"x" * 4
    )


# -- real sockets on loopback: where the HTTP client connects, and for how long ---------------------


class _Recorder(BaseHTTPRequestHandler):
    """Answers every GET with the server's ``body`` and counts the requests it got."""

    def do_GET(self) -> None:
        self.server.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.server.body)))
        self.end_headers()
        self.wfile.write(self.server.body)

    def log_message(self, *args) -> None:
        pass


class _Trickler(BaseHTTPRequestHandler):
    """Sends its answer one byte a second (the status line too with ``server.from_status_line``), for up
    to ``server.seconds`` s, stopping at once when the test ends (``server.stop``)."""

    def do_GET(self) -> None:
        body = b"x" * self.server.seconds
        head = f"HTTP/1.1 200 OK\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        if self.server.from_status_line:
            data = head + body
        else:
            self.wfile.write(head)
            self.wfile.flush()
            data = body
        for byte in data[: self.server.seconds]:
            if self.server.stop.wait(1.0):
                return
            try:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
            except OSError:
                return

    def log_message(self, *args) -> None:
        pass


@contextmanager
def _serving(host: str, handler: type, **attributes) -> Iterator[ThreadingHTTPServer]:
    """An HTTP server on ``host`` (loopback) and a free port, stopped with its handlers when the test ends."""
    server = ThreadingHTTPServer((host, 0), handler)
    server.hits, server.stop = [], threading.Event()
    for name, value in attributes.items():
        setattr(server, name, value)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()  # joins the handler threads (they stop within a second)
        thread.join(10)


def test_a_backslash_in_the_authority_cannot_send_the_fetch_to_another_host():
    """Reproduces issue 21: the allow-list read ``127.0.0.1:<port>`` after the ``@``; requests (urllib3)
    ends the authority at the backslash and connected to 127.0.0.2, the 'internal' server."""
    from baidu_ocr.client.downloads import fetch_result_file

    with (
        _serving("127.0.0.1", _Recorder, body=b"PK\x03\x04 the connection's server") as allowed,
        _serving("127.0.0.2", _Recorder, body=b"internal content") as internal,
    ):
        base = f"http://127.0.0.1:{allowed.server_port}"
        url = f"http://127.0.0.2:{internal.server_port}\\@127.0.0.1:{allowed.server_port}/x.xls"
        with pytest.raises(BaiduOcrError, match="Refusing to download") as info:
            fetch_result_file(requests.Session(), url, base_url=base, timeout=(5, 5))
        assert info.value.error_class == "result_file"
        assert "internal content" not in str(info.value)
        assert internal.hits == [] and allowed.hits == []
        # The connection's own server is still reachable through the same check.
        assert fetch_result_file(
            requests.Session(), base + "/x.xls", base_url=base, timeout=(5, 5)
        ).startswith(b"PK")


@pytest.mark.parametrize("from_status_line", [False, True], ids=["trickled-body", "trickled-headers"])
def test_a_trickling_server_is_cut_off_at_the_fetch_deadline(from_status_line):
    """One byte a second never trips a per-read timeout; the fetch's total deadline ends it. Once the
    headers are in, the socket is shut too: the download's thread ends while the server still trickles."""
    from baidu_ocr.client.downloads import fetch_result_file

    def download_threads() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if t.name == "baidu-ocr-result-file"]

    with _serving("127.0.0.1", _Trickler, seconds=60, from_status_line=from_status_line) as slow:
        base = f"http://127.0.0.1:{slow.server_port}"
        started = time.monotonic()
        with pytest.raises(TransientError, match="deadline of 2 s: cut off"):
            fetch_result_file(
                requests.Session(), base + "/slow.xls", base_url=base, timeout=(5, 5), deadline=2
            )
        # A generous bound: the answer takes 60 s (headers byte by byte: for ever, per-read timeouts alone).
        assert time.monotonic() - started < 30
        if not from_status_line:
            for thread in download_threads():
                thread.join(10)
            assert not any(t.is_alive() for t in download_threads())
    for thread in download_threads():  # the server is gone: an abandoned thread ends too
        thread.join(10)
    assert not any(t.is_alive() for t in download_threads())


# -- form_ocr workbooks are named by content, never by the source key -------------------------------


def test_form_ocr_workbooks_are_named_by_content_not_by_source_key(s3, scripted_table_hook):
    """``scans/inv.png`` and ``scans/inv.jpg`` were both ``scans/inv.xlsx`` (one overwrote the other), and a
    key's ``..`` segments reached the object key. Workbooks are named like table v2's: content hash and
    options, under ``excel_prefix``; the staged result says where each went."""
    import hashlib

    from baidu_ocr.operators import BaiduOcrTableOperator
    from baidu_ocr.pipeline.staging import read_records

    images = {
        "scans/inv.png": png(1, (60, 40)),
        "scans/inv.jpg": png(2, (60, 40)),
        "scans/../../../escape/inv.png": png(3, (60, 40)),
    }
    for key, data in images.items():
        s3.load_bytes(data, key, BUCKET)
    op = BaiduOcrTableOperator(
        task_id="tables",
        api="form_ocr",
        bucket=BUCKET,
        keys=list(images),
        excel_prefix="excel/",
        poll_interval=0,
        deferrable=False,
    )
    manifest = op.execute(context(task_id="tables"))
    assert manifest["n_ok"] == 3

    stored = sorted(s3.list_keys(BUCKET, prefix=""))
    workbooks = [k for k in stored if k.endswith(".xlsx")]
    assert len(workbooks) == 3  # none overwrote another
    assert all(k.startswith("excel/") and ".." not in k and "scans" not in k for k in workbooks)
    digests = {hashlib.sha256(data).hexdigest() for data in images.values()}
    assert {k.removeprefix("excel/").split("-")[0] for k in workbooks} == digests
    # Each staged result names its own workbook; the workbooks differ.
    staged = read_records(s3, [manifest["uri"]])
    uris = {json.loads(r)["excel_uri"] for r in staged["result_json"]}
    assert uris == {f"s3://{BUCKET}/{k}" for k in workbooks}
    bodies = {s3.get_conn().get_object(Bucket=BUCKET, Key=k)["Body"].read() for k in workbooks}
    assert len(bodies) == 3  # binary .xlsx workbooks, one per job


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
