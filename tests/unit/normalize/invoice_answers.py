"""Realistic ``vat_invoice`` answers for tests: valid codes (stdnum's check digits), amounts that add up."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from baidu_ocr.pii.policy import is_valid_id_number
from baidu_ocr.pipeline.records import OcrOutcome
from stdnum.cn import ric, uscc


def credit_code(base17: str) -> str:
    """A valid unified social credit code from its 17 leading characters."""
    return base17 + uscc.calc_check_digit(base17)


def id_number(base17: str = "11010519800101001") -> str:
    """A valid resident ID number (real region 110105, a real birth date) from its 17 leading digits."""
    return base17 + ric.calc_check_digit(base17 + "0")


def all_digit_credit_code(*, passes_id_checksum: bool = False) -> str:
    """An 18-digit credit code, shaped exactly like an ID number; with ``passes_id_checksum``, one whose last
    digit is even the GB 11643 check digit (only its birth date and region tell it is not an ID number)."""
    for n in itertools.count(440300708461100):
        code = credit_code(f"91{n}")
        if code.isdigit() and bool(is_valid_id_number(code)) == passes_id_checksum:
            return code
    raise AssertionError("unreachable")


SELLER_TAX_ID = credit_code("91110108551385082")  # ...Q: letters and digits
BUYER_TAX_ID = credit_code("91330100143586781")


def words(entries: list[str]) -> list[dict[str, str]]:
    return [{"row": str(i), "word": w} for i, w in enumerate(entries, start=1)]


def vat_invoice_answer(
    *,
    digital: bool = False,
    number: str | None = None,
    buyer_tax_id: str = BUYER_TAX_ID,
    seller_tax_id: str = SELLER_TAX_ID,
    date_text: str = "2025年05月15日",
    **overrides: Any,
) -> dict:
    """A 专用发票 (code + 8-digit number) or a 数电票 (20-digit number, no code) of two items at 13 %:
    1000.00 + 130.00 = 1130.00 (壹仟壹佰叁拾圆整). ``overrides`` replace ``words_result`` fields."""
    result = {
        "InvoiceType": "电子发票(专用发票)" if digital else "专用发票",
        "InvoiceCode": "" if digital else "3100231130",
        "InvoiceNum": number or ("25312000000012345678" if digital else "12345678"),
        "InvoiceDate": date_text,
        "CheckCode": "" if digital else "12345678901234567890",
        "PurchaserName": "上海某某科技有限公司",
        "PurchaserRegisterNum": buyer_tax_id,
        "SellerName": "北京某某软件有限公司",
        "SellerRegisterNum": seller_tax_id,
        "TotalAmount": "1000.00",
        "TotalTax": "130.00",
        "AmountInFiguers": "¥1,130.00",
        "AmountInWords": "壹仟壹佰叁拾圆整",
        "CommodityName": words(["*信息技术服务*软件维护", "*电子计算机*键盘"]),
        "CommodityType": words(["V2", "K-104"]),
        "CommodityUnit": words(["项", "个"]),
        "CommodityNum": words(["1", "4"]),
        "CommodityPrice": words(["600", "100.00"]),
        "CommodityAmount": words(["600.00", "400.00"]),
        "CommodityTaxRate": words(["13%", "13%"]),
        "CommodityTax": words(["78.00", "52.00"]),
    }
    result.update(overrides)
    return {"log_id": 1234567890123456789, "words_result_num": len(result), "words_result": result}


def invoice_record(
    answer: dict,
    *,
    sha: str,
    uri: str | None = None,
    page_no: int = 0,
    processed_at: datetime | None = None,
    run_id: str = "run-1",
) -> dict[str, Any]:
    """The raw record an OCR task stages for one ``vat_invoice`` answer."""
    outcome = OcrOutcome(
        key=uri or f"s3://bucket/invoices/{sha[:8]}.jpg",
        ok=True,
        result=json.loads(json.dumps(answer)),
        content_sha256=sha,
        attempts=1,
        page_no=page_no,
    )
    record = outcome.to_record(
        endpoint="vat_invoice",
        options={"type": "normal"},
        processed_at=processed_at or datetime(2025, 6, 1, tzinfo=UTC),
    )
    return {**record, "dag_id": "baidu_ocr_invoices_to_warehouse", "run_id": run_id}


MONEY_1130 = Decimal("1130.00")
