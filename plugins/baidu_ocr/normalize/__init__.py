"""Baidu OCR responses -> tidy pandas DataFrames with a stable schema (pure: pandas only, no Airflow).

    from baidu_ocr.normalize import normalize_records, TABLES, empty_frame, PiiPolicy
    frames = normalize_records(records, pii=PiiPolicy(hmac_key=b"..."))

``frames`` maps every document table in ``TABLES`` (ocr_documents, ocr_lines, ocr_chars, ocr_idcards,
ocr_table_cells, ocr_fields, ocr_parsed_documents, ocr_invoices, ocr_invoice_items, ocr_review_queue) to a
frame with the declared columns and nullable dtypes (exact decimals as Arrow decimals).
"""

from __future__ import annotations

from baidu_ocr.lazy_exports import lazy_exports

# Lazy: a DAG file importing ``baidu_ocr.normalize.review_gate`` must not load pandas on every parse.
_EXPORTS = {
    "normalize_records": "baidu_ocr.normalize.batch",
    "DOC_KEY": "baidu_ocr.normalize.schema",
    "DOCUMENT_TABLES": "baidu_ocr.normalize.schema",
    "TABLES": "baidu_ocr.normalize.schema",
    "TableSchema": "baidu_ocr.normalize.schema",
    "empty_frame": "baidu_ocr.normalize.schema",
    "PiiPolicy": "baidu_ocr.pii.policy",
}
__all__ = sorted(_EXPORTS)
__getattr__ = lazy_exports(__name__, _EXPORTS)
