"""Chinese resident ID cards (``idcard``): one row per card side, the ID number never in clear text.

Baidu keys ``words_result`` by the card's own printed labels. Dates arrive as ``YYYYMMDD``; the back side's
expiry can be ``长期`` (long-term), stored as a NULL date plus ``valid_long_term = true``.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from baidu_ocr.pii.policy import PiiPolicy, protect_without_keys

IDCARD_ENDPOINTS = frozenset({"idcard"})

_FRONT_LABELS = {"姓名": "name", "性别": "sex", "民族": "ethnicity", "出生": "birth_date", "住址": "address"}
_ID_NUMBER_LABEL = "公民身份号码"
_BACK_LABELS = {"签发机关": "issuing_authority", "签发日期": "valid_from", "失效日期": "valid_to"}
_LONG_TERM = "长期"


def is_idcard_result(endpoint: str, result: dict) -> bool:
    return endpoint in IDCARD_ENDPOINTS and isinstance(result.get("words_result"), dict)


def idcard_row(key: dict[str, Any], result: dict, side: str | None, pii: PiiPolicy | None) -> dict:
    """The ``ocr_idcards`` row of one recognized card side."""
    fields = {label: _words(value) for label, value in result["words_result"].items()}
    row: dict[str, Any] = {**key, "side": side or _infer_side(fields)}
    for label, column in {**_FRONT_LABELS, **_BACK_LABELS}.items():
        row[column] = fields.get(label)
    for column in ("birth_date", "valid_from", "valid_to"):
        row[column] = parse_card_date(row[column])
    expiry = fields.get("失效日期")
    row["valid_long_term"] = None if expiry is None else expiry.strip() == _LONG_TERM
    id_number = fields.get(_ID_NUMBER_LABEL)
    row.update(pii.protect(id_number) if pii else protect_without_keys(id_number))
    row["image_status"] = result.get("image_status")
    row["risk_type"] = result.get("risk_type")
    row["idcard_number_type"] = result.get("idcard_number_type")
    return row


def parse_card_date(value: str | None) -> date | None:
    """``19900101``, ``1990.01.01`` or ``1990年01月01日`` -> a date; ``长期`` or garbage -> None."""
    if not value:
        return None
    digits = re.sub(r"\D", "", value)
    if len(digits) != 8:
        return None
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError:
        return None


def _words(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("words")
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _infer_side(fields: dict[str, str | None]) -> str:
    # id_card_side is in the options; infer it for records staged without options.
    if any(label in fields for label in (*_FRONT_LABELS, _ID_NUMBER_LABEL)):
        return "front"
    if any(label in fields for label in _BACK_LABELS):
        return "back"
    return "unknown"
