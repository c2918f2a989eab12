"""Baidu OCR responses -> tidy pandas DataFrames with a stable schema (pure: pandas only, no Airflow).

    from baidu_ocr.normalize import normalize_records, TABLES, empty_frame, PiiPolicy
    frames = normalize_records(records, pii=PiiPolicy(hmac_key=b"..."))

``frames`` maps every table in ``TABLES`` (ocr_documents, ocr_lines, ocr_chars, ocr_idcards,
ocr_table_cells, ocr_fields, ocr_parsed_documents) to a frame with the declared columns and nullable dtypes.
"""

from __future__ import annotations

from baidu_ocr.normalize.batch import normalize_records
from baidu_ocr.normalize.schema import DOC_KEY, DOCUMENT_TABLES, TABLES, TableSchema, empty_frame
from baidu_ocr.pii.policy import PiiPolicy

__all__ = [
    "DOC_KEY",
    "DOCUMENT_TABLES",
    "TABLES",
    "PiiPolicy",
    "TableSchema",
    "empty_frame",
    "normalize_records",
]
