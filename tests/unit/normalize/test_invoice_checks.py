"""Every invoice check passing and failing, and the strict parsing of the values the checks read."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from baidu_ocr.normalize.invoice_checks import (
    CHECK_NAMES,
    CHECKS,
    Invoice,
    InvoiceItem,
    failed_check_names,
    failed_checks,
    join_check_names,
)
from baidu_ocr.normalize.invoice_values import (
    parse_amount,
    parse_amount_in_words,
    parse_invoice_date,
    parse_item_tax,
    parse_quantity,
    parse_tax_rate,
)

from tests.unit.normalize.invoice_answers import (
    BUYER_TAX_ID,
    SELLER_TAX_ID,
    all_digit_credit_code,
    credit_code,
    id_number,
)

TODAY = date(2025, 6, 1)
D = Decimal


def classic(**changes) -> Invoice:
    """A classic 专用发票 that passes every check: 600 + 400 before tax, 13 %."""
    invoice = Invoice(
        invoice_code="3100231130",
        invoice_num="12345678",
        invoice_date=date(2025, 5, 15),
        buyer_tax_id=BUYER_TAX_ID,
        seller_tax_id=SELLER_TAX_ID,
        amount_excl_tax=D("1000.00"),
        tax_amount=D("130.00"),
        amount_incl_tax=D("1130.00"),
        amount_in_words=D("1130.00"),
        items=(
            InvoiceItem(1, amount=D("600.00"), tax_rate=D("0.13"), tax=D("78.00")),
            InvoiceItem(2, amount=D("400.00"), tax_rate=D("0.13"), tax=D("52.00")),
        ),
    )
    return replace(invoice, **changes)


def test_the_check_names_are_the_functions_names_in_order():
    assert CHECK_NAMES == (
        "totals_add_up",
        "items_sum_to_amount",
        "items_sum_to_tax",
        "item_tax_matches_rate",
        "amount_in_words",
        "buyer_tax_id",
        "seller_tax_id",
        "number_shape",
        "code_shape",
        "date_valid",
        "tax_authority",
    )
    assert [c.__name__ for c in CHECKS] == list(CHECK_NAMES)


def test_a_correct_classic_invoice_and_a_correct_digital_one_pass_every_check():
    assert failed_checks(classic(), TODAY) == []
    digital = classic(invoice_code=None, invoice_num="25312000000012345678")
    assert failed_checks(digital, TODAY) == []


@pytest.mark.parametrize(
    ("changes", "failed"),
    [
        ({"amount_incl_tax": D("1130.01"), "amount_in_words": D("1130.01")}, ["totals_add_up"]),
        ({"tax_amount": None}, ["totals_add_up", "items_sum_to_tax"]),
        (
            {
                "amount_excl_tax": D("1001.00"),
                "amount_incl_tax": D("1131.00"),
                "amount_in_words": D("1131.00"),
            },
            ["items_sum_to_amount"],
        ),
        (
            {"tax_amount": D("131.00"), "amount_incl_tax": D("1131.00"), "amount_in_words": D("1131.00")},
            ["items_sum_to_tax"],
        ),
        ({"amount_in_words": D("1103.00")}, ["amount_in_words"]),
        ({"amount_in_words": None}, ["amount_in_words"]),
        ({"buyer_tax_id": BUYER_TAX_ID[:-1] + ("0" if BUYER_TAX_ID[-1] != "0" else "1")}, ["buyer_tax_id"]),
        ({"buyer_tax_id": None}, ["buyer_tax_id"]),
        ({"seller_tax_id": id_number()}, ["seller_tax_id"]),  # a person's number is no seller's code
        ({"seller_tax_id": "91110108551385082A"}, ["seller_tax_id"]),
        ({"invoice_num": "1234567"}, ["number_shape"]),
        ({"invoice_num": "25312000000012345678"}, ["number_shape"]),  # a classic invoice has 8 digits
        ({"invoice_num": "1234567O"}, ["number_shape"]),  # letter O read for a zero
        ({"invoice_code": "31002311"}, ["code_shape"]),
        ({"invoice_code": None}, ["number_shape"]),  # no code: a 数电票, whose number has 20 digits
        ({"invoice_date": date(2025, 6, 2)}, ["date_valid"]),  # tomorrow
        ({"invoice_date": date(1993, 12, 31)}, ["date_valid"]),
        ({"invoice_date": None}, ["date_valid"]),
        ({"authority_status": "not_found"}, ["tax_authority"]),
        ({"authority_status": "mismatch"}, ["tax_authority"]),
        ({"authority_status": "voided"}, ["tax_authority"]),
        ({"authority_status": "consistent"}, []),
        ({"authority_status": None}, []),  # not asked: unverified, not failed
    ],
)
def test_each_check_fails_on_its_own_fault(changes, failed):
    assert failed_checks(classic(**changes), TODAY) == failed


def test_the_item_checks():
    one_cent_off = classic(
        items=(
            InvoiceItem(1, amount=D("600.00"), tax_rate=D("0.13"), tax=D("78.01")),
            InvoiceItem(2, amount=D("400.00"), tax_rate=D("0.13"), tax=D("51.99")),
        )
    )
    assert failed_checks(one_cent_off, TODAY) == []  # tax-inclusive pricing: a cent either way
    wrong_rate = classic(
        items=(
            InvoiceItem(1, amount=D("600.00"), tax_rate=D("0.09"), tax=D("78.00")),
            InvoiceItem(2, amount=D("400.00"), tax_rate=D("0.13"), tax=D("52.00")),
        )
    )
    assert failed_checks(wrong_rate, TODAY) == ["item_tax_matches_rate"]
    unread = classic(
        items=(
            InvoiceItem(1, amount=None, tax_rate=D("0.13"), tax=D("78.00")),
            InvoiceItem(2, amount=D("400.00"), tax_rate=D("0.13"), tax=D("52.00")),
        )
    )
    assert failed_checks(unread, TODAY) == ["items_sum_to_amount", "item_tax_matches_rate"]
    none_read = classic(items=())
    assert failed_checks(none_read, TODAY) == [
        "items_sum_to_amount",
        "items_sum_to_tax",
        "item_tax_matches_rate",
    ]


def test_a_private_buyer_with_a_valid_id_number_passes_and_a_misread_one_fails():
    assert failed_checks(classic(buyer_tax_id=id_number()), TODAY) == []
    misread = id_number()[:-1] + ("1" if id_number()[-1] != "1" else "2")
    assert failed_checks(classic(buyer_tax_id=misread), TODAY) == ["buyer_tax_id"]


def test_an_all_digit_credit_code_is_a_valid_company_tax_id():
    code = all_digit_credit_code(passes_id_checksum=True)
    assert code.isdigit() and len(code) == 18
    assert failed_checks(classic(seller_tax_id=code, buyer_tax_id=code), TODAY) == []


def test_checks_failed_text_round_trips():
    assert join_check_names([]) == "" and failed_check_names("") == [] and failed_check_names(None) == []
    assert failed_check_names(join_check_names(["totals_add_up", "date_valid"])) == [
        "totals_add_up",
        "date_valid",
    ]


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("1130.00", D("1130.00")),
        ("¥1,130.00", D("1130.00")),
        ("￥1130", D("1130.00")),
        ("１，１３０．００", D("1130.00")),  # full-width digits, comma and point
        ("¥ 12,345,678.90", D("12345678.90")),
        ("-100.00", D("-100.00")),  # a red-letter (credit) invoice
        ("12.340", D("12.34")),
        ("12.345", None),  # not an amount in cents: refused, not rounded
        ("1,13.00", None),  # a comma that is no thousands separator
        ("1130.OO", None),  # letters O read for zeros
        ("", None),
        (None, None),
        ("***", None),
    ],
)
def test_amounts_parse_strictly(text, amount):
    parsed = parse_amount(text)
    assert parsed == amount
    if amount is not None:
        assert parsed.as_tuple().exponent == -2  # quantized to the cent


def test_quantities_and_unit_prices_keep_their_decimals():
    assert parse_quantity("3.14159265") == D("3.14159265")
    assert parse_quantity("0.123456789") is None


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("13%", D("0.13")),
        ("１３％", D("0.13")),
        ("1.5%", D("0.015")),
        ("免税", D(0)),
        ("不征税", D(0)),
        ("13", None),
    ],
)
def test_tax_rates_are_fractions(text, rate):
    assert parse_tax_rate(text) == rate


def test_a_tax_free_items_stars_are_zero_tax_but_only_there():
    assert parse_item_tax("***", "免税") == D("0.00")
    assert parse_item_tax("***", "0%") == D("0.00")
    assert parse_item_tax("***", "13%") is None
    assert parse_item_tax("52.00", "13%") == D("52.00")


@pytest.mark.parametrize(
    ("text", "amount"),
    [
        ("壹仟贰佰叁拾肆元伍角陆分", D("1234.56")),
        ("壹仟壹佰叁拾圆整", D("1130.00")),
        ("ⓧ壹仟壹佰叁拾圆整", D("1130.00")),  # the crossed circle printed before the words
        ("人民币壹万元零伍分", D("10000.05")),
        ("壹拾元零伍角", D("10.50")),
        ("伍角陆分", D("0.56")),
        ("贰佰零壹元整", D("201.00")),
        ("壹仟贰元", None),  # colloquial 1200: refused
        ("壹元伍角陆分整", None),  # 整 after 分
        ("元整", None),
        ("一千元", D("1000.00")),
        ("(负数)壹仟壹佰叁拾圆整", D("-1130.00")),  # a credit note (红字发票)
        ("（负数）ⓧ壹仟壹佰叁拾圆整", D("-1130.00")),
        ("壹佰元零角伍分", D("100.05")),  # some billing systems print the empty 角
        ("不是金额", None),
        ("", None),
    ],
)
def test_amounts_in_words(text, amount):
    assert parse_amount_in_words(text) == amount


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2025年05月15日", date(2025, 5, 15)),
        ("2025年5月1日", date(2025, 5, 1)),
        ("２０２５年０５月１５日", date(2025, 5, 15)),
        ("2025-05-15", date(2025, 5, 15)),
        ("20250515", date(2025, 5, 15)),
        ("2025年02月30日", None),
        ("2025年05月", None),
        ("", None),
    ],
)
def test_invoice_dates(text, day):
    assert parse_invoice_date(text) == day


def test_credit_code_helper_makes_valid_codes():
    assert credit_code("91110108551385082") == "91110108551385082Q"


def test_a_credit_notes_amount_in_figures_is_negative():
    assert parse_amount("-¥1,130.00") == D("-1130.00")
    assert parse_amount("--1") is None
