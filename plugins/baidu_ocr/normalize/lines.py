"""Text lines (and, with ``recognize_granularity=small``, characters) of the general-purpose endpoints."""

from __future__ import annotations

from typing import Any

from baidu_ocr.normalize.geometry import box


def is_line_result(result: dict) -> bool:
    """Line-shaped results: ``words_result`` is a list of ``{"words": str, ...}`` (general, accurate...)."""
    items = result.get("words_result")
    return isinstance(items, list) and all(
        isinstance(item, dict) and isinstance(item.get("words"), str) for item in items
    )


def line_rows(key: dict[str, Any], result: dict) -> tuple[list[dict], list[dict]]:
    """Rows of ``ocr_lines`` and ``ocr_chars`` for one document; ``line_no`` is the words_result index."""
    lines: list[dict] = []
    chars: list[dict] = []
    for line_no, item in enumerate(result.get("words_result") or []):
        probability = item.get("probability")
        probability = probability if isinstance(probability, dict) else {}
        lines.append(
            {
                **key,
                "line_no": line_no,
                "text": item["words"],
                "prob_average": probability.get("average"),
                "prob_min": probability.get("min"),
                **box(item.get("location")),
            }
        )
        for char_no, char in enumerate(item.get("chars") or []):
            if isinstance(char, dict):
                chars.append(
                    {
                        **key,
                        "line_no": line_no,
                        "char_no": char_no,
                        "char": char.get("char"),
                        **box(char.get("location")),
                    }
                )
    return lines, chars
