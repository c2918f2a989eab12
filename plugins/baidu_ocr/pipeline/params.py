"""Operator parameters as they arrive after templating: one rule for "left unset"."""

from __future__ import annotations

from typing import Any


def unset(value: Any) -> bool:
    """Whether a (possibly templated) parameter was left unset: a template of an unset param renders "None",
    and an empty form field renders ""."""
    return value is None or (isinstance(value, str) and value.strip() in ("", "None"))
