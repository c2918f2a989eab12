"""Documents parsed by Baidu's async document parser -> one ``ocr_parsed_documents`` row each.

The parser operator stages, per document, the query's ``result`` (``task_id``, ``status``, ``task_error``;
the result links are dropped: they are signed for 30 days) plus what the links held: ``markdown`` and
``parse_result`` (the layout JSON). A failed task is staged with its ``task_id`` and ``task_error`` too,
so the row says which task failed and why.
"""

from __future__ import annotations

import json
from typing import Any

from baidu_ocr.client.redact import redact

PARSER_ENDPOINTS = frozenset({"parser_task"})


def is_parser_record(endpoint: str | None) -> bool:
    return str(endpoint or "") in PARSER_ENDPOINTS


def parsed_document_row(key: dict, document: dict, result: dict | None) -> dict[str, Any]:
    """The document's row; a staged ``ok`` without Markdown makes the document ``failed`` (``document`` is
    updated in place, as the other normalizers do with an unusable answer)."""
    result = result or {}
    markdown = result.get("markdown")
    if document.get("status") == "ok" and not isinstance(markdown, str):
        document.update(
            status="failed", error_class="invalid_response", error_msg="parser result without Markdown"
        )
    layout = result.get("parse_result")
    task_error = result.get("task_error")
    return {
        **key,
        "options_json": document.get("options_json"),
        "source_uri": document.get("source_uri"),
        "page_count": document.get("page_count"),
        "task_id": result.get("task_id"),
        "status": document.get("status"),
        "markdown": markdown if document.get("status") == "ok" else None,
        "layout_json": json.dumps(layout, ensure_ascii=False) if isinstance(layout, dict | list) else None,
        "error_msg": redact(str(task_error)) if task_error else document.get("error_msg"),
    }
