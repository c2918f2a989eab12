"""Baidu's input checks with Baidu's codes, and the paths the server does not implement."""

from __future__ import annotations

import base64
import re

import pytest
import requests
from baidu_ocr.client.sdk import sdk_url_attributes
from baidu_ocr_server.endpoints import BRAIN_PREFIX, ENDPOINTS_BY_PATH

from .conftest import call, png_bytes


def _error(response: requests.Response) -> int | None:
    assert response.status_code == 200
    return response.json().get("error_code")


def test_missing_and_empty_image_are_216200(server, token):
    assert _error(call(server, "general_basic", token)) == 216200
    assert _error(call(server, "general_basic", token, image="")) == 216200


def test_bad_base64_is_216201(server, token):
    assert _error(call(server, "general_basic", token, image="not base64 at all!")) == 216201
    data_uri = "data:image/png;base64," + base64.b64encode(png_bytes()).decode()
    assert _error(call(server, "general_basic", token, image=data_uri)) == 216201


def test_not_an_image_and_truncated_png_are_216201(server, token):
    assert _error(call(server, "general_basic", token, image=b"%PDF-1.4 plain bytes, not an image")) == 216201
    png = png_bytes(300, 300, "truncate me")
    assert _error(call(server, "general_basic", token, image=png[: len(png) // 2])) == 216201


def test_unsupported_format_is_216201(server, token):
    import io

    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (50, 50)).save(buffer, "GIF")
    assert _error(call(server, "general_basic", token, image=buffer.getvalue())) == 216201


@pytest.mark.parametrize("size", [(14, 100), (100, 14), (4097, 20), (20, 4097)])
def test_sides_out_of_bounds_are_216202(server, token, size):
    assert _error(call(server, "general_basic", token, image=png_bytes(*size))) == 216202


def test_sides_at_the_bounds_are_accepted(server, token):
    assert _error(call(server, "general_basic", token, image=png_bytes(15, 4096))) is None


def test_base64_over_4mb_is_216202(server, token):
    # Valid base64 over the limit: refused on size before decoding, as Baidu does.
    oversized = base64.b64encode(b"\0" * (3 * 1024 * 1024 + 3)).decode()
    assert len(oversized) > 4 * 1024 * 1024
    assert _error(call(server, "general_basic", token, image=oversized)) == 216202


def test_idcard_side_is_required(server, token, samples):
    assert _error(call(server, "idcard", token, image=samples["idcard_front"])) == 216101
    assert _error(call(server, "idcard", token, image=samples["idcard_front"], id_card_side="top")) == 216100


def test_fixture_expect_error_is_answered(server, token, samples):
    assert _error(call(server, "general_basic", token, image=samples["broken"])) == 216630


def test_url_input_from_loopback_only(server, token, samples):
    # The server's own spreadsheet route is a loopback URL that is not an image: fetched, then refused.
    assert _error(call(server, "general_basic", token, url=f"{server.url}/_admin/stats")) == 216201
    assert _error(call(server, "general_basic", token, url="https://example.com/a.png")) == 282112
    assert _error(call(server, "general_basic", token, url="ftp://127.0.0.1/a.png")) == 282111
    assert _error(call(server, "general_basic", token, url="")) == 282110


def test_image_wins_over_url(server, token, samples):
    response = call(
        server, "general_basic", token, image=samples["document"], url="https://example.com/x.png"
    )
    assert response.json()["words_result"][0]["words"] == "北京市海淀区"


def test_pdf_file_is_refused_as_image_format_error(server, token):
    pdf = base64.b64encode(b"%PDF-1.4\n").decode()
    assert _error(call(server, "general_basic", token, pdf_file=pdf, pdf_file_num="1")) == 216201


def test_every_other_sdk_endpoint_answers_a_baidu_error(server, token):
    """Never an HTML 404: every URL the SDK knows answers JSON, 216102 for what is not implemented."""
    served = 0
    for url in sdk_url_attributes().values():
        path = re.sub(r"^https://aip\.baidubce\.com", "", url)
        if not path.startswith("/rest/"):
            continue  # the token URL and the SDK's feedback report
        response = requests.post(f"{server.url}{path}", params={"access_token": token}, data={}, timeout=10)
        assert response.status_code == 200, path
        body = response.json()
        if path in ENDPOINTS_BY_PATH:
            served += 1
        else:
            assert body["error_code"] == 216102, path
            assert body["error_msg"] == "service not support"
        assert isinstance(body["log_id"], int)
    # Every implemented path the SDK knows was met; the document parser is documented beyond the SDK.
    assert served == len([p for p in ENDPOINTS_BY_PATH if not p.startswith(BRAIN_PREFIX)])


def test_unknown_paths_answer_json_error_3(server):
    for path in ("/", "/rest/2.0/nothing", "/favicon.ico"):
        response = requests.get(f"{server.url}{path}", timeout=10)
        assert response.status_code == 200
        assert response.json()["error_code"] == 3


def test_log_ids_are_64_bit_json_integers(server, token, samples):
    raw = [call(server, "general_basic", token, image=samples["document"]).text for _ in range(20)]
    log_ids = [int(re.search(r'"log_id": (\d+)', text).group(1)) for text in raw]
    assert all(0 < log_id < 2**64 for log_id in log_ids)
    assert any(log_id > 2**53 for log_id in log_ids)


def test_ofd_file_is_not_rendered_locally(server, token):
    """No offline OFD renderer: the local server answers as Baidu does for a file it cannot read."""
    ofd = base64.b64encode(b"PK\x03\x04 an ofd package").decode()
    assert _error(call(server, "general_basic", token, ofd_file=ofd, ofd_file_num="1")) == 216201


def test_a_pdf_page_is_rendered_and_the_page_count_answered(server, token):
    import io

    from PIL import Image

    pages = [Image.new("RGB", (200, 100), "white") for _ in range(3)]
    out = io.BytesIO()
    pages[0].save(out, "PDF", save_all=True, append_images=pages[1:])
    pdf = base64.b64encode(out.getvalue()).decode()
    body = call(server, "general_basic", token, pdf_file=pdf, pdf_file_num="3").json()
    assert body["pdf_file_size"] == "3" and "words_result" in body
    assert _error(call(server, "general_basic", token, pdf_file=pdf, pdf_file_num="4")) == 216201
    assert _error(call(server, "general_basic", token, pdf_file=pdf, pdf_file_num="x")) == 216201
