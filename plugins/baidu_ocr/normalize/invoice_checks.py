"""Every check an invoice must pass before anyone books it, each a named function (pure: no Airflow).

A check reads the parsed values (:class:`Invoice`, built by ``normalize.invoices``) and says True only when
it could verify what it checks: a value that did not parse (``None``) fails the checks that need it. The
function names are what ``ocr_invoices.checks_failed`` lists, comma-separated in :data:`CHECKS` order
(``""`` when all passed): ``checks_failed LIKE '%amount_in_words%'`` finds an invoice whose words and
figures disagree.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from baidu_ocr.normalize.invoice_values import CENT
from baidu_ocr.normalize.invoice_verification import FAILING_STATUSES
from baidu_ocr.pii.tax_ids import is_credit_code, is_id_number

# Invoices are dated in China's time: "not in the future" is judged by Beijing's calendar.
INVOICE_ZONE = ZoneInfo("Asia/Shanghai")
# VAT invoices exist since the 1994 tax reform: an earlier date is a misread year.
EARLIEST_INVOICE_DATE = date(1994, 1, 1)
# An item's tax is its amount x rate rounded to the cent; when the seller priced tax-inclusive the tax is
# what is left of the price, which can differ from that product by one cent.
ITEM_TAX_TOLERANCE = CENT
CLASSIC_NUMBER_DIGITS = 8
DIGITAL_NUMBER_DIGITS = 20  # 数电票 (fully digital invoices): no code, a 20-digit number
CODE_DIGITS = (10, 12)
SEPARATOR = ","


@dataclass(frozen=True)
class InvoiceItem:
    """One item line as parsed (``None``: not read, or not parseable)."""

    item_no: int
    amount: Decimal | None = None
    tax_rate: Decimal | None = None
    tax: Decimal | None = None


@dataclass(frozen=True)
class Invoice:
    """What the checks read: identifiers as printed (clear), amounts and date as parsed."""

    invoice_code: str | None = None
    invoice_num: str | None = None
    invoice_date: date | None = None
    buyer_tax_id: str | None = None
    seller_tax_id: str | None = None
    amount_excl_tax: Decimal | None = None
    tax_amount: Decimal | None = None
    amount_incl_tax: Decimal | None = None
    amount_in_words: Decimal | None = None  # the 大写 amount, parsed
    items: tuple[InvoiceItem, ...] = field(default_factory=tuple)
    # The tax authority's verdict (``normalize.invoice_verification``); None: it was not asked.
    authority_status: str | None = None

    @property
    def is_digital(self) -> bool:
        """A 数电票: printed without an invoice code."""
        return not self.invoice_code


def totals_add_up(inv: Invoice, today: date) -> bool:
    """Amount before tax + tax = amount including tax (价税合计)."""
    parts = (inv.amount_excl_tax, inv.tax_amount, inv.amount_incl_tax)
    return None not in parts and inv.amount_excl_tax + inv.tax_amount == inv.amount_incl_tax


def items_sum_to_amount(inv: Invoice, today: date) -> bool:
    """The item amounts add up to the amount before tax (合计金额); no item read: not verified."""
    amounts = [item.amount for item in inv.items]
    return bool(amounts) and None not in amounts and inv.amount_excl_tax == sum(amounts, Decimal(0))


def items_sum_to_tax(inv: Invoice, today: date) -> bool:
    """The item taxes add up to the tax (合计税额)."""
    taxes = [item.tax for item in inv.items]
    return bool(taxes) and None not in taxes and inv.tax_amount == sum(taxes, Decimal(0))


def item_tax_matches_rate(inv: Invoice, today: date) -> bool:
    """Each item's amount x rate is its tax, to the cent (:data:`ITEM_TAX_TOLERANCE`)."""
    if not inv.items:
        return False
    for item in inv.items:
        if item.amount is None or item.tax_rate is None or item.tax is None:
            return False
        if abs(item.amount * item.tax_rate - item.tax) > ITEM_TAX_TOLERANCE:
            return False
    return True


def amount_in_words(inv: Invoice, today: date) -> bool:
    """The amount in words (大写) says the amount including tax (小写)."""
    return inv.amount_in_words is not None and inv.amount_in_words == inv.amount_incl_tax


def buyer_tax_id(inv: Invoice, today: date) -> bool:
    """The buyer's tax id is a valid unified social credit code, or (a private buyer) a valid ID number."""
    return is_credit_code(inv.buyer_tax_id) or is_id_number(inv.buyer_tax_id)


def seller_tax_id(inv: Invoice, today: date) -> bool:
    """The seller's tax id is a valid unified social credit code (GB 32100 checksum)."""
    return is_credit_code(inv.seller_tax_id)


def number_shape(inv: Invoice, today: date) -> bool:
    """8 digits on a classic invoice (with a code), 20 digits on a 数电票 (without)."""
    digits = DIGITAL_NUMBER_DIGITS if inv.is_digital else CLASSIC_NUMBER_DIGITS
    return _is_digits(inv.invoice_num, (digits,))


def code_shape(inv: Invoice, today: date) -> bool:
    """A classic invoice's code is 10 or 12 digits; a 数电票 has none (its number says what it is)."""
    return inv.is_digital or _is_digits(inv.invoice_code, CODE_DIGITS)


def date_valid(inv: Invoice, today: date) -> bool:
    """A real date (parsed), not before VAT invoices existed, not in the future."""
    return inv.invoice_date is not None and EARLIEST_INVOICE_DATE <= inv.invoice_date <= today


def tax_authority(inv: Invoice, today: date) -> bool:
    """The tax authority knows the invoice as read and has not voided it; an invoice it was not asked about
    (the run did not opt in, or the reading lacks what the query needs) passes: unverified, not failed."""
    return inv.authority_status not in FAILING_STATUSES


CHECKS: tuple[Callable[[Invoice, date], bool], ...] = (
    totals_add_up,
    items_sum_to_amount,
    items_sum_to_tax,
    item_tax_matches_rate,
    amount_in_words,
    buyer_tax_id,
    seller_tax_id,
    number_shape,
    code_shape,
    date_valid,
    tax_authority,
)
CHECK_NAMES: tuple[str, ...] = tuple(check.__name__ for check in CHECKS)


def failed_checks(invoice: Invoice, today: date | None = None) -> list[str]:
    """The names of the checks ``invoice`` fails, in :data:`CHECKS` order (``today``: Beijing's date)."""
    today = today or datetime.now(INVOICE_ZONE).date()
    return [check.__name__ for check in CHECKS if not check(invoice, today)]


def join_check_names(names: Iterable[str]) -> str:
    """The ``checks_failed`` text: names comma-separated, ``""`` when none failed."""
    return SEPARATOR.join(names)


def failed_check_names(checks_failed: str | None) -> list[str]:
    """The names in a stored ``checks_failed`` text (``""`` or NULL: none)."""
    return [name for name in (checks_failed or "").split(SEPARATOR) if name]


def _is_digits(value: str | None, lengths: tuple[int, ...]) -> bool:
    return value is not None and value.isascii() and value.isdigit() and len(value) in lengths
