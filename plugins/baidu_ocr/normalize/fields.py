"""Every other endpoint (invoices, licences, tickets, bank cards...) as (field, item_no, value, box) rows.

``words_result`` comes as a mapping of name -> ``{"words"}``, name -> list of ``{"word"/"words"}`` (invoice
line items), name -> plain string, a list of such mappings, or nested lists; bank cards answer with a
``result`` object of plain values. One rule covers them all: ``field`` is the path to a text leaf below
``words_result``/``result`` (dots for keys, ``[i]`` for inner lists) and ``item_no`` is the index in the
outermost list on that path (0 when there is none). Other ``*_result`` keys (``codes_result``...) keep
their own name as the path's root. A value that is a valid resident ID number is stored masked; an
invoice's tax-id fields follow ``pii.tax_ids`` (a company's code in clear, an ID number masked).
"""

from __future__ import annotations

from typing import Any

from baidu_ocr.normalize.geometry import NO_BOX, location_of
from baidu_ocr.pii.policy import looks_like_id_number, mask_id_number
from baidu_ocr.pii.tax_ids import is_tax_id_field, protect_tax_id

# Top-level keys that describe the answer rather than carry recognized text.
_META_KEYS = frozenset({"log_id", "words_result_num", "direction", "error_code", "error_msg"})
_ROOTS_WITHOUT_NAME = ("words_result", "result")


def field_rows(key: dict[str, Any], result: dict) -> list[dict]:
    rows: list[dict] = []
    for root, value in result.items():
        if root in _META_KEYS or not (root in _ROOTS_WITHOUT_NAME or root.endswith(("_result", "_results"))):
            continue
        path = "" if root in _ROOTS_WITHOUT_NAME else root
        _walk(value, path, None, key, rows)
    return rows


def _walk(node: Any, path: str, item_no: int | None, key: dict, rows: list[dict]) -> None:
    if isinstance(node, dict):
        if _is_leaf(node):
            _emit(node.get("words", node.get("word")), location_of(node), path, item_no, key, rows)
            return
        for name, child in node.items():
            if name in ("location", "probability", "vertexes_location"):
                continue
            _walk(child, f"{path}.{name}" if path else str(name), item_no, key, rows)
    elif isinstance(node, list):
        for i, child in enumerate(node):
            if item_no is None:
                _walk(child, path, i, key, rows)
            else:
                _walk(child, f"{path}[{i}]", item_no, key, rows)
    else:
        _emit(node, dict(NO_BOX), path, item_no, key, rows)


def _is_leaf(node: dict) -> bool:
    """A text node: ``{"words": ...}`` or ``{"word": ...}`` with a scalar, plus location and the like."""
    if "words" not in node and "word" not in node:
        return False
    return isinstance(node.get("words", node.get("word")), str | int | float | None)


def _emit(value: Any, box: dict, path: str, item_no: int | None, key: dict, rows: list[dict]) -> None:
    text = None if value is None else str(value)
    if text is not None and is_tax_id_field(path):
        text, _ = protect_tax_id(text, None)
    elif text is not None and looks_like_id_number(text.strip()):
        text = mask_id_number(text)
    rows.append({**key, "field": path or "words", "item_no": item_no or 0, "value": text, **box})
