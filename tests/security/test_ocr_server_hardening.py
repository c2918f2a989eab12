"""The local OCR server under hostile input: slow clients, connection floods, lying lengths, redirects to
forbidden hosts, cross-site admin calls and forged Host headers (issue 11); hostile forms and many-page
PDFs measured by the server's peak memory, forged BCE signatures, unsigned result links, guessable job ids
and jobs never forgotten (issue 21). Deadline loops, no sleeps."""

from __future__ import annotations

import base64
import json
import signal
import socket
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
from baidu_ocr_server.cli import build_parser
from baidu_ocr_server.testing import FakeClock, running_server

from tests.server.conftest import call, cli_server, get_token, peak_rss_mb, png_bytes, shared_image_pdf

HALF_SENT = b"POST /oauth/2.0/token HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc"
TOKEN_FORM = "grant_type=client_credentials&client_id=test-api-key&client_secret=test-secret-key"


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=10)


def _closed_by_server(sock: socket.socket, deadline: float) -> bool:
    """Read until the server hangs up (True) or ``deadline`` (monotonic) passes (False)."""
    while (remaining := deadline - time.monotonic()) > 0:
        sock.settimeout(remaining)
        try:
            if not sock.recv(65536):
                return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except TimeoutError:
            return False
    return False


def _raw_exchange(url: str, request: bytes) -> tuple[int, dict, bool]:
    """Send raw bytes, read one answer: (status, JSON body, server closed the connection after it)."""
    with _connect(url) as sock:
        sock.sendall(request)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"closed without an answer after {data!r}"
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {
            name.lower(): value.strip() for name, _, value in (line.partition(":") for line in lines[1:])
        }
        while len(body) < int(headers["content-length"]):
            body += sock.recv(65536)
        closed = _closed_by_server(sock, time.monotonic() + 10)
        return int(lines[0].split()[1]), json.loads(body), closed


def _wait_until(predicate, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return predicate()


# -- 1. read timeout and bounded handler threads ----------------------------------------------------------


def test_half_sent_requests_are_dropped_after_the_read_timeout(samples):
    with running_server(samples_dir=samples["dir"], read_timeout=1.0) as server, ExitStack() as stack:
        sockets = [stack.enter_context(_connect(server.url)) for _ in range(40)]
        for sock in sockets:
            sock.sendall(HALF_SENT)
        deadline = time.monotonic() + 20
        still_open = [sock for sock in sockets if not _closed_by_server(sock, deadline)]
        assert still_open == []
        assert _wait_until(lambda: server.http_server.active_connections == 0)


def test_an_idle_connection_is_closed_quietly(samples, capsys):
    with running_server(samples_dir=samples["dir"], read_timeout=0.5) as server, _connect(server.url) as sock:
        assert _closed_by_server(sock, time.monotonic() + 20)
        assert _wait_until(lambda: server.http_server.active_connections == 0)
    assert "Traceback" not in capsys.readouterr().err


def test_a_request_dripped_byte_by_byte_is_dropped_although_each_gap_is_short(samples):
    # A plain socket timeout restarts at every byte; the request's deadline does not.
    with running_server(samples_dir=samples["dir"], read_timeout=1.0) as server, _connect(server.url) as sock:
        request = b"GET /_admin/stats HTTP/1.1\r\n" + b"X-Drip: " + b"a" * 10_000
        deadline = time.monotonic() + 20
        closed = False
        for byte in request:
            try:
                sock.sendall(bytes([byte]))
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if _closed_by_server(sock, min(deadline, time.monotonic() + 0.3)):
                closed = True
                break
            if time.monotonic() > deadline:
                break
        assert closed


def test_connections_beyond_the_limit_get_error_4_and_threads_stay_bounded(samples):
    with running_server(samples_dir=samples["dir"], read_timeout=3.0, max_connections=4) as server:
        with ExitStack() as stack:
            baseline = threading.active_count()
            holders = [stack.enter_context(_connect(server.url)) for _ in range(4)]
            for sock in holders:
                sock.sendall(HALF_SENT)
            assert _wait_until(lambda: server.http_server.active_connections == 4)
            for _ in range(20):
                body = requests.get(f"{server.url}/_admin/stats", timeout=10).json()
                assert body["error_code"] == 4 and isinstance(body["log_id"], int)
                assert threading.active_count() <= baseline + 4
            deadline = time.monotonic() + 20
            assert all(_closed_by_server(sock, deadline) for sock in holders)
        # The held slots came back: a normal call is served again.
        assert _wait_until(lambda: server.http_server.active_connections == 0)
        assert "endpoints" in requests.get(f"{server.url}/_admin/stats", timeout=10).json()


# -- 2. Content-Length and Transfer-Encoding -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("length_headers", "code"),
    [
        (b"Content-Length: -1\r\n", 216100),  # used to read to the end of the stream, without a cap
        (b"Content-Length: abc\r\n", 216100),
        (b"Content-Length: 1_0\r\n", 216100),  # int() would accept it
        (b"Content-Length: 5\r\nContent-Length: 6\r\n", 216100),
        (b"Content-Length: 1000000000\r\n", 216202),
        (b"Transfer-Encoding: chunked\r\n", 216100),
        (b"Transfer-Encoding: chunked\r\nContent-Length: 5\r\n", 216100),
    ],
)
def test_bad_body_lengths_get_a_baidu_error_and_a_closed_connection(server, length_headers, code):
    request = (
        b"POST /oauth/2.0/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + length_headers
        + b"\r\n"
        + b"5\r\nhello\r\n"  # more bytes follow, the client keeps the connection open
    )
    status, body, closed = _raw_exchange(server.url, request)
    assert status == 200
    assert body["error_code"] == code and body["error_msg"] and isinstance(body["log_id"], int)
    assert closed


def test_a_valid_length_is_still_served(server):
    body = TOKEN_FORM.encode()
    request = (
        b"POST /oauth/2.0/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n"
        + f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )
    status, answer, _ = _raw_exchange(server.url, request)
    assert status == 200 and answer["access_token"].startswith("24.")


# -- 3. url= fetches: no redirect, no proxy ------------------------------------------------


class _ImageSite(BaseHTTPRequestHandler):
    """``/image.png``; ``/to?url`` redirects there (302); anything else 404. Counts what it served."""

    image = png_bytes(200, 60, "hop")
    hits: list[str] = []

    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self.hits.append(self.path)
        if self.path == "/image.png":
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(self.image)))
            self.end_headers()
            self.wfile.write(self.image)
        elif self.path.startswith("/to?"):
            self.send_response(302)
            self.send_header("Location", self.path.removeprefix("/to?"))
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_error(404)

    def log_message(self, *args) -> None:
        pass


@contextmanager
def _image_site() -> Iterator[tuple[int, list[str]]]:
    """On every interface, so a non-loopback spelling of this machine (0.0.0.0) reaches it too."""
    hits: list[str] = []
    handler = type("Site", (_ImageSite,), {"hits": hits})
    site = ThreadingHTTPServer(("0.0.0.0", 0), handler)
    thread = threading.Thread(target=site.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield site.server_address[1], hits
    finally:
        site.shutdown()
        site.server_close()
        thread.join(timeout=5)


def _error(response: requests.Response) -> int | None:
    return response.json().get("error_code")


def test_url_fetches_follow_no_redirect(server, token):
    with _image_site() as (port, hits):
        forbidden = f"http://0.0.0.0:{port}/image.png"  # reaches this machine, but is not loopback
        assert _error(call(server, "general_basic", token, url=forbidden)) == 282112
        assert hits == []
        # A loopback URL that redirects: the redirect is its answer, wherever it points.
        for target in (forbidden, f"http://127.0.0.1:{port}/image.png"):
            bounce = f"http://127.0.0.1:{port}/to?{target}"
            assert _error(call(server, "general_basic", token, url=bounce)) == 282113
        assert hits == [f"/to?{forbidden}", f"/to?http://127.0.0.1:{port}/image.png"]
        # The image itself, asked for directly, is read.
        assert _error(call(server, "general_basic", token, url=f"http://127.0.0.1:{port}/image.png")) is None


def test_url_fetches_ignore_proxy_settings(server, token, monkeypatch):
    with _image_site() as (port, hits), _image_site() as (proxy_port, proxy_hits):
        monkeypatch.setenv("http_proxy", f"http://127.0.0.1:{proxy_port}")
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{proxy_port}")
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        with requests.Session() as client:
            client.trust_env = False  # the proxy settings are for the server's fetch, not for this call
            response = client.post(
                f"{server.url}/rest/2.0/ocr/v1/general_basic",
                params={"access_token": token},
                data={"url": f"http://127.0.0.1:{port}/image.png"},
                timeout=30,
            )
        assert _error(response) is None
        assert proxy_hits == [] and hits == ["/image.png"]


# -- 4. /_admin: POST + JSON for changes, optional token ----------------------------------------------------


def test_admin_changes_need_post_with_json(server, token):
    base = server.url
    server.configure(error_rates=["282000=1"])
    assert requests.get(f"{base}/_admin/reset", timeout=10).status_code == 405
    form = requests.post(f"{base}/_admin/reset", data={"x": "1"}, timeout=10)
    assert form.status_code == 415
    text_plain = requests.post(
        f"{base}/_admin/config", data='{"error_rate": []}', headers={"Content-Type": "text/plain"}, timeout=10
    )
    assert text_plain.status_code == 415
    assert requests.post(f"{base}/_admin/config", json=["18=1"], timeout=10).status_code == 400
    # A url= image fetch is a GET from the server itself: it cannot reset the faults either.
    call(server, "general_basic", None, url=f"{base}/_admin/reset")
    assert server.backend.faults.error_rates == {"282000": 1.0}
    assert requests.post(f"{base}/_admin/reset", json={}, timeout=10).json() == {"reset": True}
    assert server.backend.faults.error_rates == {}
    assert requests.get(f"{base}/_admin/stats", timeout=10).status_code == 200


def test_admin_token_guards_every_admin_route(samples):
    with running_server(samples_dir=samples["dir"], admin_token="adm-s3cret") as server:
        base = server.url
        for method, path, body in [
            ("GET", "/_admin/stats", None),
            ("GET", "/_admin/config", None),
            ("POST", "/_admin/config", {"seed": 9}),
            ("POST", "/_admin/reset", {}),
        ]:
            for headers in ({}, {"Authorization": "Bearer wrong"}, {"X-Admin-Token": "adm-s3cre"}):
                refused = requests.request(method, base + path, json=body, headers=headers, timeout=10)
                assert refused.status_code == 401, (path, headers)
                assert "adm-s3cret" not in refused.text
        assert server.backend.faults.seed is None
        assert requests.get(f"{base}/_admin/stats", headers=server.admin_headers(), timeout=10).ok
        changed = requests.post(
            f"{base}/_admin/config", json={"seed": 9}, headers={"X-Admin-Token": "adm-s3cret"}, timeout=10
        )
        assert changed.status_code == 200 and server.backend.faults.seed == 9
        # Non-ASCII offered tokens are compared, not crashed on.
        odd = requests.get(f"{base}/_admin/stats", headers={"X-Admin-Token": "é".encode()}, timeout=10)
        assert odd.status_code == 401


def test_cli_flags_reach_the_server(tmp_path):
    flags = ["--engine", "fixture", "--samples-dir", str(tmp_path)]
    # A read timeout long enough that a loaded CI machine still sees both slots held before they are freed.
    flags += ["--admin-token", "cli-adm", "--read-timeout", "6", "--max-connections", "2"]
    flags += ["--public-url", "http://ocr.internal:1"]
    with cli_server(*flags) as (process, url):
        assert requests.get(f"{url}/_admin/stats", timeout=10).status_code == 401
        authorized = {"Authorization": "Bearer cli-adm"}
        assert requests.get(f"{url}/_admin/stats", headers=authorized, timeout=10).status_code == 200
        with ExitStack() as stack:
            holders = [stack.enter_context(_connect(url)) for _ in range(2)]
            for sock in holders:
                sock.sendall(HALF_SENT)
            busy = _wait_until(
                lambda: requests.get(f"{url}/_admin/stats", timeout=10).json().get("error_code") == 4
            )
            assert busy
            deadline = time.monotonic() + 20
            assert all(_closed_by_server(sock, deadline) for sock in holders)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=15) == 0


@pytest.mark.parametrize(
    "bad", [["--read-timeout", "0"], ["--max-connections", "-1"], ["--max-connections", "x"]]
)
def test_cli_refuses_non_positive_limits(bad):
    with pytest.raises(SystemExit):
        build_parser().parse_args(bad)


# -- 5. links never reflect the Host header ----------------------------------------------------------------


def _excel_link(server, token: str, image: bytes, headers: dict) -> str:
    response = requests.post(
        f"{server.url}/rest/2.0/solution/v1/form_ocr/request",
        params={"access_token": token},
        data={"image": base64.b64encode(image).decode(), "is_sync": "true", "request_type": "excel"},
        headers=headers,
        timeout=60,
    )
    return response.json()["result"]["result_data"]


def test_excel_links_use_our_address_not_the_host_header(server, token, samples):
    link = _excel_link(server, token, samples["table"], {"Host": "evil.example.com"})
    assert link.startswith(f"{server.url}/_files/") and "evil" not in link
    assert requests.get(link, timeout=10).status_code == 200


def test_excel_links_use_the_configured_public_url(samples):
    with running_server(samples_dir=samples["dir"], public_url="http://ocr.internal:8443/") as server:
        link = _excel_link(server, get_token(server), samples["table"], {"Host": "evil.example.com"})
        assert link.startswith("http://ocr.internal:8443/_files/")


# -- 6. small under hostile input, signatures checked, results unguessable and forgotten (issue 21) ------

HOSTILE_FORM = b"a=&" * (16 * 1024 * 1024 // 3)  # 16 MB: millions of empty fields
FORM_HEADERS = {"Content-Type": "application/x-www-form-urlencoded"}
# What the server may grow by under hostile input: one 16 MB body read by an authenticated handler, as
# bytes then text. Parsing a 16 MB form into Python objects used to take ~800 MB.
RSS_GROWTH_BOUND_MB = 100
# A dozen rendered pages of the PDF below; all 40 of them held at once take 260 MB.
PARSER_GROWTH_BOUND_MB = 80


def _cli_token(url: str) -> str:
    """A token from a ``cli_server`` started with the default test key pair."""
    params = {
        "grant_type": "client_credentials",
        "client_id": "test-api-key",
        "client_secret": "test-secret-key",
    }
    return requests.get(f"{url}/oauth/2.0/token", params=params, timeout=10).json()["access_token"]


def test_a_hostile_form_leaves_the_server_small(tmp_path):
    with cli_server("--engine", "fixture", "--samples-dir", str(tmp_path)) as (process, url):
        token = _cli_token(url)
        baseline = peak_rss_mb(process.pid)
        answers = {}
        for path, params in [
            ("/anything", {}),
            ("/oauth/2.0/token", {}),
            ("/rest/2.0/ocr/v1/general_basic", {}),
            ("/rest/2.0/brain/online/v2/parser/task", {}),
            ("/rest/2.0/brain/online/v2/parser/task", {"access_token": token}),  # authenticated
        ]:
            response = requests.post(
                url + path, params=params, data=HOSTILE_FORM, headers=FORM_HEADERS, timeout=60
            )
            answers[(path, bool(params))] = response.json()
        with ThreadPoolExecutor(3) as pool:  # three at once
            list(
                pool.map(
                    lambda _: requests.post(url + "/x", data=HOSTILE_FORM, headers=FORM_HEADERS, timeout=60),
                    range(3),
                )
            )
        growth = peak_rss_mb(process.pid) - baseline
    assert growth < RSS_GROWTH_BOUND_MB, f"the server grew by {growth:.0f} MB"
    assert answers[("/anything", False)]["error_code"] == 3
    assert answers[("/oauth/2.0/token", False)]["error"] == "invalid_request"
    assert answers[("/rest/2.0/ocr/v1/general_basic", False)]["error_code"] == 110
    assert answers[("/rest/2.0/brain/online/v2/parser/task", False)]["error_code"] == 110
    assert answers[("/rest/2.0/brain/online/v2/parser/task", True)]["error_code"] == 216100


def test_body_caps_follow_baidus_documented_limits(server, token):
    # An image endpoint reads at most its 4 MB (base64 + url-encoded) plus options...
    over = {"image": "A" * (4 * 1024 * 1024 + 64 * 1024)}
    assert (
        requests.post(
            f"{server.url}/rest/2.0/ocr/v1/general_basic",
            params={"access_token": token},
            data=over,
            timeout=30,
        ).json()["error_code"]
        == 216202
    )
    # ...the document parser its 50 MB of file_data: a 20 MB file is read (and parsed, as a broken PDF).
    file_data = base64.b64encode(b"%PDF-1.7 " + b"\0" * (15 * 1024 * 1024)).decode()
    answer = requests.post(
        f"{server.url}/rest/2.0/brain/online/v2/parser/task",
        params={"access_token": token},
        data={"file_data": file_data, "file_name": "big.pdf"},
        timeout=60,
    ).json()
    assert answer["error_code"] == 0 and answer["result"]["task_id"].startswith("task-")


@pytest.mark.slow
def test_the_parser_holds_one_rendered_page_at_a_time(tmp_path):
    # 40 pages of 1240 x 1754 px noise: ~6.5 MB each once rendered, 260 MB if all were held at once.
    pdf = shared_image_pdf(40, 1240, 1754)
    flags = ["--engine", "fixture", "--samples-dir", str(tmp_path), "--parser-task-seconds", "0"]
    with cli_server(*flags) as (process, url):
        token = _cli_token(url)
        baseline = peak_rss_mb(process.pid)
        parser = f"{url}/rest/2.0/brain/online/v2/parser/task"
        submitted = requests.post(
            parser,
            params={"access_token": token},
            data={"file_data": base64.b64encode(pdf).decode(), "file_name": "scan.pdf"},
            timeout=60,
        ).json()
        task = {"task_id": submitted["result"]["task_id"]}

        def status() -> str:
            answer = requests.post(f"{parser}/query", params={"access_token": token}, data=task, timeout=10)
            return answer.json()["result"]["status"]

        assert _wait_until(lambda: status() in ("success", "failed"), timeout=300)
        assert status() == "success"
        growth = peak_rss_mb(process.pid) - baseline
    assert growth < PARSER_GROWTH_BOUND_MB, f"the server grew by {growth:.0f} MB over a 40-page PDF"


def _signed_headers(authorization: str) -> dict:
    return {"authorization": authorization, "x-bce-date": "2024-01-01T00:00:00Z"}


def test_a_forged_bce_signature_is_refused_with_baidus_error_14(server, samples):
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    forged = [
        f"bce-auth-v1/{server.api_key}/{now}/1800/host/anything",
        f"bce-auth-v1/{server.api_key}/{now}/1800/host;x-bce-date/{'0' * 64}",
        f"bce-auth-v1/{server.api_key}/{now}/1800//{'0' * 64}",
        f"bce-auth-v1/{server.api_key}",
    ]
    for authorization in forged:
        response = requests.post(
            f"{server.url}/rest/2.0/ocr/v1/general_basic",
            data={"image": base64.b64encode(samples["document"]).decode()},
            headers=_signed_headers(authorization),
            timeout=30,
        ).json()
        assert (response["error_code"], response["error_msg"]) == (14, "IAM Certification failed"), (
            authorization
        )
    assert server.stats()["billable"] == 0


def _excel_job_link(server, token, samples) -> str:
    return _excel_link(server, token, samples["table"], {})


def test_result_files_need_the_signed_link(server, token, samples):
    link = _excel_job_link(server, token, samples)
    bare = link.partition("?")[0]
    assert requests.get(link, timeout=10).status_code == 200
    refused = [
        bare,
        f"{bare}?authorization=",
        f"{bare}?authorization=bce-auth-v1/someone/2024-01-01T00:00:00Z/1800//{'0' * 64}",
        link[:-1] + ("0" if link[-1] != "0" else "1"),  # one hex digit of the signature changed
        link.replace(".xlsx?", "0.xlsx?"),  # a signature is for one file only
    ]
    for url in refused:
        answer = requests.get(url, timeout=10)
        assert answer.status_code == 403 and answer.json()["error_code"] == 6, url
    assert requests.post(link, timeout=10).status_code == 403  # signed for GET


def _random_bits(job_id: str, prefix: str) -> int:
    assert job_id.startswith(prefix)
    token = job_id.removeprefix(prefix)
    return 8 * len(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def test_table_job_and_parser_task_ids_carry_128_random_bits(server, token, samples):
    app_id = server.backend.credentials.app_id
    table_ids = {
        call(server, "form_ocr/request", token, path="/rest/2.0/solution/v1/", image=samples["table"]).json()[
            "result"
        ][0]["request_id"]
        for _ in range(3)
    }
    task_ids = {
        call(
            server,
            "parser/task",
            token,
            path="/rest/2.0/brain/online/v2/",
            file_data=base64.b64encode(samples["document"]).decode(),
            file_name="scan.png",
        ).json()["result"]["task_id"]
        for _ in range(3)
    }
    assert len(table_ids) == len(task_ids) == 3
    assert all(_random_bits(job_id, f"{app_id}_") >= 128 for job_id in table_ids)
    assert all(_random_bits(task_id, "task-") >= 128 for task_id in task_ids)


def test_finished_jobs_and_their_links_are_forgotten_after_the_result_ttl(samples):
    clock = FakeClock()
    options = {"clock": clock, "result_ttl_s": 600, "table_job_seconds": 0, "parser_task_seconds": 0}
    with running_server(samples_dir=samples["dir"], **options) as server:
        token = get_token(server)
        link = _excel_job_link(server, token, samples)
        request_id = link.rpartition("/_files/")[2].partition(".xlsx")[0]
        task_id = call(
            server,
            "parser/task",
            token,
            path="/rest/2.0/brain/online/v2/",
            file_data=base64.b64encode(samples["document"]).decode(),
            file_name="scan.png",
        ).json()["result"]["task_id"]
        server.backend.parser_tasks.wait(task_id, timeout=60)

        def poll_table() -> dict:
            return call(
                server,
                "form_ocr/get_request_result",
                token,
                path="/rest/2.0/solution/v1/",
                request_id=request_id,
            ).json()

        def poll_task() -> dict:
            return call(
                server, "parser/task/query", token, path="/rest/2.0/brain/online/v2/", task_id=task_id
            ).json()

        clock.advance(599)
        assert poll_table()["result"]["ret_code"] == 3 and poll_task()["result"]["status"] == "success"
        assert requests.get(link, timeout=10).status_code == 200
        clock.advance(1)
        assert poll_table()["error_code"] == 282808 and poll_task()["error_code"] == 282808
        assert len(server.backend.table_jobs) == 0
        assert requests.get(link, timeout=10).status_code == 403  # the link has expired too


def test_cli_result_ttl_reaches_the_server(tmp_path):
    args = build_parser().parse_args(["--result-ttl", "90"])
    assert args.result_ttl == 90
    assert build_parser().parse_args([]).result_ttl == 6 * 3600
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--result-ttl", "0"])
