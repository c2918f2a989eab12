"""``vat_invoice_verification``: the tax authority's check, against the invoices the samples generator issued.

The authority knows every invoice whose ground truth is in the samples folder (images, PDF and OFD pages,
tuned and validation sets): an invoice is identified by its code and number (the 20-digit number alone for
a 数电票), and a query matches when its date (``YYYYMMDD``) and either the last 6 digits of the check code
or the amount agree (``total_amount``: the amount before tax, or 价税合计 for a 数电票). Answers, as the
third-party clients quoted in the API notes name them: ``VerifyResult`` 0001 consistent, 0006 mismatch,
0009 not found; ``InvalidSign`` ``N`` (no sample invoice is voided); ``words_result`` the authority's values
when consistent.
"""

from __future__ import annotations

import json
import re
import threading
from decimal import Decimal, InvalidOperation
from pathlib import Path

from baidu_ocr_server.errors import BaiduError

VERIFY_MESSAGES = {"0001": "查验成功发票一致", "0006": "查验不一致", "0009": "查无此票"}
NOT_ENOUGH_PARAM = 216101


def _issued(truth: dict) -> list[dict]:
    """The invoices (``words_result``) one truth file describes: itself, or its PDF/OFD pages."""
    if truth.get("kind") == "invoice":
        return [truth["words_result"]]
    return [page["words_result"] for page in truth.get("pages", []) if page.get("kind") == "invoice"]


def _amount(value: str) -> Decimal | None:
    try:
        return Decimal(value.replace("¥", "").replace(",", "").strip())
    except InvalidOperation:
        return None


class InvoiceRegistry:
    """The issued invoices, keyed by (code, number); read once from the samples folder, on first use."""

    def __init__(self, samples_dir: Path) -> None:
        self.samples_dir = samples_dir
        self._issued: dict[tuple[str, str], dict] | None = None
        self._lock = threading.Lock()

    def _index(self) -> dict[tuple[str, str], dict]:
        if self._issued is None:
            with self._lock:
                if self._issued is None:
                    issued = {}
                    for path in sorted(self.samples_dir.rglob("*.json")):
                        for words in _issued(json.loads(path.read_text(encoding="utf-8"))):
                            issued[(words.get("InvoiceCode", ""), words["InvoiceNum"])] = words
                    self._issued = issued
        return self._issued

    def verify(self, form: dict[str, str]) -> dict:
        """The answer for a query form; 216101 when the number, the date or both the check code and the
        amount are missing (and the code, for a number that is not a 数电票's 20 digits)."""
        number, code = form.get("invoice_num", "").strip(), form.get("invoice_code", "").strip()
        day = form.get("invoice_date", "").strip()
        check, amount = form.get("check_code", "").strip(), form.get("total_amount", "").strip()
        if not number or not day or not (check or amount) or (len(number) != 20 and not code):
            raise BaiduError(NOT_ENOUGH_PARAM)
        issued = self._index().get(("" if len(number) == 20 else code, number))
        if issued is None:
            return self._answer("0009")
        consistent = re.sub(r"\D", "", issued.get("InvoiceDate", "")) == day
        if check:
            consistent &= bool(issued.get("CheckCode")) and issued["CheckCode"][-6:] == check
        else:
            key = "AmountInFiguers" if len(number) == 20 else "TotalAmount"
            consistent &= _amount(amount) is not None and _amount(amount) == _amount(issued.get(key, ""))
        return self._answer("0001", issued) if consistent else self._answer("0006")

    @staticmethod
    def _answer(result: str, issued: dict | None = None) -> dict:
        return {
            "VerifyResult": result,
            "VerifyMessage": VERIFY_MESSAGES[result],
            "InvalidSign": "N",
            "words_result": dict(issued or {}),
        }
