"""The outcome of one OCR call and its staged form: the contract between OCR tasks and normalizers.

``BaiduOcrHook.ocr_many`` yields :class:`OcrOutcome`; operators turn each into a raw record
(:func:`OcrOutcome.to_record`) and stage the records as Parquet; ``baidu_ocr.normalize`` reads those records back.
Pure Python (no Airflow imports) so both sides can be tested without a scheduler.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from baidu_ocr.client.endpoints import canonical_name
from baidu_ocr.client.forms import form_value
from baidu_ocr.client.redact import redact
from baidu_ocr.pii.policy import find_id_numbers, map_json_strings, mask_id_numbers_in_text
from baidu_ocr.pii.sealing import MARK, map_runs, seal_id_numbers, seal_id_numbers_across, seal_whole
from baidu_ocr.pii.tax_ids import TAX_ID_FIELDS, company_tax_ids_in, personal_tax_ids_in

# The page_no of an image (and of a document refused as a whole); the pages of a PDF/OFD count from 1.
IMAGE_PAGE = 0
# Column -> pandas dtype of a staged raw record, in order. log_id and error_code are strings on purpose:
# log_id can exceed 2**53 and error codes include the SDK's own "SDK108".
RAW_RECORD_COLUMNS: dict[str, str] = {
    "content_sha256": "string",
    "endpoint": "string",
    "options_hash": "string",
    "page_no": "Int64",  # 1-based page of a PDF/OFD; 0 for an image (a primary-key column: never NULL)
    "page_count": "Int64",  # pages of the PDF/OFD (Baidu's pdf_file_size); NULL for an image
    "options_json": "string",
    "source_uri": "string",
    "bytes": "Int64",
    "width": "Int64",
    "height": "Int64",
    "status": "string",  # "ok" | "failed"
    "error_code": "string",
    "error_class": "string",
    "error_msg": "string",
    "log_id": "string",
    "attempts": "Int64",
    "latency_ms": "Float64",
    "result_json": "string",  # the Baidu response body, verbatim JSON text (None when failed)
    "dag_id": "string",
    "run_id": "string",
    "processed_at": "datetime64[us, UTC]",
}


# NUL ends a C string (PostgreSQL's COPY and TEXT refuse it) and a lone surrogate has no UTF-8 encoding
# (Parquet and every database driver refuse it): one such character in a billed response must not lose the
# batch, so both are cleaned where a record is made, once.
_NUL = "\x00"
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def clean_text(text: str) -> str:
    """``text`` without NUL characters, with lone surrogates replaced by U+FFFD."""
    if _NUL in text:
        text = text.replace(_NUL, "")
    return _LONE_SURROGATE.sub("\ufffd", text)


def clean_json(value: Any) -> Any:
    """Every string in a JSON value (keys too) passed through :func:`clean_text`."""
    return map_json_strings(value, clean_text)


# The columns of a staged record that carry server text, where an ID number can appear.
SEALED_COLUMNS = ("result_json", "error_msg")
# The error class of a staged record whose sealed ID numbers the load could not open (no key, another key).
SEALED_PII_ERROR = "sealed_pii"


# A response with per-character results (recognize_granularity=small) spells numbers one string per
# character, which no search of its JSON text finds: such a response is always walked.
_CHAR_RUN = '"char"'


def seal_record(record: dict[str, Any], key: bytes | None) -> dict[str, Any]:
    """The record as it is staged: every ID number in its response and message sealed with ``key`` (the
    load opens them, ``pii.sealing.unseal_id_numbers``), or masked when there is no key; numbers spelled
    across a line's ``chars`` are sealed as a run, and a literal ``{pii:`` is escaped. Strings only: an
    18-digit JSON number (a ``log_id``) stays a number. An invoice's company tax ids (public credit codes,
    often 18 digits) stay in clear: ``pii.tax_ids`` decides by field and checksum."""
    text = record.get("result_json")
    tax_ids = text and any(name in text for name in TAX_ID_FIELDS)
    if text and (tax_ids or find_id_numbers(text) or MARK in text or _CHAR_RUN in text):
        parsed = json.loads(text)
        clear, personal = company_tax_ids_in(parsed), personal_tax_ids_in(parsed)

        def sealed(text: str) -> str:
            if text in clear:
                return text
            return seal_whole(text, key) if text in personal else seal_id_numbers(text, key)

        result = map_runs(parsed, sealed, lambda parts: seal_id_numbers_across(parts, key))
        record["result_json"] = json.dumps(result, ensure_ascii=False)
    record["error_msg"] = seal_id_numbers(record.get("error_msg"), key)
    # A key named after an ID number: masked, as the warehouse stores it (the load needs no clear key).
    record["source_uri"] = mask_id_numbers_in_text(record.get("source_uri"))
    return record


def canonical_options(options: dict[str, Any] | None) -> str:
    """Options as canonical JSON (sorted keys, values as Baidu receives them: strings)."""
    normalized = {str(k): form_value(v) for k, v in (options or {}).items() if v is not None}
    return json.dumps(normalized, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def options_hash(options: dict[str, Any] | None) -> str:
    """Short stable hash of the options: the same image OCRed with other options is another document."""
    return hashlib.sha256(canonical_options(options).encode()).hexdigest()[:16]


@dataclass
class OcrOutcome:
    """What happened to one image or one page of a document: a result or a classified error, never an
    exception. ``page_no``/``page_count`` are ``None`` for images; a document refused as a whole (broken,
    encrypted, too big) has ``page_no`` ``None`` too and is stored as page 0."""

    key: str
    ok: bool
    result: dict | None = None
    error_code: str | None = None
    error_class: str | None = None
    error_msg: str | None = None
    attempts: int = 0
    latency_ms: float | None = None
    log_id: str | None = None
    content_sha256: str | None = None
    bytes: int | None = None
    width: int | None = None
    height: int | None = None
    page_no: int | None = None
    page_count: int | None = None

    @property
    def pages_recognized(self) -> int:
        """Pages this outcome stands for (Baidu bills pages): an image or one page of a document is one; a
        whole document read in one task (the document parser: no ``page_no``) is its ``page_count``."""
        if not self.ok:
            return 0
        return (self.page_count or 1) if self.page_no in (None, 0) else 1

    def fail(self, error: Mapping[str, Any]) -> None:
        """Record a classified error (``BaiduOcrError.to_dict()`` shape) as this image's outcome."""
        self.ok = False
        self.error_class = error.get("error_class")
        self.error_code = error.get("error_code")
        self.error_msg = error.get("error_msg")
        self.log_id = error.get("log_id")

    def to_record(
        self,
        *,
        endpoint: str,
        options: dict[str, Any] | None = None,
        source_uri: str | None = None,
        dag_id: str | None = None,
        run_id: str | None = None,
        processed_at: datetime | None = None,
    ) -> dict[str, Any]:
        """Return the raw record (``RAW_RECORD_COLUMNS``) that a batch task stages."""
        return {
            "content_sha256": self.content_sha256,
            "endpoint": canonical_name(endpoint),
            "options_hash": options_hash(options),
            "page_no": self.page_no or IMAGE_PAGE,
            "page_count": self.page_count,
            "options_json": canonical_options(options),
            "source_uri": source_uri if source_uri is not None else self.key,
            "bytes": self.bytes,
            "width": self.width,
            "height": self.height,
            "status": "ok" if self.ok else "failed",
            "error_code": self.error_code,
            "error_class": self.error_class,
            "error_msg": clean_text(redact(self.error_msg)) if self.error_msg is not None else None,
            "log_id": self.log_id,
            "attempts": self.attempts,
            "latency_ms": self.latency_ms,
            "result_json": (
                json.dumps(clean_json(self.result), ensure_ascii=False) if self.result is not None else None
            ),
            "dag_id": dag_id,
            "run_id": run_id,
            "processed_at": processed_at or datetime.now(UTC),
        }
