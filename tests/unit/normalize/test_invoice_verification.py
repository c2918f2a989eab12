"""The tax authority's check: the query an invoice's reading makes, and what the answer means for it."""

from __future__ import annotations

import pytest
from baidu_ocr.normalize.invoice_verification import (
    VERIFICATION_KEY,
    authority_status,
    verdict,
    verification_form,
)
from baidu_ocr.normalize.invoices import invoice_rows

CLASSIC = {
    "InvoiceType": "专用发票",
    "InvoiceCode": "3100231130",
    "InvoiceNum": "12345678",
    "InvoiceDate": "2025年05月15日",
    "TotalAmount": "¥1,000.00",
    "AmountInFiguers": "1130.00",
    "CheckCode": "",
}
DIGITAL = {
    "InvoiceType": "电子发票（普通发票）",  # full-width brackets, as printed
    "InvoiceCode": "",
    "InvoiceNum": "25312000000012345678",
    "InvoiceDate": "2025年05月15日",
    "TotalAmount": "1000.00",
    "AmountInFiguers": "1130.00",
}


def test_a_classic_invoice_is_asked_by_code_number_date_and_amount_before_tax():
    assert verification_form(CLASSIC) == {
        "invoice_code": "3100231130",
        "invoice_num": "12345678",
        "invoice_date": "20250515",
        "invoice_type": "special_vat_invoice",
        "total_amount": "1000.00",
    }


def test_a_check_code_is_sent_as_its_last_six_digits_instead_of_the_amount():
    form = verification_form({**CLASSIC, "InvoiceType": "电子普通发票", "CheckCode": "12345678901234567890"})
    assert form["check_code"] == "567890" and "total_amount" not in form
    assert form["invoice_type"] == "elec_normal_invoice"


def test_a_digital_invoice_is_asked_by_its_number_and_the_amount_including_tax():
    form = verification_form(DIGITAL)
    assert form == {
        "invoice_num": "25312000000012345678",
        "invoice_date": "20250515",
        "invoice_type": "elec_invoice_normal",
        "total_amount": "1130.00",
    }


@pytest.mark.parametrize(
    "changes",
    [
        {"InvoiceNum": ""},
        {"InvoiceDate": "2025年02月30日"},  # no such day
        {"InvoiceType": "火车票"},  # no invoice type the authority checks
        {"InvoiceCode": ""},  # an 8-digit number without its code
        {"TotalAmount": "一千", "CheckCode": ""},
    ],
)
def test_a_reading_that_lacks_what_the_query_needs_is_not_asked(changes):
    assert verification_form({**CLASSIC, **changes}) is None


@pytest.mark.parametrize(
    ("answer", "status"),
    [
        ({"VerifyResult": "0001", "InvalidSign": "N"}, "consistent"),
        ({"VerifyResult": "0006", "InvalidSign": "N"}, "mismatch"),
        ({"VerifyResult": "0009"}, "not_found"),
        ({"VerifyResult": "0001", "InvalidSign": "Y"}, "voided"),
        ({"VerifyResult": "0002"}, None),  # the daily limit: says nothing about the invoice
        (None, None),  # not asked
    ],
)
def test_the_authoritys_answer_becomes_a_status(answer, status):
    assert authority_status(answer) == status


def test_only_the_verdict_is_kept_not_the_authoritys_copy_of_the_invoice():
    answer = {"VerifyResult": "0001", "VerifyMessage": "查验成功发票一致", "InvalidSign": "N"}
    assert verdict({**answer, "words_result": {"PurchaserRegisterNum": "110101199003074578"}}) == answer


def test_an_invoice_the_authority_does_not_know_is_loaded_invalid():
    key = {"content_sha256": "a" * 64, "endpoint": "vat_invoice", "options_hash": "o", "page_no": 0}
    result = {"words_result": CLASSIC, VERIFICATION_KEY: {"VerifyResult": "0009"}}
    row, _ = invoice_rows(key, "s3://b/k.jpg", result, None)
    assert row["authority_status"] == "not_found"
    assert "tax_authority" in row["checks_failed"].split(",") and row["validation_status"] == "invalid"
