"""The review store: the open ``ocr_review_queue`` of a run, and a reviewer's answer written back.

A reviewed document is never overwritten by a later load (``load.py`` keeps it); the OCR's own reading
of a corrected line stays beside the correction (``original_text``).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from baidu_ocr.normalize.review_gate import REVIEWED, clean_correction
from baidu_ocr.normalize.schema import DOC_KEY
from baidu_ocr.pipeline.records import clean_text
from baidu_ocr.warehouse.connection import WarehouseConnection

log = logging.getLogger(__name__)

_QUEUE_COLUMNS = (*DOC_KEY, "source_uri", "reason", "min_confidence", "conf_mean", "conf_min", "low_lines")


def review_queue(
    wh: WarehouseConnection, dag_id: str, run_id: str, *, limit: int | None = None
) -> list[dict[str, Any]]:
    """The open queue rows of one DAG run, least confident first, as JSON-ready dicts."""
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
        items.append(item)
    return items


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
