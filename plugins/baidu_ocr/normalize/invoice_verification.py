"""The tax authority's check (``vat_invoice_verification``): the query an invoice's reading makes, and what the
answer means for the invoice (pure: no Airflow).

The OCR task asks, for each invoice it read, when a run opts in; the answer's verdict is staged with the
reading under :data:`VERIFICATION_KEY` and becomes ``ocr_invoices.authority_status``. An invoice the
authority does not know, knows otherwise or lists as voided fails the ``tax_authority`` check
(``normalize.invoice_checks``). An invoice that was not asked (the run did not opt in, the reading lacks the
number or date, the call failed) is ``NULL``: unverified, not failed.
"""

from __future__ import annotations

from typing import Any

from baidu_ocr.normalize.invoice_values import clean_value, parse_amount, parse_invoice_date

VERIFICATION_ENDPOINT = "vat_invoice_verification"
# Where the OCR task stages the authority's verdict, beside the vat_invoice answer's own fields.
VERIFICATION_KEY = "tax_authority_verification"
# What of the answer is kept: the verdict, never the authority's copy of the invoice (the parties' ids).
VERDICT_FIELDS = ("VerifyResult", "VerifyMessage", "InvalidSign")

CONSISTENT, MISMATCH, NOT_FOUND, VOIDED = "consistent", "mismatch", "not_found", "voided"
FAILING_STATUSES = frozenset({MISMATCH, NOT_FOUND, VOIDED})
_RESULTS = {"0001": CONSISTENT, "0006": MISMATCH, "0009": NOT_FOUND}

# Baidu's InvoiceType (as vat_invoice names it) -> the verification's invoice_type.
INVOICE_TYPES = {
    "专用发票": "special_vat_invoice",
    "普通发票": "normal_invoice",
    "电子普通发票": "elec_normal_invoice",
    "电子专用发票": "elec_special_vat_invoice",
    "电子发票(专用发票)": "elec_invoice_special",
    "电子发票(普通发票)": "elec_invoice_normal",
}
CHECK_CODE_DIGITS = 6  # the query carries the check code's last six digits


def verification_form(words: dict[str, Any]) -> dict[str, str] | None:
    """The query for one ``vat_invoice`` reading (its ``words_result``), or ``None`` when the reading lacks
    what the authority needs: the number, the date, the type, and the check code or the amount (before tax;
    including tax on a 数电票), plus the code on a classic invoice."""
    code, number = clean_value(words.get("InvoiceCode")), clean_value(words.get("InvoiceNum"))
    day = parse_invoice_date(words.get("InvoiceDate"))
    kind = INVOICE_TYPES.get(clean_value(words.get("InvoiceType")) or "")
    if number is None or day is None or kind is None:
        return None
    form = {"invoice_num": number, "invoice_date": day.strftime("%Y%m%d"), "invoice_type": kind}
    if code:
        form["invoice_code"] = code
    elif len(number) != 20:
        return None  # a classic invoice without its code cannot be found
    check = clean_value(words.get("CheckCode"))
    amount = parse_amount(words.get("TotalAmount" if code else "AmountInFiguers"))
    if check and len(check) >= CHECK_CODE_DIGITS:
        form["check_code"] = check[-CHECK_CODE_DIGITS:]
    elif amount is not None:
        form["total_amount"] = str(amount)
    else:
        return None
    return form


def verdict(answer: dict[str, Any]) -> dict[str, str]:
    """The part of the authority's answer that is staged."""
    return {name: str(answer[name]) for name in VERDICT_FIELDS if name in answer}


def authority_status(staged: Any) -> str | None:
    """``consistent`` | ``mismatch`` | ``not_found`` | ``voided`` from a staged verdict; ``None`` when the
    invoice was not asked or the answer says nothing about it (e.g. ``0002``, the daily limit)."""
    if not isinstance(staged, dict):
        return None
    if str(staged.get("InvalidSign", "")).upper() == "Y":
        return VOIDED
    return _RESULTS.get(str(staged.get("VerifyResult", "")))
