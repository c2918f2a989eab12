"""Values of a VAT invoice as Baidu's ``vat_invoice`` writes them, from OCR text: strict, never guessed.

Each function takes the text read after a label and answers the value in Baidu's form, or ``""`` when the
text does not have the value's shape (the field is then answered empty, as Baidu does). OCR's usual
confusions are undone only where the character read cannot be right: a tax id's O is read 0 where the
code has no letters, never by trying characters until its checksum holds.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from stdnum.cn import uscc

from .idcard_values import gb11643_check_digit

_DIGIT_LOOKALIKES = str.maketrans({"O": "0", "o": "0", "D": "0", "I": "1", "l": "1", "|": "1"})
_MONEY = re.compile(r"-?\d+\.\d{2}")
_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日")
_TAX_ID = re.compile(r"[0-9A-Z]{15,20}")
_ID_NUMBER = re.compile(r"\d{17}[\dX]")
_RATE = re.compile(r"\d{1,2}(?:\.\d+)?%|免税|不征税")
#: The characters of an amount written in capitals (价税合计 大写).
WORDS_ALPHABET = set("零壹贰叁肆伍陆柒捌玖拾佰仟万亿元圆角分整正")
#: Letters OCR reads for digits, and the letters a unified social credit code never holds.
_ID_LOOKALIKES = {"O": "0", "Q": "0", "D": "0", "I": "1", "L": "1", "Z": "2", "S": "5", "G": "6", "B": "8"}
_NOT_IN_USCC = set("IOZSV")


def compact(text: str) -> str:
    """NFKC (full-width digits, ``：``, ``（``, ``￥`` become ASCII) without whitespace: what labels match."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def chinese(text: str) -> str:
    """A Chinese value as printed: ASCII brackets back to full-width ones (NFKC turned them)."""
    return text.replace("(", "（").replace(")", "）")


def without_echo(name: str, gram: int = 4) -> str:
    """A party's name without a repeat of itself run on after it: a seller's seal prints the seller's name
    again, and what of it the seal removal left joins the name's line ("…有限公司风商贸股份有限公")."""
    for cut in range(2 * gram, len(name) - gram + 1):
        if name[cut : cut + gram] in name[:cut]:
            return name[:cut]
    return name


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


def valid_tax_id(value: str) -> bool:
    """A unified social credit code or an ID number whose check character holds (GB 11643's, not
    ``stdnum.cn.ric``, whose region list refuses many current birth places)."""
    return uscc.is_valid(value) or (
        bool(_ID_NUMBER.fullmatch(value)) and gb11643_check_digit(value[:17]) == value[17]
    )


def tax_id(text: str) -> str:
    """A unified social credit code (or, for a private buyer, an ID number) as read, with a letter turned
    into the digit it looks like only where no letter can stand: in the first 8 characters (registration
    office, kind, division) and for I, O, Z, S, V, which the code's alphabet leaves out. Never corrected
    by trying characters until the checksum holds: a wrong id must stay wrong for the provider's check."""
    found = _TAX_ID.findall(compact(text).upper())
    if not found:
        return ""
    value = max(found, key=len)
    if len(value) != 18:
        return value
    return "".join(
        _ID_LOOKALIKES.get(char, char) if index < 8 or char in _NOT_IN_USCC else char
        for index, char in enumerate(value)
    )


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
