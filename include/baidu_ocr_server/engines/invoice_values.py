"""Values of a VAT invoice as Baidu's ``vat_invoice`` writes them, from OCR text: strict, never guessed.

Each function takes the text read after a label and answers the value in Baidu's form, or ``""`` when the
text does not have the value's shape (the field is then answered empty, as Baidu does). OCR's usual
confusions are undone only where the result is then proven: a tax id is re-read with O->0 etc. only when
the re-read passes the GB 32100 (or GB 11643) checksum.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from stdnum.cn import ric, uscc

_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "I": "1", "l": "1", "|": "1"})
_MONEY = re.compile(r"-?\d+\.\d{2}")
_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_TAX_ID = re.compile(r"[0-9A-Z]{15,20}")
_RATE = re.compile(r"\d{1,2}(?:\.\d+)?%|免税|不征税")
#: The characters of an amount written in capitals (价税合计 大写).
WORDS_ALPHABET = set("零壹贰叁肆伍陆柒捌玖拾佰仟万亿元圆角分整正")
#: Tax-id characters OCR confuses, tried one at a time when the id as read fails its checksum.
_ID_CONFUSIONS = {"O": "0", "Q": "0", "I": "1", "Z": "2", "S": "5", "B": "8", "D": "0", "0": "D", "8": "B"}


def compact(text: str) -> str:
    """NFKC (full-width digits, ``：``, ``（``, ``￥`` become ASCII) without whitespace: what labels match."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def after_colon(text: str) -> str:
    """What follows the first colon of a compacted line (the value of ``名称:XX``), else ``""``."""
    _, colon, value = text.partition(":")
    return value if colon else ""


def chinese(text: str) -> str:
    """A Chinese value as printed: ASCII brackets back to full-width ones (NFKC turned them)."""
    return text.replace("(", "（").replace(")", "）")


def money(text: str) -> str:
    """``¥1,234.56`` / ``￥1234.56`` -> ``1234.56``; ``""`` unless exactly one amount with cents is there."""
    cleaned = compact(text).replace(",", "").translate(_DIGIT_LOOKALIKES)
    found = _MONEY.findall(cleaned)
    return found[0] if len(found) == 1 else ""


def digits(text: str, *lengths: int) -> str:
    """The run of digits of one of ``lengths`` (spaces inside dropped: 校验码 prints groups of five)."""
    cleaned = re.sub(r"[^0-9]", " ", compact(text).translate(_DIGIT_LOOKALIKES))
    run = "".join(cleaned.split())
    return run if len(run) in lengths else ""


def invoice_date(text: str) -> str:
    """``2025年5月15日`` -> ``2025年05月15日``; ``""`` unless it is a real calendar date."""
    found = _DATE.search(compact(text).translate(_DIGIT_LOOKALIKES))
    if not found:
        return ""
    year, month, day = (int(part) for part in found.groups())
    try:
        date(year, month, day)
    except ValueError:
        return ""
    return f"{year:04d}年{month:02d}月{day:02d}日"


def _valid_id(value: str) -> bool:
    return uscc.is_valid(value) or ric.is_valid(value)


def tax_id(text: str) -> str:
    """A unified social credit code or, for a private buyer, an ID number: the id as read when it passes
    its checksum, or the one single-character re-read that does; an id failing both is answered as read."""
    found = _TAX_ID.findall(compact(text).upper())
    if not found:
        return ""
    value = max(found, key=len)
    if len(value) != 18 or _valid_id(value):
        return value
    for index, char in enumerate(value):
        if char in _ID_CONFUSIONS:
            candidate = value[:index] + _ID_CONFUSIONS[char] + value[index + 1 :]
            if _valid_id(candidate):
                return candidate
    return value


def tax_rate(text: str) -> str:
    """``13%`` (or ``免税``/``不征税``) as printed; ``""`` for anything else."""
    found = _RATE.search(compact(text))
    return found.group(0) if found else ""


def amount_words(text: str) -> str:
    """The 大写 amount without its leading ⊗ (or whatever OCR made of it); ``""`` if other characters stay."""
    value = compact(text)
    while value and value[0] not in WORDS_ALPHABET:
        value = value[1:]
    return value if value and set(value) <= WORDS_ALPHABET else ""


def invoice_type(title: str) -> str:
    """Baidu's ``InvoiceType`` from the printed title (``InvoiceTypeOrg``)."""
    title = compact(title)
    special = "专用" in title
    if title.startswith("电子发票"):
        return "电子发票(专用发票)" if special else "电子发票(普通发票)"
    if "电子" in title:
        return "电子专用发票" if special else "电子普通发票"
    if "卷" in title:
        return "卷票"
    return "专用发票" if special else "普通发票"
