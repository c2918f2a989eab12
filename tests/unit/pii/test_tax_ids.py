"""Tax ids on invoices: a company's code stays in clear, a person's ID number never does; decided by checksum
and birth date, not by shape (many credit codes are 18 digits)."""

from __future__ import annotations

import pytest
from baidu_ocr.pii.policy import gb11643_check_char, mask_id_number
from baidu_ocr.pii.tax_ids import is_company_tax_id, is_id_number, protect_tax_id
from stdnum.cn import uscc


def _id_number(first17: str) -> str:
    return first17 + gb11643_check_char(first17)


def _credit_code(first17: str) -> str:
    return first17 + uscc.calc_check_digit(first17)


def test_an_id_number_of_a_district_younger_than_its_holder_is_still_an_id_number():
    # 510107 (武侯区) exists since 1990; its residents born before carry it too.
    number = _id_number("51010719610302717")
    assert is_id_number(number)
    assert not is_company_tax_id(number)


def test_an_all_digit_credit_code_stays_in_clear_and_an_id_number_is_masked_and_hashed():
    code = _credit_code("91320106708827963")
    assert code.isdigit() and is_company_tax_id(code) and not is_id_number(code)
    assert protect_tax_id(code, None) == (code, None)
    number = _id_number("11010519900307123")
    assert protect_tax_id(number, None) == (mask_id_number(number), None)


@pytest.mark.parametrize("birth", ["19901332", "19900230", "00000000"])
def test_a_checksum_that_matches_by_chance_without_a_real_birth_date_is_no_id_number(birth):
    assert not is_id_number(_id_number(f"110105{birth}123"))


def test_an_individual_business_number_built_on_an_id_number_is_masked_and_hashed_whole():
    from baidu_ocr.pii.policy import PiiPolicy

    person = _id_number("11010519900307123")
    pii = PiiPolicy(hmac_key=b"k" * 32)
    for value in (person + "01", "110105900307123"):  # ID number + 2 digits; a first-generation number
        stored, digest = protect_tax_id(value, pii)
        assert stored == mask_id_number(value) and value not in stored
    assert protect_tax_id(person + "01", pii)[1] == protect_tax_id(person, pii)[1]  # joins on the person


def test_a_staged_invoice_seals_an_individuals_tax_id_and_keeps_a_companys():
    import json

    from baidu_ocr.pii.sealing import unseal_id_numbers
    from baidu_ocr.pipeline.records import seal_record

    individual, company = _id_number("11010519900307123") + "01", _credit_code("91320106708827963")
    answer = {"words_result": {"PurchaserRegisterNum": individual, "SellerRegisterNum": company}}
    key = b"s" * 32
    staged = seal_record({"result_json": json.dumps(answer)}, key)["result_json"]
    assert individual not in staged and company in staged
    assert json.loads(unseal_id_numbers(staged, key)) == answer  # the load opens it as it was read
    masked = seal_record({"result_json": json.dumps(answer)}, None)["result_json"]
    assert individual not in masked and mask_id_number(individual) in masked


def test_a_birth_year_before_1900_is_a_credit_codes_digits_not_a_person():
    assert not is_id_number(_id_number("91038781600504915"))  # "born" in 8160
