"""Validation of a won quote before anything is inserted into the ERP.

:func:`validate_order` returns one :class:`Verdict`:

- READY: the customer is known and accepted, every item exists and is saleable, prices match
  the price book or the discount is within policy (or was approved), quantities, currency
  and totals are consistent;
- WAITING: the customer or an item is not known in the ERP yet, the customer awaits finance
  acceptance, or the order is over the customer's available credit (on credit hold): the
  quote is parked and completed when that changes (or rejected once it has waited longer
  than policy allows);
- NEEDS_APPROVAL: a discount beyond policy; it goes through once approved;
- REJECTED: it can never go through as it is; the reasons are shown on the CRM deal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from schemas.entities import Customer, CustomerStatus, DocumentLine, Item, Quote

CENT = Decimal("0.01")


class OrderPolicy(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    max_discount_percent: Decimal = Field(
        default=Decimal(10), ge=0, le=100, description="Beyond it, an order waits for approval."
    )
    price_tolerance: Decimal = Field(default=CENT, ge=0, description="Rounding allowed.")
    require_customer_approval: bool = Field(
        default=False, description="New customers wait for finance acceptance in the ERP."
    )
    currencies: frozenset[str] | None = Field(
        default=None, description="Currencies orders may be in; None allows any."
    )
    price_book: str = "standard"
    max_wait: timedelta = Field(
        default=timedelta(hours=24),
        description="How long a quote may wait for its customer or items before rejection.",
    )


class Decision(StrEnum):
    READY = "ready"
    WAITING = "waiting"
    NEEDS_APPROVAL = "needs_approval"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Verdict:
    decision: Decision
    reasons: tuple[str, ...] = ()
    missing_customer: bool = False
    missing_items: tuple[str, ...] = field(default=())

    def message(self) -> str:
        return "; ".join(self.reasons)


def _item_key(line: DocumentLine) -> str | None:
    if line.item is not None and line.item.crm_id:
        return line.item.crm_id
    return line.sku


def line_net(line: DocumentLine) -> Decimal:
    gross = line.quantity * line.unit_price.amount
    return gross * (Decimal(100) - line.discount_percent) / Decimal(100)


@dataclass(frozen=True)
class ListPrice:
    """The unit price an item is listed at for a line, and the price book it comes from."""

    amount: Decimal
    book: str


def price_books(customer: Customer | None, policy: OrderPolicy) -> tuple[str, ...]:
    """The price books a customer's order is priced from, first match first: the customer's
    own (its ERP price list), then the standard one."""
    own = customer.price_book if customer is not None else None
    return (own, policy.price_book) if own and own != policy.price_book else (policy.price_book,)


def _book_price(item: Item, currency: str, quantity: Decimal, book: str) -> Decimal | None:
    """The ``book`` unit price of ``item`` in ``currency`` for ``quantity`` (the best
    applicable tier), if the book lists one."""
    best: Decimal | None = None
    best_tier = Decimal(-1)
    for price in item.all_prices():
        if price.price_book != book or price.unit_price.currency != currency:
            continue
        tier = price.min_quantity or Decimal(0)
        if tier <= quantity and tier > best_tier:
            best, best_tier = price.unit_price.amount, tier
    return best


def list_price(
    item: Item, currency: str, quantity: Decimal, books: tuple[str, ...]
) -> ListPrice | None:
    """The price of the first of ``books`` that lists ``item`` in ``currency``."""
    for book in books:
        amount = _book_price(item, currency, quantity, book)
        if amount is not None:
            return ListPrice(amount, book)
    return None


def missing_price(item: Item, currency: str, on: date) -> str:
    """Why ``item`` has no price in ``currency``: the ERP lists it in other currencies only
    when it has no rate for ``currency`` (its prices in other currencies are its own
    conversions at the rate of the day), or it has no price at all."""
    if any(price.unit_price.currency != currency for price in item.all_prices()):
        return f"no {currency} rate on {on.isoformat()} in the ERP"
    return f"the ERP price book has no {currency} price"


def _book_label(listed: ListPrice, policy: OrderPolicy) -> str:
    if listed.book == policy.price_book:
        return "the price book's"
    return f"the customer's price book {listed.book!r}:"


def _check_line(
    line: DocumentLine,
    item: Item,
    quote: Quote,
    policy: OrderPolicy,
    books: tuple[str, ...],
    on: date,
) -> tuple[list[str], list[str], list[str]]:
    """(reasons to reject, reasons to wait for approval, reasons to wait) of one line."""
    label = f"line {line.line_no} ({item.sku})"
    rejects: list[str] = []
    approvals: list[str] = []
    if not item.active or not item.saleable:
        rejects.append(f"{label}: the item is not saleable in the ERP")
    if line.quantity <= 0:
        rejects.append(f"{label}: quantity must be positive, not {line.quantity}")
    if abs(line_net(line) - line.amount.amount) > policy.price_tolerance:
        rejects.append(
            f"{label}: amount {line.amount.amount} is not quantity times price less discount "
            f"({line_net(line).quantize(CENT)})"
        )
    listed = list_price(item, quote.currency, line.quantity, books)
    if listed is None:
        reason = f"{label}: {missing_price(item, quote.currency, on)}"
        if reason.endswith(" in the ERP"):  # a rate finance has yet to enter: it waits
            return rejects, approvals, [reason]
        rejects.append(reason)
        return rejects, approvals, []
    effective = line_net(line) / line.quantity if line.quantity > 0 else line.unit_price.amount
    book = _book_label(listed, policy)
    if effective > listed.amount + policy.price_tolerance:
        rejects.append(
            f"{label}: price {effective.quantize(CENT)} is above {book} "
            f"{listed.amount.quantize(CENT)}"
        )
    elif effective < listed.amount - policy.price_tolerance:
        base = listed.amount
        discount = (Decimal(1) - effective / base) * 100 if base else Decimal(100)
        if discount > policy.max_discount_percent:
            approvals.append(
                f"{label}: discount {discount.quantize(CENT)}% off the list price "
                f"{base.quantize(CENT)}"
                + ("" if listed.book == policy.price_book else f" ({listed.book!r})")
                + f" exceeds the {policy.max_discount_percent}% policy"
            )
    return rejects, approvals, []


def credit_hold(quote: Quote, customer: Customer) -> str | None:
    """Why the order is held for credit: its total is over the customer's available credit
    (the ERP's credit limit less what it counts against it). None when it is within it, when
    the customer has no limit, or when the limit is in another currency than the deal (the
    ERP checks it again when it confirms the sale)."""
    available = customer.available_credit
    limit = customer.credit_limit
    if available is None or limit is None or available.currency != quote.currency:
        return None
    if quote.total.amount <= available.amount:
        return None
    return (
        f"on credit hold: the order's {quote.total.amount} {quote.currency} is over the "
        f"customer's available credit {available.amount} (credit limit {limit.amount})"
    )


def validate_order(
    quote: Quote,
    customer: Customer | None,
    items: Mapping[str, Item],
    policy: OrderPolicy,
    *,
    approved: bool = False,
    waiting_since: datetime | None = None,
    now: datetime | None = None,
) -> Verdict:
    """The verdict on ``quote``; ``items`` are the ERP's items by CRM product id or SKU."""
    rejects: list[str] = []
    approvals: list[str] = []
    if not quote.lines:
        rejects.append("the deal has no line items")
    if policy.currencies is not None and quote.currency not in policy.currencies:
        rejects.append(f"currency {quote.currency} is not accepted for orders")
    total = sum((line.amount.amount for line in quote.lines), Decimal(0))
    if quote.lines and abs(total - quote.total.amount) > policy.price_tolerance:
        rejects.append(
            f"the deal amount {quote.total.amount} is not the sum of its lines ({total})"
        )

    missing: list[str] = []
    rates: list[str] = []
    books = price_books(customer, policy)
    on = (now or quote.updated_at).date()
    for line in quote.lines:
        key = _item_key(line)
        if key is None:
            rejects.append(f"line {line.line_no} has no product")
            continue
        item = items.get(key)
        if item is None:
            missing.append(key)
            continue
        line_rejects, line_approvals, line_waits = _check_line(line, item, quote, policy, books, on)
        rejects += line_rejects
        approvals += line_approvals
        rates += line_waits

    if rejects:
        return Verdict(Decision.REJECTED, tuple(rejects))

    waits: list[str] = []
    if customer is None or customer.ids.erp_id is None:
        waits.append("the customer is not in the ERP yet")
    elif customer.status in (CustomerStatus.ON_HOLD, CustomerStatus.INACTIVE):
        return Verdict(Decision.REJECTED, (f"the customer is {customer.status} in the ERP",))
    elif policy.require_customer_approval and not customer.approved:
        waits.append("the customer awaits finance acceptance in the ERP")
    elif (held := credit_hold(quote, customer)) is not None:
        waits.append(held)
    if missing:
        waits.append("waiting for item(s) " + ", ".join(missing) + " to exist in the ERP")
    waits += rates
    if waits:
        if waiting_since is not None and now is not None and now - waiting_since > policy.max_wait:
            return Verdict(
                Decision.REJECTED,
                tuple(w + f" after {policy.max_wait}" for w in waits),
                missing_customer=customer is None,
                missing_items=tuple(missing),
            )
        return Verdict(
            Decision.WAITING,
            tuple(waits),
            missing_customer=customer is None or customer.ids.erp_id is None,
            missing_items=tuple(missing),
        )
    if approvals and not approved:
        return Verdict(Decision.NEEDS_APPROVAL, tuple(approvals))
    return Verdict(Decision.READY)
