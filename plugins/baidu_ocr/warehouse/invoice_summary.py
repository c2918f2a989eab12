"""What a run's invoices add up to: the summary's invoice lines, read back from the warehouse.

Read from the loaded rows rather than from the staged answers, so the figures are the ones a finance analyst
will query: after the checks, the duplicate marks and the exact decimal amounts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from baidu_ocr.warehouse.connection import WarehouseConnection
from baidu_ocr.warehouse.reads import read_rows


def invoice_summary(wh: WarehouseConnection, dag_id: str, run_id: str) -> dict[str, Any]:
    """The invoices one DAG run loaded: read, valid, invalid by failed check, duplicates, and per seller the
    total amount including tax of the valid ones (what can be booked: an invoice that failed a check may
    have been misread, and a duplicate is not paid twice). A seller is its tax id, named as first read: the
    same company read under two spellings is one total.

    Amounts are exact decimal strings (``"1234.56"``), so the summary stays JSON for XCom.
    """
    from baidu_ocr.normalize.invoice_checks import failed_check_names
    from baidu_ocr.normalize.invoices import VALID

    invoices = read_rows(wh, "ocr_invoices", dag_id=dag_id, run_id=run_id)
    by_check: Counter[str] = Counter()
    totals: defaultdict[str, Decimal] = defaultdict(Decimal)
    names: dict[str, str] = {}  # a seller is its tax id (valid: checked); its name as first read
    for row in invoices.astype(object).where(invoices.notna(), None).to_dict("records"):
        by_check.update(failed_check_names(row["checks_failed"]))
        if row["validation_status"] == VALID:
            totals[row["seller_tax_id"]] += row["amount_incl_tax"]
            names.setdefault(row["seller_tax_id"], row["seller_name"] or "(name not read)")
    valid = int((invoices["validation_status"] == VALID).sum())
    return {
        "read": len(invoices),
        "valid": valid,
        "invalid": len(invoices) - valid,
        "invalid_by_check": dict(sorted(by_check.items())),
        "duplicates": int(invoices["duplicate_of"].notna().sum()),
        "valid_amount_incl_tax_by_seller": {
            f"{names[tax_id]} {tax_id}": f"{total:.2f}" for tax_id, total in sorted(totals.items())
        },
    }
