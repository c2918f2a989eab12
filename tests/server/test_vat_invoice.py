"""``vat_invoice`` on the local server: Baidu's answer shape on both layouts, PDF pages, the official SDK,
refusals, and the real engine reading committed invoice samples through HTTP."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path

import pytest
import requests
from baidu_ocr.client.sdk import make_sdk_client
from baidu_ocr_server.engines.base import INVOICE_ITEMS, INVOICE_SCALARS
from baidu_ocr_server.testing import running_server

from .conftest import call, get_token

SAMPLES = Path(__file__).resolve().parents[2] / "include" / "samples"
INVOICES = SAMPLES / "invoices"
KEY_FIELDS = ("InvoiceCode", "InvoiceNum", "InvoiceDate", "PurchaserName", "PurchaserRegisterNum",
              "SellerName", "SellerRegisterNum", "TotalAmount", "TotalTax", "AmountInFiguers")  # fmt: skip


def sample(stem: str) -> tuple[bytes, dict]:
    path = next(p for p in INVOICES.glob(f"{stem}.*") if p.suffix != ".json")
    return path.read_bytes(), json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))


def pdf_form(data: bytes, **options: str) -> dict:
    return {"pdf_file": base64.b64encode(data).decode(), **options}


@pytest.fixture(scope="module")
def invoice_server():
    with running_server() as server:  # the fixture engine over the committed samples
        yield server, get_token(server)


def assert_baidu_shape(body: dict) -> dict:
    """Scalars are strings, item fields lists of {"row", "word"} strings; every field is answered."""
    assert isinstance(body["log_id"], int)
    words = body["words_result"]
    assert body["words_result_num"] == len(words)
    assert set(words) == set(INVOICE_SCALARS) | set(INVOICE_ITEMS)
    for name in INVOICE_SCALARS:
        assert isinstance(words[name], str), name
    for name in INVOICE_ITEMS:
        assert all(set(cell) == {"row", "word"} for cell in words[name]), name
        assert all(isinstance(cell["row"], str) and isinstance(cell["word"], str) for cell in words[name])
    return words


def test_classic_invoice_answers_its_printed_fields_and_empty_strings_for_the_rest(invoice_server):
    server, token = invoice_server
    image, truth = sample("inv_01_classic")

    words = assert_baidu_shape(call(server, "vat_invoice", token, image=image).json())

    want = truth["words_result"]
    assert words["InvoiceCode"] == want["InvoiceCode"] and len(words["InvoiceCode"]) in (10, 12)
    assert len(words["InvoiceNum"]) == 8
    assert words["AmountInFiguers"] == want["AmountInFiguers"]
    assert words["CommodityAmount"] == want["CommodityAmount"]
    assert words["CommodityAmount"][0]["row"] == "1"
    assert words["MachineCode"] == "" and words["Password"] == ""  # not printed: "" as Baidu


def test_digital_invoice_has_no_code_and_a_20_digit_number(invoice_server):
    server, token = invoice_server
    image, truth = sample("inv_03_digital")

    words = assert_baidu_shape(call(server, "vat_invoice", token, image=image, type="normal").json())

    assert words["InvoiceCode"] == "" and words["CheckCode"] == ""
    assert words["InvoiceNum"] == truth["words_result"]["InvoiceNum"] and len(words["InvoiceNum"]) == 20
    assert words["InvoiceType"].startswith("电子发票")


def test_a_service_line_has_no_quantity_row(invoice_server):
    """Rows are answered only where the cell is printed (a service has no unit, quantity or price)."""
    server, token = invoice_server
    image, truth = sample("inv_03_digital")

    words = call(server, "vat_invoice", token, image=image).json()["words_result"]

    rows_with_amount = {cell["row"] for cell in words["CommodityAmount"]}
    rows_with_quantity = {cell["row"] for cell in words["CommodityNum"]}
    assert rows_with_quantity < rows_with_amount
    assert words["CommodityNum"] == truth["words_result"]["CommodityNum"]


def test_pdf_pages_are_chosen_by_pdf_file_num_and_the_page_count_answered(invoice_server):
    server, token = invoice_server
    data, truth = sample("inv_12_digital_pdf")

    first = call(server, "vat_invoice", token, **pdf_form(data)).json()  # default: page 1
    second = call(server, "vat_invoice", token, **pdf_form(data, pdf_file_num="2")).json()
    beyond = call(server, "vat_invoice", token, **pdf_form(data, pdf_file_num="3")).json()

    assert first["pdf_file_size"] == second["pdf_file_size"] == "2"
    assert first["words_result"]["InvoiceNum"] == truth["pages"][0]["words_result"]["InvoiceNum"]
    assert second["words_result"]["InvoiceNum"] == truth["pages"][1]["words_result"]["InvoiceNum"]
    assert first["words_result"]["InvoiceNum"] != second["words_result"]["InvoiceNum"]
    assert beyond["error_code"] == 216201


def test_image_wins_over_pdf_file(invoice_server):
    server, token = invoice_server
    image, truth = sample("inv_01_classic")
    pdf, _ = sample("inv_08_classic_pdf")

    body = call(server, "vat_invoice", token, image=image, **pdf_form(pdf)).json()

    assert body["words_result"]["InvoiceNum"] == truth["words_result"]["InvoiceNum"]
    assert "pdf_file_size" not in body


def test_ofd_e_invoice_pages_by_ofd_file_num(invoice_server):
    server, token = invoice_server
    data, truth = sample("inv_13_digital_ofd")
    form = {"ofd_file": base64.b64encode(data).decode()}

    body = call(server, "vat_invoice", token, **form).json()
    beyond = call(server, "vat_invoice", token, **form, ofd_file_num="2").json()
    broken = call(
        server, "vat_invoice", token, ofd_file=base64.b64encode(b"PK\x03\x04 not a zip").decode()
    ).json()

    assert body["ofd_file_size"] == "1"
    assert assert_baidu_shape(body) == {**body["words_result"], **truth["pages"][0]["words_result"]}
    assert beyond["error_code"] == broken["error_code"] == 216201


def test_an_ofd_that_is_no_sample_is_read_from_its_text_layer(invoice_server):
    """Another OFD (here the sample re-packed, so its bytes differ) is read from its exact text layer."""
    server, token = invoice_server
    data, truth = sample("inv_13_digital_ofd")
    repacked = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(repacked, "w") as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))

    body = call(server, "vat_invoice", token, ofd_file=base64.b64encode(repacked.getvalue()).decode()).json()

    want = truth["pages"][0]["words_result"]
    assert {name: body["words_result"][name] for name in KEY_FIELDS} == {
        name: want[name] for name in KEY_FIELDS
    }
    assert body["words_result"]["CommodityAmount"] == want["CommodityAmount"]


def test_not_an_invoice_is_target_recognize_error(invoice_server):
    server, token = invoice_server
    document = (SAMPLES / "documents" / "doc_01.jpg").read_bytes()

    body = call(server, "vat_invoice", token, image=document).json()

    assert body["error_code"] == 282103
    assert body["error_msg"] == "target recognize error"


def test_unknown_type_option_and_missing_input_are_refused(invoice_server):
    server, token = invoice_server
    image, _ = sample("inv_01_classic")

    assert call(server, "vat_invoice", token, image=image, type="roll").json()["words_result"]
    assert call(server, "vat_invoice", token, image=image, type="receipt").json()["error_code"] == 216100
    assert call(server, "vat_invoice", token).json()["error_code"] == 216200
    assert call(server, "vat_invoice", None, image=image).json()["error_code"] == 110


def test_sdk_vat_invoice_and_vat_invoice_pdf_round_trip(invoice_server):
    server, _ = invoice_server
    client = make_sdk_client("10000000", server.api_key, server.secret_key, server.url, timeout_s=10)
    image, truth = sample("inv_05_private_buyer")
    pdf, pdf_truth = sample("inv_07_duplicate_pdf")

    from_image = client.vatInvoice(image)
    from_pdf = client.vatInvoicePdf(pdf, {"pdf_file_num": "1"})

    assert from_image["words_result"]["PurchaserRegisterNum"] == truth["words_result"]["PurchaserRegisterNum"]
    assert from_image["words_result"]["AmountInWords"] == truth["words_result"]["AmountInWords"]
    assert from_pdf["pdf_file_size"] == "1"
    assert from_pdf["words_result"]["InvoiceNum"] == pdf_truth["pages"][0]["words_result"]["InvoiceNum"]


def test_duplicate_pair_is_the_same_invoice_in_two_files(invoice_server):
    """The demo's duplicate: a photo and its PDF differ in bytes but answer the same invoice."""
    server, token = invoice_server
    photo, _ = sample("inv_06_duplicate_photo")
    pdf, _ = sample("inv_07_duplicate_pdf")

    from_photo = call(server, "vat_invoice", token, image=photo).json()["words_result"]
    from_pdf = call(server, "vat_invoice", token, **pdf_form(pdf)).json()["words_result"]

    assert photo != pdf
    assert from_photo == from_pdf


@pytest.mark.slow
def test_real_engine_reads_a_classic_photo_and_a_digital_pdf_page():
    """rapidocr through HTTP: every key field and item amount of a turned classic photo (seal, green
    rules) and of the second page of a 数电票 PDF (seal over the seller's name and tax id)."""
    photo, photo_truth = sample("inv_02_classic")
    pdf, pdf_truth = sample("inv_12_digital_pdf")
    url = "/rest/2.0/ocr/v1/vat_invoice"
    with running_server(engine="rapidocr") as server:
        token = get_token(server)
        # The first call loads the models; a shared CI core reads a page in a few seconds.
        post = {"params": {"access_token": token}, "timeout": 180}
        from_photo = requests.post(server.url + url, data={"image": base64.b64encode(photo).decode()}, **post)
        from_pdf = requests.post(server.url + url, data=pdf_form(pdf, pdf_file_num="2"), **post)
        from_photo, from_pdf = from_photo.json(), from_pdf.json()
    for body, truth in ((from_photo, photo_truth), (from_pdf, pdf_truth["pages"][1])):
        words = assert_baidu_shape(body)
        want = truth["words_result"]
        assert {name: words[name] for name in KEY_FIELDS} == {name: want[name] for name in KEY_FIELDS}
        assert words["CommodityAmount"] == want["CommodityAmount"]
        assert words["MachineCode"] == ""  # not printed, not guessed


def verification_form(words: dict, **overrides: str) -> dict:
    date = "".join(char for char in words["InvoiceDate"] if char.isdigit())
    form = {"invoice_code": words["InvoiceCode"], "invoice_num": words["InvoiceNum"], "invoice_date": date}
    return {**form, **overrides}


def test_verification_against_the_invoices_the_generator_issued(invoice_server):
    server, token = invoice_server
    classic = sample("inv_05_private_buyer")[1]["words_result"]  # an e-normal invoice: it has a check code
    digital = sample("inv_03_digital")[1]["words_result"]

    def verify(form: dict) -> dict:
        return call(server, "vat_invoice_verification", token, **form).json()

    by_check_code = verify(verification_form(classic, check_code=classic["CheckCode"][-6:]))
    by_amount = verify(verification_form(digital, total_amount=digital["AmountInFiguers"]))
    wrong_amount = verify(verification_form(digital, total_amount="1.00"))
    wrong_date = verify(
        verification_form(classic, invoice_date="20000101", check_code=classic["CheckCode"][-6:])
    )
    unknown = verify(verification_form(classic, invoice_num="99999999", check_code="123456"))
    incomplete = verify(verification_form(classic))  # neither check code nor amount

    assert (by_check_code["VerifyResult"], by_check_code["InvalidSign"]) == ("0001", "N")
    assert by_check_code["words_result"]["SellerName"] == classic["SellerName"]
    assert by_amount["VerifyResult"] == "0001"
    assert wrong_amount["VerifyResult"] == wrong_date["VerifyResult"] == "0006"
    assert wrong_amount["words_result"] == {}
    assert unknown["VerifyResult"] == "0009"
    assert incomplete["error_code"] == 216101


def test_sdk_vat_invoice_verification_round_trip(invoice_server):
    server, _ = invoice_server
    client = make_sdk_client("10000000", server.api_key, server.secret_key, server.url, timeout_s=10)
    words = sample("inv_01_classic")[1]["words_result"]

    result = client.vat_invoice_verification(verification_form(words, total_amount=words["TotalAmount"]))

    assert result["VerifyResult"] == "0001"
    assert result["words_result"]["InvoiceNum"] == words["InvoiceNum"]
