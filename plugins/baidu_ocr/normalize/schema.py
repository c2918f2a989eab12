"""The warehouse tables as pandas sees them: one declaration of columns, dtypes and primary keys.

Every frame the normalizers return is conformed to these declarations, so empty results still carry the
right columns and the DDL (rendered from the same declarations by ``baidu_ocr.warehouse``) cannot drift.
Nullable pandas dtypes throughout: NA becomes NULL at the database boundary, never the string "nan".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pandas as pd
import pyarrow as pa

from baidu_ocr.pipeline.records import RAW_RECORD_COLUMNS

# A calendar date without time or zone (birth dates, validity dates): pandas has no native date dtype.
DATE = pd.ArrowDtype(pa.date32())
TIMESTAMP_UTC = "datetime64[us, UTC]"
# Exact decimals (never floats): money to the cent, quantities and unit prices as invoices print them (up
# to 8 decimals), tax rates as fractions (0.13, 0.015). NUMERIC(p, s) on PostgreSQL; canonical decimal
# text on SQLite, which has no exact decimal type (see warehouse.sql).
MONEY = pd.ArrowDtype(pa.decimal128(18, 2))
QUANTITY = pd.ArrowDtype(pa.decimal128(24, 8))
RATE = pd.ArrowDtype(pa.decimal128(7, 4))
DECIMALS = (MONEY, QUANTITY, RATE)

# A document is one image, or one page of a PDF/OFD: page_no 0 for images, 1..N for pages.
DOC_KEY: tuple[str, ...] = ("content_sha256", "endpoint", "options_hash", "page_no")

_DOC_KEY_COLUMNS = {
    "content_sha256": "string",
    "endpoint": "string",
    "options_hash": "string",
    "page_no": "Int64",
}
_BOX_COLUMNS = {"left": "Int64", "top": "Int64", "width": "Int64", "height": "Int64"}
# Who reviewed a row in Airflow's UI (display name, and the user id, which a rename does not change), and
# when (NULL: never reviewed). A reviewed row is never overwritten.
_REVIEW_COLUMNS = {"reviewed_by": "string", "reviewed_by_id": "string", "reviewed_at": TIMESTAMP_UTC}


@dataclass(frozen=True)
class TableSchema:
    """A warehouse table: ordered column -> pandas dtype, and the primary key (a subset of the columns)."""

    name: str
    columns: Mapping[str, Any]
    primary_key: tuple[str, ...]
    document_rows: bool = True  # keyed on a document (DOC_KEY); False: bookkeeping such as ocr_usage

    @property
    def is_child(self) -> bool:
        """Child tables hang off a document: their rows are replaced whenever the document is reloaded."""
        return self.document_rows and self.name != "ocr_documents"

    def empty(self) -> pd.DataFrame:
        return pd.DataFrame({col: pd.Series([], dtype=dtype) for col, dtype in self.columns.items()})

    def conform(self, rows: Iterable[Mapping[str, Any]] | pd.DataFrame) -> pd.DataFrame:
        """Build the frame once from row dicts (or reshape a frame): declared columns, order and dtypes."""
        frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame.from_records(list(rows))
        if frame.empty:
            return self.empty()
        out = {}
        for col, dtype in self.columns.items():
            series = frame[col] if col in frame.columns else pd.Series(None, index=frame.index, dtype=object)
            out[col] = _as_dtype(series, dtype)
        return pd.DataFrame(out).reset_index(drop=True)


def _as_dtype(series: pd.Series, dtype: Any) -> pd.Series:
    if str(series.dtype) == str(dtype):
        return series
    if dtype == DATE:
        values = [_as_date(v) for v in series.astype(object).tolist()]
        return pd.Series(pd.array(values, dtype=DATE), index=series.index)
    if dtype in DECIMALS:
        values = [_as_decimal(v) for v in series.astype(object).tolist()]
        return pd.Series(pd.array(values, dtype=dtype), index=series.index)
    if dtype == TIMESTAMP_UTC:
        return pd.to_datetime(series, utc=True).astype(TIMESTAMP_UTC)
    if dtype in ("Int64", "Float64") and series.dtype == object:
        series = pd.to_numeric(series.where(series.notna(), None), errors="coerce")
    return series.astype(dtype)


def _missing(value: Any) -> bool:
    try:
        return value is None or bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


def _as_date(value: Any) -> Any:
    """A date, from a date or (SQLite stores dates as text) its ISO text."""
    if _missing(value):
        return None
    return date.fromisoformat(value[:10]) if isinstance(value, str) else value


def _as_decimal(value: Any) -> Decimal | None:
    """A Decimal, from a Decimal, an int, or (SQLite stores decimals as text) its canonical text. A float
    is refused: it would carry its binary error into an exact column."""
    if _missing(value):
        return None
    if isinstance(value, float):
        raise TypeError("a float cannot fill an exact decimal column; parse the text as Decimal")
    return Decimal(str(value))


def _document_columns() -> dict[str, Any]:
    """A document row is its staged raw record without the response body, plus what the body says."""
    columns: dict[str, Any] = {}
    for name, dtype in RAW_RECORD_COLUMNS.items():
        if name == "result_json":
            continue
        columns[name] = dtype
        if name == "latency_ms":
            columns |= {
                "direction": "Int64",
                "n_lines": "Int64",
                # A line's confidence is Baidu's probability.average (asked with probability=true); these
                # are their mean and minimum over the document's lines (NULL without probabilities).
                "conf_mean": "Float64",
                "conf_min": "Float64",
            }
    # "needs_review" (under the confidence gate, see ocr_review_queue) | "reviewed" | NULL (not gated).
    return columns | {"review_status": "string", **_REVIEW_COLUMNS}


TABLES: dict[str, TableSchema] = {
    schema.name: schema
    for schema in (
        TableSchema("ocr_documents", _document_columns(), DOC_KEY),
        TableSchema(
            "ocr_lines",
            {
                **_DOC_KEY_COLUMNS,
                "line_no": "Int64",  # index in words_result (0-based), as paragraphs_result refers to it
                "text": "string",
                "prob_average": "Float64",
                "prob_min": "Float64",
                **_BOX_COLUMNS,
                "original_text": "string",  # what the OCR read, when a reviewer corrected ``text``
                **_REVIEW_COLUMNS,
            },
            (*DOC_KEY, "line_no"),
        ),
        TableSchema(
            "ocr_chars",
            {**_DOC_KEY_COLUMNS, "line_no": "Int64", "char_no": "Int64", "char": "string", **_BOX_COLUMNS},
            (*DOC_KEY, "line_no", "char_no"),
        ),
        TableSchema(
            "ocr_idcards",
            {
                **_DOC_KEY_COLUMNS,
                "side": "string",  # "front" | "back" | "unknown"
                "name": "string",
                "sex": "string",
                "ethnicity": "string",
                "birth_date": DATE,
                "address": "string",
                "id_number_masked": "string",
                "id_number_hmac": "string",
                "id_number_valid": "boolean",
                "id_number_encrypted": "string",
                "issuing_authority": "string",
                "valid_from": DATE,
                "valid_to": DATE,
                "valid_long_term": "boolean",
                "image_status": "string",
                "risk_type": "string",
                "idcard_number_type": "Int64",
            },
            (*DOC_KEY, "side"),
        ),
        TableSchema(
            "ocr_table_cells",
            {
                **_DOC_KEY_COLUMNS,
                "table_no": "Int64",
                "row": "Int64",  # 0-based, top-left cell of a merged range
                "col": "Int64",
                "row_span": "Int64",
                "col_span": "Int64",
                "text": "string",
                **_BOX_COLUMNS,
            },
            (*DOC_KEY, "table_no", "row", "col"),
        ),
        TableSchema(
            "ocr_fields",
            {
                **_DOC_KEY_COLUMNS,
                "field": "string",  # the field's name or path, e.g. "InvoiceNum", "CommodityName"
                "item_no": "Int64",  # index within a repeated field (0 for single values)
                "value": "string",
                **_BOX_COLUMNS,
            },
            (*DOC_KEY, "field", "item_no"),
        ),
        TableSchema(
            # One row per document sent to the async document parser (page_no 0: the whole document).
            "ocr_parsed_documents",
            {
                **_DOC_KEY_COLUMNS,
                "options_json": "string",
                "source_uri": "string",
                "page_count": "Int64",
                "task_id": "string",
                "status": "string",  # "ok" | "failed", as the document's row in ocr_documents
                "markdown": "string",
                "layout_json": "string",  # Baidu's parse_result JSON (pages, layouts, tables), where returned
                "error_msg": "string",  # Baidu's task_error when the task failed
            },
            DOC_KEY,
        ),
        TableSchema(
            "ocr_usage",  # what each OCR task try paid for, per endpoint and (Beijing) day: baidu_ocr.pipeline.usage
            {
                "dag_id": "string",
                "run_id": "string",
                "task_id": "string",
                "map_index": "Int64",
                "try_number": "Int64",
                "endpoint": "string",
                "day": DATE,
                "billable_calls": "Int64",  # successful calls: what Baidu bills
                "pages": "Int64",  # images and document pages recognized
                "failed_calls": "Int64",  # not billed
                "estimated_cost": "Float64",  # beyond the month's free allowance; NULL without a price
                "recorded_at": TIMESTAMP_UTC,
            },
            ("dag_id", "run_id", "task_id", "map_index", "try_number", "endpoint", "day"),
            document_rows=False,
        ),
        TableSchema(
            "ocr_run_budget",  # calls reserved against a run's max_billable_calls: baidu_ocr.warehouse.budget
            {
                "dag_id": "string",
                "run_id": "string",
                "reserved_calls": "Int64",  # billed, or in flight (a try that died keeps its reservations)
                "updated_at": TIMESTAMP_UTC,
            },
            ("dag_id", "run_id"),
            document_rows=False,
        ),
        TableSchema(
            # One row per VAT invoice (vat_invoice): normalize.invoices, checked by normalize.invoice_checks.
            "ocr_invoices",
            {
                **_DOC_KEY_COLUMNS,
                "source_uri": "string",
                "invoice_type": "string",  # as Baidu names it: 专用发票, 普通发票, 电子普通发票...
                "invoice_code": "string",  # NULL on a 数电票 (fully digital invoice)
                "invoice_num": "string",  # 8 digits, or 20 on a 数电票 (text: leading zeros)
                "invoice_date": DATE,
                "check_code": "string",
                "buyer_name": "string",
                "buyer_tax_id": "string",  # a company's code in clear; a private buyer's ID number masked
                "buyer_tax_id_hmac": "string",  # HMAC of a private buyer's ID number (PII policy), else NULL
                "seller_name": "string",
                "seller_tax_id": "string",
                "amount_excl_tax": MONEY,  # 合计金额
                "tax_amount": MONEY,  # 合计税额
                "amount_incl_tax": MONEY,  # 价税合计 (小写)
                "amount_in_words": "string",  # 价税合计 (大写), as printed
                # The tax authority's verdict: consistent | mismatch | not_found | voided; NULL: not asked
                "authority_status": "string",
                "checks_failed": "string",  # failed check names, comma-separated; "" when all passed
                "validation_status": "string",  # "valid" | "invalid" (a failed check, or a duplicate)
                "duplicate_of": "string",  # source_uri of the earlier copy of this invoice, else NULL
                # NULL (nothing to review) | "needs_review" | "reviewed" (accepted: book it) | "rejected"
                "review_status": "string",
                **_REVIEW_COLUMNS,
            },
            DOC_KEY,
        ),
        TableSchema(
            "ocr_invoice_items",
            {
                **_DOC_KEY_COLUMNS,
                "item_no": "Int64",  # Baidu's row, 1-based
                "name": "string",
                "spec": "string",  # 规格型号
                "unit": "string",
                "quantity": QUANTITY,
                "unit_price": QUANTITY,
                "amount": MONEY,
                "tax_rate": RATE,  # a fraction: 13 % -> 0.13; 免税/不征税 -> 0
                "tax": MONEY,
            },
            (*DOC_KEY, "item_no"),
        ),
        TableSchema(
            # Who holds each invoice identity first (warehouse.invoice_identity): later copies are duplicates.
            "ocr_invoice_identities",
            {
                "identity": "string",  # code-number, or the 20-digit number of a 数电票
                **_DOC_KEY_COLUMNS,
                "source_uri": "string",
                "registered_at": TIMESTAMP_UTC,
            },
            ("identity",),
            document_rows=False,
        ),
        TableSchema(
            "ocr_review_queue",
            {
                **_DOC_KEY_COLUMNS,
                "source_uri": "string",
                # "low_confidence" | "no_text" | invoices: failed check names and/or "duplicate_invoice", comma-separated
                # (baidu_ocr.normalize.review_gate)
                "reason": "string",
                "min_confidence": "Float64",  # the threshold the document was gated with
                "conf_mean": "Float64",
                "conf_min": "Float64",
                "low_lines": "string",  # JSON: [{"line_no", "text", "confidence"}] under the threshold
                "status": "string",  # "open" | "accepted" | "corrected" | "rejected" (invoices)
                "dag_id": "string",
                "run_id": "string",
                "queued_at": TIMESTAMP_UTC,
                **_REVIEW_COLUMNS,
            },
            DOC_KEY,
        ),
    )
}
# The tables a load writes from staged records (every one but the bookkeeping ones).
DOCUMENT_TABLES: dict[str, TableSchema] = {name: t for name, t in TABLES.items() if t.document_rows}


def empty_frame(table: str) -> pd.DataFrame:
    """An empty frame with the declared columns and dtypes of ``table``."""
    return TABLES[table].empty()
