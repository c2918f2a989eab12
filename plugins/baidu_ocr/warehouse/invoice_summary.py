"""What a run's invoices add up to: the summary's invoice lines, read back from the warehouse.

Read from the loaded rows rather than from the staged answers, so the figures are the ones a finance analyst
will query: after the checks, the duplicate marks and the exact decimal amounts.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from typing import Any

from baidu_ocr.normalize.schema import DOC_KEY
from baidu_ocr.warehouse.connection import WarehouseConnection

_COLUMNS = ("validation_status", "checks_failed", "duplicate_of", "seller_name", "amount_incl_tax")


def invoice_summary(wh: WarehouseConnection, dag_id: str, run_id: str) -> dict[str, Any]:
    """The invoices one DAG run loaded: read, valid, invalid by failed check, duplicates, and per seller the
    total amount including tax (duplicates left out: the same invoice is not paid twice).

    Amounts are exact decimal strings (``"1234.56"``), so the summary stays JSON for XCom.
    """
    from baidu_ocr.normalize.invoice_checks import failed_check_names

    ph = wh.placeholder
    join = " AND ".join(f"i.{wh.column(c)} = d.{wh.column(c)}" for c in DOC_KEY)
    sql = (
        f"SELECT {', '.join('i.' + wh.column(c) for c in _COLUMNS)} "
        f"FROM {wh.table('ocr_invoices')} i JOIN {wh.table('ocr_documents')} d ON {join} "
        f"WHERE d.dag_id = {ph} AND d.run_id = {ph}"
    )
    rows = [dict(zip(_COLUMNS, row, strict=True)) for row in wh.query(sql, [dag_id, run_id])]
    by_check: Counter[str] = Counter()
    totals: defaultdict[str, Decimal] = defaultdict(Decimal)
    for row in rows:
        by_check.update(failed_check_names(row["checks_failed"]))
        if row["duplicate_of"] is None and row["amount_incl_tax"] is not None:
            totals[row["seller_name"] or "(seller not read)"] += Decimal(str(row["amount_incl_tax"]))
    return {
        "read": len(rows),
        "valid": sum(row["validation_status"] == "valid" for row in rows),
        "invalid": sum(row["validation_status"] != "valid" for row in rows),
        "invalid_by_check": dict(sorted(by_check.items())),
        "duplicates": sum(row["duplicate_of"] is not None for row in rows),
        "amount_incl_tax_by_seller": {seller: f"{total:.2f}" for seller, total in sorted(totals.items())},
    }
