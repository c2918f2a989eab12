"""VAT invoices (``vat_invoice``): one ``ocr_invoices`` row per invoice, one ``ocr_invoice_items`` row per item.

Baidu's ``words_result`` holds scalars as strings and item lines as arrays of ``{"row", "word"}`` (one array
per column). Values are parsed strictly (``normalize.invoice_values``), every check is run on them
(``normalize.invoice_checks``) and the row says which failed; a failed invoice is ``invalid`` and goes to
review. Whether it is a duplicate is decided at load time, against what the warehouse holds
(``warehouse.invoice_identity``). A private buyer's ID number is protected (``pii.tax_ids``).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from baidu_ocr.normalize.invoice_checks import Invoice, InvoiceItem, failed_checks, join_check_names
from baidu_ocr.normalize.invoice_values import (
    clean_value,
    parse_amount,
    parse_amount_in_words,
    parse_invoice_date,
    parse_item_tax,
    parse_quantity,
    parse_tax_rate,
    parse_total_tax,
)
from baidu_ocr.normalize.invoice_verification import VERIFICATION_KEY, authority_status
from baidu_ocr.pii.policy import PiiPolicy
from baidu_ocr.pii.tax_ids import BUYER_TAX_ID_FIELD, SELLER_TAX_ID_FIELD, protect_tax_id

INVOICE_ENDPOINTS = frozenset({"vat_invoice"})
VALID = "valid"
INVALID = "invalid"

# Item columns: Baidu's array name -> our column.
_ITEM_FIELDS = {
    "CommodityName": "name",
    "CommodityType": "spec",
    "CommodityUnit": "unit",
    "CommodityNum": "quantity",
    "CommodityPrice": "unit_price",
    "CommodityAmount": "amount",
    "CommodityTaxRate": "tax_rate",
    "CommodityTax": "tax",
}


def is_invoice_result(endpoint: str, result: dict) -> bool:
    return endpoint in INVOICE_ENDPOINTS and isinstance(result.get("words_result"), dict)


def invoice_rows(
    key: dict[str, Any],
    source_uri: str | None,
    result: dict,
    pii: PiiPolicy | None,
    *,
    today: date | None = None,
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """``(ocr_invoices row, ocr_invoice_items rows)`` of one answer; ``today`` (Beijing's date by default)
    is what "not in the future" is judged against."""
    words = result["words_result"]
    items = _item_rows(key, words)
    code = clean_value(words.get("InvoiceCode"))
    invoice = Invoice(
        invoice_code=code,
        invoice_num=clean_value(words.get("InvoiceNum")),
        invoice_date=parse_invoice_date(words.get("InvoiceDate")),
        buyer_tax_id=clean_value(words.get(BUYER_TAX_ID_FIELD)),
        seller_tax_id=clean_value(words.get(SELLER_TAX_ID_FIELD)),
        amount_excl_tax=parse_amount(words.get("TotalAmount")),
        tax_amount=parse_total_tax(words.get("TotalTax"), [row["tax_rate"] for row in items]),
        amount_incl_tax=parse_amount(words.get("AmountInFiguers")),  # sic: Baidu's spelling
        amount_in_words=parse_amount_in_words(words.get("AmountInWords")),
        items=tuple(
            InvoiceItem(row["item_no"], amount=row["amount"], tax_rate=row["tax_rate"], tax=row["tax"])
            for row in items
        ),
        authority_status=authority_status(result.get(VERIFICATION_KEY)),
    )
    failed = failed_checks(invoice, today)
    buyer_tax_id, buyer_tax_id_hmac = protect_tax_id(invoice.buyer_tax_id, pii)
    seller_tax_id, _ = protect_tax_id(invoice.seller_tax_id, pii)
    row = {
        **key,
        "source_uri": source_uri,
        "invoice_type": clean_value(words.get("InvoiceType")),
        "invoice_code": code,  # NULL on a 数电票
        "invoice_num": invoice.invoice_num,
        "invoice_date": invoice.invoice_date,
        "check_code": clean_value(words.get("CheckCode")),
        "buyer_name": clean_value(words.get("PurchaserName")),
        "buyer_tax_id": buyer_tax_id,
        "buyer_tax_id_hmac": buyer_tax_id_hmac,
        "seller_name": clean_value(words.get("SellerName")),
        "seller_tax_id": seller_tax_id,
        "amount_excl_tax": invoice.amount_excl_tax,
        "tax_amount": invoice.tax_amount,
        "amount_incl_tax": invoice.amount_incl_tax,
        "amount_in_words": clean_value(words.get("AmountInWords")),
        "authority_status": invoice.authority_status,
        "checks_failed": join_check_names(failed),
        "validation_status": INVALID if failed else VALID,
        "duplicate_of": None,  # set by the load (warehouse.invoice_identity)
    }
    return row, items


def invoice_identity(invoice_code: Any, invoice_num: Any) -> str | None:
    """What makes two documents the same invoice: code + number on a classic invoice, the 20-digit number
    alone on a 数电票; ``None`` without a number (nothing to compare)."""
    code, number = clean_value(invoice_code), clean_value(invoice_num)
    if number is None:
        return None
    return f"{code}-{number}" if code else number


def _item_rows(key: dict[str, Any], words: dict) -> list[dict[str, Any]]:
    """One row per printed item line, from Baidu's per-column ``{"row", "word"}`` arrays."""
    cells: dict[int, dict[str, Any]] = {}
    for field, column in _ITEM_FIELDS.items():
        entries = words.get(field)
        if not isinstance(entries, list):
            continue
        for index, entry in enumerate(entries):
            cells.setdefault(_row_no(entry, index), {})[column] = entry
    rows = []
    for item_no in sorted(cells):
        raw = cells[item_no]
        rows.append(
            {
                **key,
                "item_no": item_no,
                "name": clean_value(raw.get("name")),
                "spec": clean_value(raw.get("spec")),
                "unit": clean_value(raw.get("unit")),
                "quantity": parse_quantity(raw.get("quantity")),
                "unit_price": parse_quantity(raw.get("unit_price")),
                "amount": parse_amount(raw.get("amount")),
                "tax_rate": parse_tax_rate(raw.get("tax_rate")),
                "tax": parse_item_tax(raw.get("tax"), raw.get("tax_rate")),
            }
        )
    return rows


def _row_no(entry: Any, index: int) -> int:
    """The item line an entry belongs to: its ``row`` (1-based), or its place in the array."""
    row = clean_value(entry.get("row")) if isinstance(entry, dict) else None
    return int(row) if row is not None and row.isdigit() else index + 1
