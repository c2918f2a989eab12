"""Staged raw records -> every warehouse table: the one entry point the load operator calls."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd

from baidu_ocr.client.endpoints import canonical_name
from baidu_ocr.client.redact import redact
from baidu_ocr.normalize.fields import field_rows
from baidu_ocr.normalize.idcards import idcard_row, is_idcard_result
from baidu_ocr.normalize.invoices import INVALID, invoice_rows, is_invoice_result
from baidu_ocr.normalize.lines import is_line_result, line_rows
from baidu_ocr.normalize.masking import mask_frames, mask_line_chars
from baidu_ocr.normalize.parsed import is_parser_record, parsed_document_row
from baidu_ocr.normalize.review_gate import NEEDS_REVIEW, document_confidence, queue_row, review_reason
from baidu_ocr.normalize.schema import DOC_KEY, DOCUMENT_TABLES
from baidu_ocr.normalize.tables import table_file_rows, table_payload, table_rows
from baidu_ocr.pii.policy import PiiPolicy

# Copied from the raw record to ocr_documents as they are.
_RECORD_COLUMNS = (
    "page_count",
    "options_json",
    "source_uri",
    "bytes",
    "width",
    "height",
    "status",
    "error_code",
    "error_class",
    "error_msg",
    "log_id",
    "attempts",
    "latency_ms",
    "dag_id",
    "run_id",
    "processed_at",
)
# error_class of a record marked ok whose result_json is not a usable Baidu answer.
INVALID_RESPONSE = "invalid_response"


def normalize_records(
    records: pd.DataFrame | Iterable[Mapping[str, Any]],
    *,
    pii: PiiPolicy | None = None,
    mask_id_numbers: bool = True,
    min_confidence: float | None = None,
) -> dict[str, pd.DataFrame]:
    """Turn staged raw records (``baidu_ocr.pipeline.records.RAW_RECORD_COLUMNS``) into one frame per table.

    Every name in ``TABLES`` is returned, with its declared columns and dtypes even when empty. One document
    row per (content_sha256, endpoint, options_hash, page_no): when the same image appears twice (two keys, or a
    retry), the most recently processed record wins. Failed records give a document row with
    ``status='failed'`` and their error code and class, and no child rows (except a parser task's
    ``ocr_parsed_documents`` row, which says which task failed and why).

    Endpoint names are stored canonically (``IDCARD`` and ``ocr/v1/idcard`` are ``idcard``). With
    ``mask_id_numbers`` (the default) every ID-number-shaped text in every table is masked
    (``normalize.masking``), wherever it was found.

    VAT invoices (``vat_invoice``) become ``ocr_invoices`` and ``ocr_invoice_items`` rows (besides their
    ``ocr_fields``), checked (``normalize.invoice_checks``); one that fails a check is ``needs_review`` with an
    ``ocr_review_queue`` row whose reason lists the failed checks. Duplicates are found by the load.

    Line results get their confidence figures (``conf_mean``, ``conf_min``). With ``min_confidence``, the
    confidence gate (``baidu_ocr.normalize.review_gate``) marks a line result under it, or without any line,
    ``review_status='needs_review'`` and gives it an ``ocr_review_queue`` row.
    """
    rows: dict[str, list[dict]] = {name: [] for name in DOCUMENT_TABLES}
    line_documents: list[tuple[dict, list[dict]]] = []
    for record in _latest_per_document(records):
        key = {col: record.get(col) for col in DOC_KEY}
        document = {**key, **{col: record.get(col) for col in _RECORD_COLUMNS}}
        if is_parser_record(key["endpoint"]):  # failed tasks too: the row names the task and its error
            result = _parse(record.get("result_json"))
            rows["ocr_parsed_documents"].append(parsed_document_row(key, document, result))
        elif document["status"] == "ok":
            lines = _normalize_result(key, record, document, rows, pii)
            if lines is not None:
                line_documents.append((document, lines))
        rows["ocr_documents"].append(document)
    if mask_id_numbers:
        mask_line_chars(rows["ocr_lines"], rows["ocr_chars"])
    for document, lines in line_documents:
        confidence = document_confidence(lines)
        document.update(conf_mean=confidence.mean, conf_min=confidence.min)
        if gated := review_reason(lines, min_confidence):
            document["review_status"] = NEEDS_REVIEW
            rows["ocr_review_queue"].append(queue_row(document, *gated, min_confidence))
    frames = {
        name: _dedupe(schema.conform(rows[name]), schema.primary_key)
        for name, schema in DOCUMENT_TABLES.items()
    }
    return mask_frames(frames) if mask_id_numbers else frames


def _normalize_result(
    key: dict, record: dict, document: dict, rows: dict[str, list[dict]], pii: PiiPolicy | None
) -> list[dict] | None:
    """Add the result's rows; return its lines when it is a line result (the confidence gate reads them)."""
    result = _parse(record.get("result_json"))
    if result is None:
        document.update(
            status="failed", error_class=INVALID_RESPONSE, error_msg="result_json is not a JSON object"
        )
        return None
    if result.get("error_code") not in (None, 0, "0"):
        # Should not be staged as ok, but a Baidu error body must never count as a processed image.
        document.update(
            status="failed",
            error_code=str(result["error_code"]),
            error_class=document.get("error_class") or INVALID_RESPONSE,
            error_msg=redact(result.get("error_msg")),
        )
        return None
    if document.get("log_id") is None and result.get("log_id") is not None:
        document["log_id"] = str(result["log_id"])
    document["direction"] = result.get("direction")
    document["n_lines"] = result.get("words_result_num")
    endpoint = str(key["endpoint"] or "")
    tables = table_payload(result)
    if is_idcard_result(endpoint, result):
        side = _options(record).get("id_card_side")
        rows["ocr_idcards"].append(idcard_row(key, result, side, pii))
    elif is_invoice_result(endpoint, result):
        invoice, items = invoice_rows(key, document.get("source_uri"), result, pii)
        if invoice["validation_status"] == INVALID:
            invoice["review_status"] = document["review_status"] = NEEDS_REVIEW
            rows["ocr_review_queue"].append(queue_row(document, invoice["checks_failed"], [], None))
        rows["ocr_invoices"].append(invoice)
        rows["ocr_invoice_items"].extend(items)
        rows["ocr_fields"].extend(field_rows(key, result))  # every field as read, as for other endpoints
    elif tables is not None:
        cells, header_fields = table_rows(key, *tables)
        rows["ocr_table_cells"].extend(cells)
        rows["ocr_fields"].extend(header_fields)
        rows["ocr_fields"].extend(table_file_rows(key, result))
    elif is_line_result(result):
        lines, chars = line_rows(key, result)
        rows["ocr_lines"].extend(lines)
        rows["ocr_chars"].extend(chars)
        document["n_lines"] = len(lines)
        return lines
    else:
        rows["ocr_fields"].extend(field_rows(key, result))
    return None


def _latest_per_document(records: pd.DataFrame | Iterable[Mapping[str, Any]]) -> list[dict]:
    frame = records if isinstance(records, pd.DataFrame) else pd.DataFrame.from_records(list(records))
    if frame.empty:
        return []
    if "processed_at" in frame.columns:
        frame = frame.assign(_order=pd.to_datetime(frame["processed_at"], utc=True))
        frame = frame.sort_values("_order", kind="stable", na_position="first").drop(columns="_order")
    # Records staged before documents had pages are images: page 0.
    page_no = frame["page_no"] if "page_no" in frame.columns else pd.Series(0, index=frame.index)
    frame = frame.assign(page_no=pd.to_numeric(page_no, errors="coerce").fillna(0).astype("int64"))
    if "endpoint" in frame.columns:  # before the dedupe: "IDCARD" and "idcard" are one document
        frame = frame.assign(endpoint=frame["endpoint"].map(canonical_name, na_action="ignore"))
    frame = frame.drop_duplicates(subset=list(DOC_KEY), keep="last")
    return [{k: _scalar(v) for k, v in rec.items()} for rec in frame.to_dict("records")]


def _scalar(value: Any) -> Any:
    # Frames carry pd.NA / NaN / NaT for missing values; the parsers expect None.
    if value is None or isinstance(value, list | dict):
        return value
    try:
        return None if pd.isna(value) else value
    except (TypeError, ValueError):
        return value


def _parse(text: Any) -> dict | None:
    if isinstance(text, dict):
        return text
    if not isinstance(text, str | bytes):
        return None
    try:
        parsed = json.loads(text)
    except ValueError:
        return None
    return parsed if isinstance(parsed, dict) else None


def _options(record: dict) -> dict:
    parsed = _parse(record.get("options_json"))
    return parsed or {}


def _dedupe(frame: pd.DataFrame, primary_key: tuple[str, ...]) -> pd.DataFrame:
    # A primary key twice in one batch would make the upsert fail ("cannot affect row a second time").
    if frame.empty:
        return frame
    return frame.drop_duplicates(subset=list(primary_key), keep="first").reset_index(drop=True)
