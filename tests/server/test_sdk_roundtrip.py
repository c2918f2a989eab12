"""The official baidu-aip SDK, with only its host changed, round-trips against the local server."""

from __future__ import annotations

import io
import json

import openpyxl
import pytest
import requests
from baidu_ocr.client.sdk import make_sdk_client
from baidu_ocr_server.testing import FakeClock, running_server

from .conftest import ID_NUMBER


@pytest.fixture
def client(server):
    return make_sdk_client("10000000", server.api_key, server.secret_key, server.url, timeout_s=10)


def test_basic_general_and_basic_accurate_return_ground_truth_lines_without_location(client, samples):
    for method in (client.basicGeneral, client.basicAccurate):
        result = method(samples["document"])
        assert result["words_result_num"] == 3
        assert [item["words"] for item in result["words_result"]] == [
            "北京市海淀区",
            "Total 99.50",
            "far below",
        ]
        assert all(set(item) == {"words"} for item in result["words_result"])
        assert isinstance(result["log_id"], int)


@pytest.mark.parametrize("method_name", ["general", "accurate"])
def test_general_and_accurate_options(client, samples, method_name):
    options = {
        "probability": "true",
        "recognize_granularity": "small",
        "detect_direction": "true",
        "paragraph": "true",
        "vertexes_location": "true",
    }
    result = getattr(client, method_name)(samples["document"], options)
    first = result["words_result"][0]
    assert first["location"] == {"left": 12, "top": 20, "width": 120, "height": 18}
    assert set(first["probability"]) == {"average", "min", "variance"}
    assert "".join(char["char"] for char in first["chars"]) == "北京市海淀区"
    assert first["vertexes_location"][2] == {"x": 132, "y": 38}
    assert result["direction"] == 0
    # The first two lines touch, the third is far below: two paragraphs.
    assert result["paragraphs_result"] == [{"words_result_idx": [0, 1]}, {"words_result_idx": [2]}]
    assert result["paragraphs_result_num"] == 2


def test_general_without_options_has_no_optional_fields(client, samples):
    result = client.general(samples["document"])
    assert "direction" not in result and "paragraphs_result" not in result
    assert set(result["words_result"][0]) == {"location", "words"}


def test_idcard_front_fields_keyed_by_chinese_labels(client, samples):
    result = client.idcard(samples["idcard_front"], "front", {"detect_direction": "true"})
    fields = result["words_result"]
    assert fields["姓名"]["words"] == "张三"
    assert fields["公民身份号码"]["words"] == ID_NUMBER
    assert fields["出生"]["location"] == {"left": 60, "top": 60, "width": 80, "height": 14}
    assert result["words_result_num"] == 6
    assert result["image_status"] == "normal"
    assert result["idcard_number_type"] == 1
    assert result["direction"] == 0


def test_idcard_back_and_reversed_side(client, samples):
    back = client.idcard(samples["idcard_back"], "back")
    assert back["words_result"]["失效日期"]["words"] == "长期"
    assert set(back["words_result"]) == {"签发机关", "签发日期", "失效日期"}
    assert back["image_status"] == "normal"
    reversed_side = client.idcard(samples["idcard_back"], "front")
    assert reversed_side["image_status"] == "reversed_side"


def test_table_v2_cells_with_exclusive_ends(client, samples):
    result = client.table(samples["table"])
    assert result["table_num"] == 1
    body = result["tables_result"][0]["body"]
    merged = next(cell for cell in body if cell["words"] == "销售清单")
    assert (merged["row_start"], merged["row_end"], merged["col_start"], merged["col_end"]) == (0, 1, 0, 2)
    assert merged["cell_location"][0] == {"x": 10, "y": 10}
    assert len(result["tables_result"][0]["table_location"]) == 4


def test_table_v2_return_excel_adds_the_workbook_as_base64(client, samples):
    import base64

    plain = client.table(samples["table"])
    result = client.table(samples["table"], {"return_excel": "true"})
    assert "excel_file" not in plain
    assert {k: v for k, v in result.items() if k not in ("excel_file", "log_id")} == {
        k: v for k, v in plain.items() if k != "log_id"
    }
    workbook = openpyxl.load_workbook(io.BytesIO(base64.b64decode(result["excel_file"], validate=True)))
    sheet = workbook.worksheets[0]
    texts = {cell.value for row in sheet.iter_rows() for cell in row if cell.value}
    assert texts == {cell["words"] for cell in result["tables_result"][0]["body"]}
    merged = next(cell for cell in result["tables_result"][0]["body"] if cell["words"] == "销售清单")
    assert merged["col_end"] - merged["col_start"] == 2
    assert [str(r) for r in sheet.merged_cells.ranges] == ["A1:B1"]  # the span survives in the workbook


def test_form_sync(client, samples):
    result = client.form(samples["table"])
    assert result["forms_result_num"] == 1
    body = result["forms_result"][0]["body"]
    apple = next(item for item in body if item["word"] == "苹果")
    assert (apple["row"], apple["column"]) == (2, 0)
    assert apple["rect"] == {"left": 10, "top": 70, "width": 100, "height": 30}
    assert len(apple["vertexes_location"]) == 4


def test_async_table_json_and_excel(samples):
    clock = FakeClock()
    with running_server(samples_dir=samples["dir"], clock=clock, table_job_seconds=10) as server:
        client = make_sdk_client("10000000", server.api_key, server.secret_key, server.url, timeout_s=10)
        submitted = client.tableRecognitionAsync(samples["table"])
        request_id = submitted["result"][0]["request_id"]

        pending = client.getTableRecognitionResult(request_id, {"result_type": "json"})["result"]
        assert (pending["ret_code"], pending["ret_msg"], pending["result_data"]) == (1, "未开始", "")
        clock.advance(5)
        running = client.getTableRecognitionResult(request_id, {"result_type": "json"})["result"]
        assert (running["ret_code"], running["ret_msg"], running["percent"]) == (2, "进行中", 50)
        clock.advance(5)
        # "Done" needs the simulated duration AND the real recognition; wait for the latter (bounded).
        server.backend.table_jobs.wait(request_id, timeout=60)

        done = client.getTableRecognitionResult(request_id, {"result_type": "json"})["result"]
        assert (done["ret_code"], done["ret_msg"], done["percent"]) == (3, "已完成", 100)
        forms = json.loads(done["result_data"])
        assert forms["form_num"] == 1
        merged = next(cell for cell in forms["forms"][0]["body"] if cell["word"] == "销售清单")
        assert (merged["row"], merged["column"]) == ([1], [1, 2])

        excel = client.getTableRecognitionResult(request_id)["result"]  # result_type defaults to excel
        assert excel["ret_code"] == 3
        download = requests.get(excel["result_data"], timeout=10)
        assert download.status_code == 200
        sheet = openpyxl.load_workbook(io.BytesIO(download.content)).active
        assert sheet["A1"].value == "销售清单"
        assert sheet["A3"].value == "苹果" and sheet["B3"].value == "3"
        assert "A1:B1" in {str(cell_range) for cell_range in sheet.merged_cells.ranges}

        unknown = client.getTableRecognitionResult("404_404")
        assert unknown["error_code"] == 282808
        wrong_type = client.getTableRecognitionResult(request_id, {"result_type": "pdf"})
        assert wrong_type["error_code"] == 282809


def test_sdk_with_wrong_credentials_gets_error_14(server, samples):
    client = make_sdk_client("10000000", "wrong-key", "wrong-secret", server.url, timeout_s=10)
    result = client.basicGeneral(samples["document"])
    assert result["error_code"] == 14
    assert result["error_msg"] == "IAM Certification failed"


def test_async_table_is_sync_answers_the_result_at_once(client, samples):
    result = client.tableRecognitionAsync(samples["table"], {"is_sync": "true", "request_type": "json"})[
        "result"
    ]
    assert result["ret_code"] == 3
    assert json.loads(result["result_data"])["form_num"] == 1


@pytest.fixture(scope="module")
def pdf_client():
    """The committed multi-page PDF samples (fixture engine over include/samples)."""
    with running_server(table_job_seconds=0) as running:
        yield make_sdk_client("10000000", running.api_key, running.secret_key, running.url, timeout_s=10)


@pytest.mark.parametrize("method_name", ["basicGeneralPdf", "generalPdf", "basicAccuratePdf", "accuratePdf"])
def test_sdk_pdf_methods_answer_the_requested_page_and_the_page_count(pdf_client, method_name):
    from baidu_ocr_server.engines.fixture import DEFAULT_SAMPLES_DIR

    folder = DEFAULT_SAMPLES_DIR / "documents_pdf"
    truth = json.loads((folder / "pdf_01.json").read_text(encoding="utf-8"))
    pdf = (folder / "pdf_01.pdf").read_bytes()
    method = getattr(pdf_client, method_name)
    for page_no in (1, 2, 3):
        result = method(pdf, {"pdf_file_num": str(page_no)})
        assert result["pdf_file_size"] == str(truth["page_count"])  # a string, as Baidu sends it
        expected = [line["text"] for line in truth["pages"][page_no - 1]["lines"]]
        assert [item["words"] for item in result["words_result"]] == expected
    assert method(pdf, {"pdf_file_num": "9"})["error_code"] == 216201  # past the last page
    assert method(pdf)["pdf_file_size"] == "4"  # no page number: page 1


def test_sdk_table_pdf_and_a_broken_pdf(pdf_client):
    from baidu_ocr_server.engines.fixture import DEFAULT_SAMPLES_DIR

    pdf = (DEFAULT_SAMPLES_DIR / "documents_pdf" / "pdf_02.pdf").read_bytes()
    assert pdf_client.tablePdf(pdf, {"pdf_file_num": "1"})["pdf_file_size"] == "3"
    assert pdf_client.basicGeneralPdf(b"%PDF-1.7\nbroken")["error_code"] == 216201


def _signing_client(server, secret_key: str):
    """The SDK on its BCE-signing path (aip/base.py ``_getAuthHeaders``): what it takes when its token grant
    did not answer with ``brain_all_scope``. It then signs every call with the API Key / Secret Key."""
    client = make_sdk_client("10000000", server.api_key, secret_key, server.url, timeout_s=10)
    client._isCloudUser = True
    return client


def test_sdk_signed_requests_are_checked_as_baidu_does(server, samples):
    signed = _signing_client(server, server.secret_key)
    result = signed.basicGeneral(samples["document"])
    assert result["words_result_num"] == 3
    assert signed.table(samples["table"])["table_num"] == 1
    assert server.stats()["tokens_issued"] == 0  # signed, not token-authenticated
    forged = _signing_client(server, "not-the-secret-key").basicGeneral(samples["document"])
    assert (forged["error_code"], forged["error_msg"]) == (14, "IAM Certification failed")


def test_sdk_signatures_expire_after_their_1800_seconds(samples):
    clock = FakeClock()
    with running_server(samples_dir=samples["dir"], clock=clock) as server:
        client = _signing_client(server, server.secret_key)
        assert "error_code" not in client.basicGeneral(samples["document"])
        clock.advance(1801)  # the server's clock is now past the SDK's timestamp + 1800 s
        assert client.basicGeneral(samples["document"])["error_code"] == 14
