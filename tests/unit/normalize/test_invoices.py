"""vat_invoice answers -> ocr_invoices / ocr_invoice_items rows, the review queue, and the tax-id privacy rule."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

import pandas as pd
from baidu_ocr.normalize import PiiPolicy, normalize_records
from baidu_ocr.normalize.invoices import invoice_identity, invoice_rows
from baidu_ocr.pii.policy import hmac_id_number
from baidu_ocr.pii.sealing import unseal_id_numbers
from baidu_ocr.pipeline.records import seal_record

from tests.unit.normalize.invoice_answers import (
    BUYER_TAX_ID,
    SELLER_TAX_ID,
    all_digit_credit_code,
    id_number,
    invoice_record,
    vat_invoice_answer,
    words,
)

PII = PiiPolicy(b"test hmac key")
KEY = {"content_sha256": "1" * 64, "endpoint": "vat_invoice", "options_hash": "h", "page_no": 0}


def normalized(*answers: dict, pii: PiiPolicy | None = PII) -> dict:
    records = [invoice_record(a, sha=str(i) * 64) for i, a in enumerate(answers, start=1)]
    return normalize_records(records, pii=pii)


def test_a_classic_invoice_becomes_one_typed_row_and_its_items():
    frames = normalized(vat_invoice_answer())
    [row] = frames["ocr_invoices"].to_dict("records")
    assert row["invoice_code"] == "3100231130" and row["invoice_num"] == "12345678"
    assert row["invoice_date"] == date(2025, 5, 15)
    assert (row["amount_excl_tax"], row["tax_amount"], row["amount_incl_tax"]) == (
        Decimal("1000.00"),
        Decimal("130.00"),
        Decimal("1130.00"),
    )
    assert all(isinstance(row[c], Decimal) for c in ("amount_excl_tax", "tax_amount", "amount_incl_tax"))
    assert row["amount_in_words"] == "壹仟壹佰叁拾圆整"
    assert row["buyer_tax_id"] == BUYER_TAX_ID and row["seller_tax_id"] == SELLER_TAX_ID
    assert row["checks_failed"] == "" and row["validation_status"] == "valid"
    assert row["source_uri"] == "s3://bucket/invoices/11111111.jpg"
    assert frames["ocr_review_queue"].empty
    items = frames["ocr_invoice_items"].to_dict("records")
    assert [(i["item_no"], i["name"], i["spec"], i["unit"]) for i in items] == [
        (1, "*信息技术服务*软件维护", "V2", "项"),
        (2, "*电子计算机*键盘", "K-104", "个"),
    ]
    assert [(i["quantity"], i["unit_price"], i["amount"], i["tax_rate"], i["tax"]) for i in items] == [
        (Decimal(1), Decimal(600), Decimal("600.00"), Decimal("0.13"), Decimal("78.00")),
        (Decimal(4), Decimal(100), Decimal("400.00"), Decimal("0.13"), Decimal("52.00")),
    ]
    assert str(frames["ocr_invoices"]["amount_incl_tax"].dtype) == "decimal128(18, 2)[pyarrow]"


def test_a_digital_invoice_has_no_code_and_a_20_digit_number():
    frames = normalized(vat_invoice_answer(digital=True))
    [row] = frames["ocr_invoices"].to_dict("records")
    assert pd.isna(row["invoice_code"])
    assert row["invoice_num"] == "25312000000012345678" and row["validation_status"] == "valid"
    assert invoice_identity(None, row["invoice_num"]) == "25312000000012345678"
    assert invoice_identity("3100231130", "12345678") == "3100231130-12345678"
    assert invoice_identity("3100231130", "") is None


def test_a_failed_invoice_is_invalid_needs_review_and_queued_with_its_failed_checks():
    answer = vat_invoice_answer(AmountInWords="壹仟壹佰叁拾壹圆整", TotalTax="131.00")
    frames = normalized(answer)
    [row] = frames["ocr_invoices"].to_dict("records")
    assert row["checks_failed"] == "totals_add_up,items_sum_to_tax,amount_in_words"
    assert row["validation_status"] == "invalid" and row["review_status"] == "needs_review"
    [queued] = frames["ocr_review_queue"].to_dict("records")
    assert queued["reason"] == row["checks_failed"] and queued["status"] == "open"
    assert queued["source_uri"] == row["source_uri"] and json.loads(queued["low_lines"]) == []
    assert frames["ocr_documents"].iloc[0]["review_status"] == "needs_review"


def test_a_value_that_does_not_parse_is_null_and_fails_its_check():
    frames = normalized(vat_invoice_answer(TotalAmount="1OOO.00", InvoiceDate="2025年13月01日"))
    [row] = frames["ocr_invoices"].to_dict("records")
    assert pd.isna(row["amount_excl_tax"])
    assert frames["ocr_invoices"]["amount_excl_tax"].isna().all()
    assert frames["ocr_invoices"]["invoice_date"].isna().all()
    assert row["checks_failed"].split(",") == ["totals_add_up", "items_sum_to_amount", "date_valid"]


def test_tax_free_items():
    answer = vat_invoice_answer(
        TotalAmount="1000.00",
        TotalTax="52.00",
        AmountInFiguers="1052.00",
        AmountInWords="壹仟零伍拾贰圆整",
        CommodityTaxRate=words(["免税", "13%"]),
        CommodityTax=words(["***", "52.00"]),
    )
    [row] = normalized(answer)["ocr_invoices"].to_dict("records")
    assert row["checks_failed"] == ""


def test_a_private_buyers_id_number_is_masked_with_its_hmac_everywhere():
    number = id_number()
    frames = normalized(vat_invoice_answer(buyer_tax_id=number, PurchaserName="张三"))
    [row] = frames["ocr_invoices"].to_dict("records")
    assert row["buyer_tax_id"] == number[:6] + "********" + number[-4:]
    assert row["buyer_tax_id_hmac"] == hmac_id_number(number, PII.hmac_key)
    assert row["checks_failed"] == ""  # a valid ID number is a valid buyer id
    assert row["seller_tax_id"] == SELLER_TAX_ID
    for name, frame in frames.items():
        assert number not in frame.astype(str).to_csv(), name
    fields = frames["ocr_fields"].set_index("field")["value"]
    assert fields["PurchaserRegisterNum"] == row["buyer_tax_id"]


def test_without_a_pii_policy_the_id_number_is_masked_and_not_hashed():
    number = id_number()
    [row] = normalized(vat_invoice_answer(buyer_tax_id=number), pii=None)["ocr_invoices"].to_dict("records")
    assert row["buyer_tax_id"].startswith("110105****")
    assert pd.isna(row["buyer_tax_id_hmac"])


def test_an_all_digit_company_code_stays_clear_in_every_table_even_with_an_id_numbers_checksum():
    code = all_digit_credit_code(passes_id_checksum=True)  # what the shape-only masking pass would mask
    frames = normalized(vat_invoice_answer(seller_tax_id=code, buyer_tax_id=all_digit_credit_code()))
    [row] = frames["ocr_invoices"].to_dict("records")
    assert row["seller_tax_id"] == code and row["buyer_tax_id"] == all_digit_credit_code()
    assert pd.isna(row["buyer_tax_id_hmac"])
    fields = frames["ocr_fields"].set_index("field")["value"]
    assert fields["SellerRegisterNum"] == code
    assert fields["PurchaserRegisterNum"] == all_digit_credit_code()


def test_the_same_digits_outside_a_tax_id_field_are_still_masked():
    code = all_digit_credit_code(passes_id_checksum=True)
    frames = normalized(vat_invoice_answer(Remarks=f"订单 {code}", PurchaserName=code))
    fields = frames["ocr_fields"].set_index("field")["value"]
    assert code not in fields["Remarks"] and code not in fields["PurchaserName"]
    assert code not in frames["ocr_invoices"].iloc[0]["buyer_name"]


def test_the_staged_record_seals_an_id_number_and_keeps_company_codes_clear():
    number, code = id_number(), all_digit_credit_code(passes_id_checksum=True)
    key = PII.sealing_key()
    record = invoice_record(vat_invoice_answer(buyer_tax_id=number, seller_tax_id=code), sha="1" * 64)
    staged = seal_record(dict(record), key)
    assert number not in staged["result_json"]
    assert json.loads(staged["result_json"])["words_result"]["SellerRegisterNum"] == code
    opened = json.loads(unseal_id_numbers(staged["result_json"], key))
    assert opened["words_result"]["PurchaserRegisterNum"] == number
    masked = json.loads(seal_record(dict(record), None)["result_json"])["words_result"]  # no PII connection
    assert masked["SellerRegisterNum"] == code and number not in masked["PurchaserRegisterNum"]


def test_invoice_rows_judge_the_date_against_the_given_day():
    answer = vat_invoice_answer(date_text="2025年05月15日")
    row, _ = invoice_rows(KEY, "s3://b/k.jpg", answer, PII, today=date(2025, 5, 14))
    assert row["checks_failed"] == "date_valid"
    row, _ = invoice_rows(KEY, "s3://b/k.jpg", answer, PII, today=date(2025, 5, 15))
    assert row["checks_failed"] == ""


def test_a_misread_id_number_in_the_buyer_field_is_masked_and_fails_its_check():
    number = id_number()
    misread = number[:-1] + ("1" if number[-1] != "1" else "2")
    frames = normalized(vat_invoice_answer(buyer_tax_id=misread))
    [row] = frames["ocr_invoices"].to_dict("records")
    assert row["buyer_tax_id"] == misread[:6] + "********" + misread[-4:]
    assert row["checks_failed"] == "buyer_tax_id" and pd.isna(row["buyer_tax_id_hmac"])
    assert frames["ocr_fields"].set_index("field")["value"]["PurchaserRegisterNum"] == row["buyer_tax_id"]


def test_a_credit_note_is_negative_in_figures_and_words_and_passes_its_checks():
    answer = vat_invoice_answer(
        TotalAmount="-1000.00",
        TotalTax="-130.00",
        AmountInFiguers="-¥1,130.00",
        AmountInWords="(负数)壹仟壹佰叁拾圆整",
        CommodityAmount=words(["-600.00", "-400.00"]),
        CommodityTax=words(["-78.00", "-52.00"]),
    )
    row, _ = invoice_rows(KEY, "s3://b/credit.pdf", answer, None, today=date(2025, 6, 1))
    assert (row["amount_incl_tax"], row["checks_failed"]) == (Decimal("-1130.00"), "")


def test_an_invoice_whose_every_item_is_tax_free_may_print_stars_for_its_tax():
    answer = vat_invoice_answer(
        TotalTax="***",
        AmountInFiguers="¥1,000.00",
        AmountInWords="壹仟圆整",
        CommodityTaxRate=words(["免税", "0%"]),
        CommodityTax=words(["***", "***"]),
    )
    row, _ = invoice_rows(KEY, "s3://b/exempt.jpg", answer, None, today=date(2025, 6, 1))
    assert (row["tax_amount"], row["checks_failed"]) == (Decimal("0.00"), "")
    answer = vat_invoice_answer(TotalTax="***")  # taxed items: the stars are no amount
    row, _ = invoice_rows(KEY, "s3://b/taxed.jpg", answer, None, today=date(2025, 6, 1))
    assert row["tax_amount"] is None and "totals_add_up" in row["checks_failed"]
