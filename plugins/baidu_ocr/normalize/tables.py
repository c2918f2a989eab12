"""Table cells from the three table shapes Baidu answers with.

- ``table`` (v2, sync): ``tables_result[].body[]`` with ``row_start``/``row_end``/``col_start``/``col_end``,
  0-based with exclusive ends.
- ``form`` (sync): ``forms_result[].body[]`` with ``row``/``column`` (ints; lists in some answers).
- ``form_ocr`` (async, ``result_type=json``): the poll's ``result.result_data`` is a JSON *string* holding
  ``forms[].body[]`` with ``row``/``column`` lists naming every row/column a merged cell spans. Baidu's
  pages do not say whether they count from 0 or 1: a form whose smallest index is 1 is read as 1-based.

Cells are stored by their top-left anchor (0-based) with spans. Table headers and footers (titles, notes)
are not cells: they go to ``ocr_fields`` as ``tables[<n>].header`` / ``tables[<n>].footer``. Where the
operator stored the answer's Excel workbook (``excel_uri``, put in place of Baidu's base64 ``excel_file``)
goes to ``ocr_fields`` too, as field ``excel_uri``.
"""

from __future__ import annotations

import json
from typing import Any

from baidu_ocr.normalize.geometry import location_of


def table_payload(result: dict) -> tuple[str, list[dict]] | None:
    """``(shape, tables)`` when ``result`` is a table answer, else None."""
    if isinstance(result.get("tables_result"), list):
        return "table", result["tables_result"]
    if isinstance(result.get("forms_result"), list):
        return "form", result["forms_result"]
    payload = _async_payload(result)
    if payload is not None:
        return "async", payload.get("forms") or []
    return None


def table_rows(key: dict[str, Any], shape: str, tables: list[dict]) -> tuple[list[dict], list[dict]]:
    """Rows of ``ocr_table_cells`` and the header/footer rows of ``ocr_fields`` for one document."""
    cells: list[dict] = []
    fields: list[dict] = []
    for table_no, table in enumerate(t for t in tables if isinstance(t, dict)):
        body = [c for c in table.get("body") or [] if isinstance(c, dict)]
        if shape == "table":
            cells.extend(_v2_cell(key, table_no, cell) for cell in body)
        else:
            base = _index_base(body)
            cells.extend(_listed_cell(key, table_no, cell, base) for cell in body)
        for part in ("header", "footer"):
            for item_no, item in enumerate(i for i in table.get(part) or [] if isinstance(i, dict)):
                fields.append(
                    {
                        **key,
                        "field": f"tables[{table_no}].{part}",
                        "item_no": item_no,
                        "value": _text(item),
                        **location_of(item),
                    }
                )
    return cells, fields


def table_file_rows(key: dict[str, Any], result: dict) -> list[dict]:
    """The ``ocr_fields`` row naming the document's stored Excel workbook, if there is one."""
    uri = result.get("excel_uri")
    return [{**key, "field": "excel_uri", "item_no": 0, "value": str(uri)}] if uri else []


def _v2_cell(key: dict, table_no: int, cell: dict) -> dict:
    row, col = int(cell.get("row_start", 0)), int(cell.get("col_start", 0))
    row_end, col_end = int(cell.get("row_end", row + 1)), int(cell.get("col_end", col + 1))
    return {
        **key,
        "table_no": table_no,
        "row": row,
        "col": col,
        "row_span": max(row_end - row, 1),
        "col_span": max(col_end - col, 1),
        "text": _text(cell),
        **location_of(cell),
    }


def _listed_cell(key: dict, table_no: int, cell: dict, base: int) -> dict:
    rows, cols = _indexes(cell.get("row")), _indexes(cell.get("column"))
    return {
        **key,
        "table_no": table_no,
        "row": min(rows) - base,
        "col": min(cols) - base,
        "row_span": max(rows) - min(rows) + 1,
        "col_span": max(cols) - min(cols) + 1,
        "text": _text(cell),
        **location_of(cell),
    }


def _indexes(value: Any) -> list[int]:
    values = value if isinstance(value, list) else [value]
    ints = [int(v) for v in values if v is not None and str(v).strip().lstrip("-").isdigit()]
    return ints or [0]


def _index_base(body: list[dict]) -> int:
    indexes = [i for cell in body for k in ("row", "column") for i in _indexes(cell.get(k))]
    return 1 if indexes and min(indexes) >= 1 else 0


def _text(item: dict) -> str | None:
    text = item.get("words", item.get("word"))
    return None if text is None else str(text)


def _async_payload(result: dict) -> dict | None:
    """The parsed ``result_data`` of an async table job (poll response or its ``result`` object)."""
    inner = result.get("result") if isinstance(result.get("result"), dict) else result
    if isinstance(inner.get("forms"), list):
        return inner
    data = inner.get("result_data")
    if isinstance(data, dict):
        return data if isinstance(data.get("forms"), list) else None
    if isinstance(data, str) and data.lstrip().startswith("{"):
        try:
            parsed = json.loads(data)
        except ValueError:
            return None
        return parsed if isinstance(parsed, dict) and isinstance(parsed.get("forms"), list) else None
    return None  # an Excel URL (result_type=excel) or a job still running: no cells
