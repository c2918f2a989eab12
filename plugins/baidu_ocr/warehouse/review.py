"""The review store: the open ``ocr_review_queue`` of a run, and a reviewer's answer written back.

A reviewed document is never overwritten by a later load (``load.py`` keeps it); the OCR's own reading
of a corrected line stays beside the correction (``original_text``). An invoice's queue item carries the
invoice's key fields and failed checks (``invoice``), and its answer is accepted (book it) or rejected.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from baidu_ocr.normalize.invoice_checks import failed_check_names
from baidu_ocr.normalize.invoices import INVOICE_ENDPOINTS
from baidu_ocr.normalize.review_gate import REJECTED, REVIEWED, clean_correction
from baidu_ocr.normalize.schema import DOC_KEY
from baidu_ocr.pipeline.records import clean_text
from baidu_ocr.warehouse.connection import WarehouseConnection

log = logging.getLogger(__name__)

_QUEUE_COLUMNS = (*DOC_KEY, "source_uri", "reason", "min_confidence", "conf_mean", "conf_min", "low_lines")
# What a reviewer sees of a queued invoice (JSON-ready: decimals and the date as text).
INVOICE_REVIEW_FIELDS = (
    "invoice_type",
    "invoice_code",
    "invoice_num",
    "invoice_date",
    "buyer_name",
    "buyer_tax_id",
    "seller_name",
    "seller_tax_id",
    "amount_excl_tax",
    "tax_amount",
    "amount_incl_tax",
    "amount_in_words",
    "checks_failed",
    "duplicate_of",
)


def review_queue(
    wh: WarehouseConnection, dag_id: str, run_id: str, *, limit: int | None = None
) -> list[dict[str, Any]]:
    """The open queue rows of one DAG run, least confident first, as JSON-ready dicts; an invoice's row also
    holds ``invoice``: its :data:`INVOICE_REVIEW_FIELDS` (``checks_failed`` as a list)."""
    ph = wh.placeholder
    sql = (
        f"SELECT {', '.join(wh.column(c) for c in _QUEUE_COLUMNS)} FROM {wh.table('ocr_review_queue')} "
        f"WHERE dag_id = {ph} AND run_id = {ph} AND status = 'open' "
        # NULLs (no_text) first, as the least confident
        "ORDER BY CASE WHEN conf_min IS NULL THEN 0 ELSE 1 END, conf_min, source_uri, page_no"
    )
    with wh.transaction() as cur:
        cur.execute(sql, [dag_id, run_id])
        rows = cur.fetchall()
    items = []
    for row in rows[:limit] if limit else rows:
        item = dict(zip(_QUEUE_COLUMNS, row, strict=True))
        item["page_no"] = int(item["page_no"])
        item["low_lines"] = json.loads(item["low_lines"] or "[]")
        if item["endpoint"] in INVOICE_ENDPOINTS:
            item["invoice"] = _invoice_fields(wh, item)
        items.append(item)
    return items


def _invoice_fields(wh: WarehouseConnection, item: dict[str, Any]) -> dict[str, Any]:
    ph = wh.placeholder
    match = " AND ".join(f"{wh.column(c)} = {ph}" for c in DOC_KEY)
    rows = wh.query(
        f"SELECT {', '.join(wh.column(c) for c in INVOICE_REVIEW_FIELDS)} FROM {wh.table('ocr_invoices')} "
        f"WHERE {match}",
        [item[c] for c in DOC_KEY],
    )
    if not rows:
        return {}
    fields = {
        name: None if v is None else str(v) for name, v in zip(INVOICE_REVIEW_FIELDS, rows[0], strict=True)
    }
    fields["checks_failed"] = failed_check_names(fields["checks_failed"])
    return fields


def apply_invoice_review(
    wh: WarehouseConnection,
    document: Mapping[str, Any],
    *,
    accepted: bool,
    reviewed_by: str,
    reviewed_at: datetime,
    reviewed_by_id: str | None = None,
) -> None:
    """A reviewer's answer on a queued invoice, in one transaction: accepted (``ocr_invoices.review_status``
    ``reviewed``: book it after all) or rejected (``rejected``); who and when on the invoice, its document
    (``reviewed``: never overwritten by a later load) and its queue row (``accepted`` | ``rejected``)."""
    ph = wh.placeholder
    match = " AND ".join(f"{wh.column(c)} = {ph}" for c in DOC_KEY)
    key = [document[c] for c in DOC_KEY]
    [when] = wh.dates(reviewed_at)
    who = f"reviewed_by = {ph}, reviewed_by_id = {ph}, reviewed_at = {ph}"
    reviewer = [clean_text(reviewed_by), None if reviewed_by_id is None else clean_text(reviewed_by_id), when]
    with wh.transaction() as cur:
        for table, status in (
            ("ocr_invoices", REVIEWED if accepted else REJECTED),
            ("ocr_documents", REVIEWED),
        ):
            cur.execute(
                f"UPDATE {wh.table(table)} SET review_status = {ph}, {who} WHERE {match}",
                [status, *reviewer, *key],
            )
        cur.execute(
            f"UPDATE {wh.table('ocr_review_queue')} SET status = {ph}, {who} WHERE {match}",
            ["accepted" if accepted else REJECTED, *reviewer, *key],
        )
    log.info(
        "Review of invoice %s stored: %s", document.get("source_uri"), "accepted" if accepted else REJECTED
    )


def apply_review(
    wh: WarehouseConnection,
    document: Mapping[str, Any],
    *,
    corrections: Mapping[int, str],
    reviewed_by: str,
    reviewed_at: datetime,
    reviewed_by_id: str | None = None,
) -> None:
    """Corrected lines (each as ``clean_correction`` makes it: what reaches the store is clean and capped
    whoever built the answer), the document's review status and its queue row, in one transaction."""
    ph = wh.placeholder
    match = " AND ".join(f"{wh.column(c)} = {ph}" for c in DOC_KEY)
    key = [document[c] for c in DOC_KEY]
    [when] = wh.dates(reviewed_at)
    status = "corrected" if corrections else "accepted"
    who = f"reviewed_by = {ph}, reviewed_by_id = {ph}, reviewed_at = {ph}"
    # Names come from the auth manager: cleaned like any text, so no character can make the store refuse them.
    reviewer = [clean_text(reviewed_by), None if reviewed_by_id is None else clean_text(reviewed_by_id), when]
    with wh.transaction() as cur:
        for line_no, text in sorted(corrections.items()):
            cur.execute(
                f"UPDATE {wh.table('ocr_lines')} SET original_text = COALESCE(original_text, text), "
                f"text = {ph}, {who} WHERE {match} AND line_no = {ph}",
                [clean_correction(text), *reviewer, *key, int(line_no)],
            )
        cur.execute(
            f"UPDATE {wh.table('ocr_documents')} SET review_status = {ph}, {who} WHERE {match}",
            [REVIEWED, *reviewer, *key],
        )
        cur.execute(
            f"UPDATE {wh.table('ocr_review_queue')} SET status = {ph}, {who} WHERE {match}",
            [status, *reviewer, *key],
        )
    log.info(
        "Review of %s stored: %s, %d line(s) corrected",
        document.get("source_uri"),
        status,
        len(corrections),
    )
