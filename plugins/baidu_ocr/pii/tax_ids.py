"""Tax ids on invoices: a company's is public, a private buyer's is an ID number (pure: no Airflow, no I/O).

A company's tax id is its unified social credit code (GB 32100), printed on every invoice and public; many
are 18 digits, shaped exactly like an ID number, so shape cannot tell them apart. The field and the checksums
can: in an invoice's tax-id fields (:data:`TAX_ID_FIELDS`), a value that is a valid ID number (GB 11643:
checksum and a real birth date) is personal data and protected like every ID number; one
that is a valid credit code (``stdnum.cn.uscc``) and not an ID number stays in clear. Anything else (a
misread) is masked if it is ID-shaped, as every text is. A value valid as both is treated as an ID number:
protecting a company's public code costs little, printing a person's ID number would not be undone.
"""

from __future__ import annotations

import re
from datetime import date

from stdnum.cn import ric, uscc
from stdnum.exceptions import ValidationError

from baidu_ocr.pii.policy import (
    PiiPolicy,
    is_valid_id_number,
    mask_id_number,
    mask_id_numbers_in_text,
    normalize_id_number,
)

EARLIEST_BIRTH_YEAR = 1900  # a "birth date" before it is a credit code's digits, not a person's
_ID15 = re.compile(r"\d{15}")

# Baidu's vat_invoice fields that hold a party's tax id (纳税人识别号 / 统一社会信用代码).
BUYER_TAX_ID_FIELD = "PurchaserRegisterNum"
SELLER_TAX_ID_FIELD = "SellerRegisterNum"
TAX_ID_FIELDS = (BUYER_TAX_ID_FIELD, SELLER_TAX_ID_FIELD)


def is_tax_id_field(path: str | None) -> bool:
    """``path`` (a field name, or an ``ocr_fields`` path such as ``[0].result.SellerRegisterNum``) names a
    party's tax id."""
    return bool(path) and str(path).rsplit(".", 1)[-1] in TAX_ID_FIELDS


def keeps_in_clear(path: str | None, value: str | None) -> bool:
    """The value of this field may be stored as read: a company's tax id in a tax-id field."""
    return is_tax_id_field(path) and is_company_tax_id(value)


def company_tax_ids_in(result: object) -> frozenset[str]:
    """The company tax ids an answer holds in its tax-id fields (``words_result``, as ``vat_invoice`` answers):
    the texts a staged record keeps in clear."""
    return frozenset(value for value in _tax_ids_in(result) if is_company_tax_id(value))


def personal_tax_ids_in(result: object) -> frozenset[str]:
    """The tax ids of an answer that hold a person's ID number (:func:`holds_id_number`): the texts a staged
    record seals whole, shape or not."""
    return frozenset(
        value for value in _tax_ids_in(result) if not is_company_tax_id(value) and holds_id_number(value)
    )


def _tax_ids_in(result: object) -> list[str]:
    words = result.get("words_result") if isinstance(result, dict) else None
    if not isinstance(words, dict):
        return []
    return [value for name in TAX_ID_FIELDS if isinstance(value := words.get(name), str)]


def is_id_number(value: str | None) -> bool:
    """A valid resident ID number: the GB 11643 checksum (``policy.is_valid_id_number``, the rule ID cards
    use) and a real birth date, which most all-digit credit codes, whose checksum may match by chance, lack.

    Not ``stdnum.cn.ric.is_valid``: it also asks that the region code existed in the birth year, and people
    registered after their district was created carry its code whatever their birth year (510107, 武侯区, from
    1990, on a number of someone born in 1961): it would leave a real ID number unprotected.
    """
    number = normalize_id_number(value)
    if not is_valid_id_number(number):
        return False
    try:
        born = ric.get_birth_date(number)
    except ValidationError:
        return False
    return EARLIEST_BIRTH_YEAR <= born.year <= date.today().year


def holds_id_number(value: str | None) -> bool:
    """A tax id that is a person's ID number or is built on one: 18 characters, an individual business's
    older 20-digit number (the holder's ID number + 2 digits: not matched by shape, which stops at longer
    digit runs), or a first-generation 15-digit number (no check digit to tell it from other numbers: in a
    tax-id field, that shape is enough)."""
    number = normalize_id_number(value)
    if not number:
        return False
    return bool(_ID15.fullmatch(number)) or (len(number) in (18, 20) and is_id_number(number[:18]))


def is_credit_code(value: str | None) -> bool:
    """A valid unified social credit code (GB 32100 checksum: ``stdnum.cn.uscc``)."""
    number = normalize_id_number(value)
    return bool(number) and uscc.is_valid(number)


def is_company_tax_id(value: str | None) -> bool:
    """A credit code that is not also an ID number: public, kept in clear."""
    return is_credit_code(value) and not is_id_number(value)


def protect_tax_id(value: str | None, pii: PiiPolicy | None) -> tuple[str | None, str | None]:
    """``(stored text, HMAC)`` of a tax id as read: a company's code in clear (no HMAC); an ID number
    masked as ``ocr_idcards.id_number_masked`` is, with its HMAC when a policy is configured; anything else
    as read, with any ID-shaped run masked."""
    number = normalize_id_number(value)
    if number is None:
        return None, None
    if is_company_tax_id(number):
        return number, None
    if holds_id_number(number):
        person = number[:18] if is_id_number(number[:18]) else None
        return mask_id_number(number), pii.protect(person)["id_number_hmac"] if pii and person else None
    return mask_id_numbers_in_text(number), None
