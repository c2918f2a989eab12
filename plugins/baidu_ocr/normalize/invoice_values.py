"""The values printed on a VAT invoice, parsed strictly: amounts, rates, dates (pure: no pandas, no Airflow).

Baidu returns every value as text as printed: ``¥1,130.00``, full-width ``１３％``, ``免税``, ``2025年05月15日``.
A value parses only when it has exactly one meaning; anything else is ``None``, so the check that reads it
fails and a person looks at it. Nothing becomes a silent 0.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from decimal import Decimal, InvalidOperation

CENT = Decimal("0.01")
# Scales of the warehouse columns (normalize.schema): money, quantities and unit prices, tax rates.
MONEY_PLACES = 2
QUANTITY_PLACES = 8
RATE_PLACES = 4

# Rates printed as words: the item is not taxed (its tax cell reads "***").
TAX_FREE_RATES = frozenset({"免税", "不征税", "免征", "零税率"})
NO_TAX_MARKS = frozenset({"***", "**", "*", "—", "-", ""})

_CURRENCY = re.compile(r"^(-?)(?:¥|RMB|CNY|人民币)")  # a credit note (红字发票) prints "-¥1,130.00"
_PLAIN = re.compile(r"^-?\d+(?:\.\d+)?$")
_GROUPED = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_PERCENT = re.compile(r"^(\d+(?:\.\d+)?)%$")
_CJK_DATE = re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$")
_ISO_DATE = re.compile(r"^(\d{4})[-./](\d{1,2})[-./](\d{1,2})$")
_DIGIT_DATE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")


def clean_value(value: object) -> str | None:
    """The text of a Baidu value (a string, or ``{"word"/"words": ...}``): NFKC (full-width digits, ``％``
    and ``￥`` become ASCII ones), blanks removed; ``None`` when empty."""
    if isinstance(value, dict):
        value = value.get("word", value.get("words"))
    if value is None:
        return None
    text = "".join(unicodedata.normalize("NFKC", str(value)).split())
    return text or None


def parse_decimal(value: object, places: int) -> Decimal | None:
    """``¥1,130.00`` -> ``Decimal('1130.00')`` at ``places`` decimals; ``None`` for anything else.

    Thousands separators only in groups of three; a value with more decimals than ``places`` that are not
    zeros is refused rather than rounded (``12.345`` is no amount in cents).
    """
    text = clean_value(value)
    if text is None:
        return None
    text = _CURRENCY.sub(r"\1", text)
    if _GROUPED.match(text):
        text = text.replace(",", "")
    elif not _PLAIN.match(text):
        return None
    try:
        number = Decimal(text)
        quantized = number.quantize(Decimal(1).scaleb(-places))
    except InvalidOperation:
        return None
    return quantized if quantized == number else None


def parse_amount(value: object) -> Decimal | None:
    """An amount of money in yuan, exact to the cent (see :func:`parse_decimal`)."""
    return parse_decimal(value, MONEY_PLACES)


def parse_quantity(value: object) -> Decimal | None:
    """A quantity or unit price (invoices print up to 8 decimals for unit prices)."""
    return parse_decimal(value, QUANTITY_PLACES)


def parse_tax_rate(value: object) -> Decimal | None:
    """``13%`` -> ``Decimal('0.1300')``; ``免税``/``不征税`` (and a printed ``0%``) -> ``Decimal('0.0000')``."""
    text = clean_value(value)
    if text is None:
        return None
    if text in TAX_FREE_RATES:
        return Decimal(0).quantize(Decimal(1).scaleb(-RATE_PLACES))
    match = _PERCENT.match(text)
    if not match:
        return None
    return parse_decimal(str(Decimal(match.group(1)) / 100), RATE_PLACES)


def is_tax_free(rate_text: object) -> bool:
    """The rate cell says the item is not taxed (免税, 不征税...)."""
    return clean_value(rate_text) in TAX_FREE_RATES


def parse_total_tax(value: object, item_rates: list[Decimal | None]) -> Decimal | None:
    """The invoice's tax (合计税额); the ``***`` of an invoice whose every item is tax-free means 0."""
    if item_rates and all(rate == 0 for rate in item_rates) and (clean_value(value) or "") in NO_TAX_MARKS:
        return Decimal(0).quantize(CENT)
    return parse_amount(value)


def parse_item_tax(value: object, rate_text: object) -> Decimal | None:
    """An item's tax; the ``***`` a tax-free (or 0 %) item prints means 0 there, and only there."""
    if parse_tax_rate(rate_text) == 0 and (clean_value(value) or "") in NO_TAX_MARKS:
        return Decimal(0).quantize(CENT)
    return parse_amount(value)


def parse_invoice_date(value: object) -> date | None:
    """``2025年05月15日`` (or ``2025-05-15``, ``20250515``) -> a date; an impossible date -> ``None``."""
    text = clean_value(value)
    if text is None:
        return None
    for pattern in (_CJK_DATE, _ISO_DATE, _DIGIT_DATE):
        if match := pattern.match(text):
            try:
                return date(*(int(part) for part in match.groups()))
            except ValueError:
                return None
    return None


def digits_only(value: object) -> str | None:
    """An identifier made only of digits (an invoice code or number), else ``None``."""
    text = clean_value(value)
    return text if text is not None and text.isdigit() and text.isascii() else None


# 大写 amounts: "壹仟贰佰叁拾肆元伍角陆分", "壹仟壹佰叁拾圆整"; cn2an reads the numerals of each unit, this
# glue only splits the text at 元/角/分. Printed prefixes: "人民币", the crossed circle "ⓧ" before the words.
# (After NFKC, which makes "ⓧ" an "x".)
# A credit note (红字发票) says "(负数)" before the words, or "负".
_WORDS_PREFIX = re.compile(r"^(?:人民币|\(x\)|[xX⊗⨂×✕])+")
_NEGATIVE_WORDS = re.compile(r"^(?:\(负数\)|负数)")
_WORDS = re.compile(
    r"^(?P<negative>负)?(?:(?P<yuan>[^元角分整]+)元)?(?:零角|零)?(?:(?P<jiao>[^元角分整零])角)?零?"
    r"(?:(?P<fen>[^元角分整零])分)?(?P<whole>整)?$"
)


def parse_amount_in_words(value: object) -> Decimal | None:
    """``壹仟贰佰叁拾肆元伍角陆分`` -> ``Decimal('1234.56')``; ``壹仟壹佰叁拾圆整`` -> ``Decimal('1130.00')``.

    The numerals are cn2an's (strict mode: ``壹仟贰`` for 1200 is refused, as accounting rules refuse it);
    text that is not an amount in words is ``None``.
    """
    import cn2an

    text = clean_value(value)
    if text is None:
        return None
    text = _WORDS_PREFIX.sub("", text).replace("圆", "元").replace("正", "整")
    text, credit_note = _NEGATIVE_WORDS.subn("", text)
    text = _WORDS_PREFIX.sub("", text)
    match = _WORDS.match(text)
    if not match or not any(match.group(unit) for unit in ("yuan", "jiao", "fen")):
        return None
    if match.group("whole") and match.group("fen"):
        return None  # "整" closes an amount without cents only
    try:
        yuan = cn2an.cn2an(match.group("yuan"), "strict") if match.group("yuan") else 0
        jiao = cn2an.cn2an(match.group("jiao"), "strict") if match.group("jiao") else 0
        fen = cn2an.cn2an(match.group("fen"), "strict") if match.group("fen") else 0
    except ValueError:
        return None
    if not all(isinstance(n, int) for n in (yuan, jiao, fen)) or jiao > 9 or fen > 9:
        return None
    amount = (Decimal(yuan) + Decimal(jiao) / 10 + Decimal(fen) / 100).quantize(CENT)
    return -amount if match.group("negative") or credit_note else amount
