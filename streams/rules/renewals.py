"""Renewal deals: a subscription coming up for renewal opens a deal in the CRM.

A running subscription whose renewal date (its end date) is at most ``lead_days`` away
opens one renewal deal per renewal date, on the customer's account, with the
subscription's lines at the items' current prices. What was opened is remembered per
subscription (its renewal date), so the timer and every later change of the subscription
find it done; a renewal date that moves (the subscription extended) is a new renewal and
opens its own deal. A cancelled or closed subscription opens nothing, nor does a renewal
date already past (the renewal was missed, not coming).

Opening a deal is all q2c does: won, the renewal deal becomes an ERP sale like any deal.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from schemas.entities import Item, SalesOrder, Subscription, SubscriptionLine, SubscriptionState
from schemas.types import Money

RENEWING = frozenset({SubscriptionState.RUNNING})
"""States of a subscription that comes up for renewal."""

NAME_FIELDS = {
    "subscription": "SUB-1",
    "renewal_date": "2027-11-30",
    "order": "SO-1",
    "deal": "deal",
}
"""The placeholders a renewal deal's name pattern may use."""


class RenewalPolicy(BaseModel):
    """``[sync.renewals]``: whether and when a renewal coming due opens a CRM deal."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    open_deal: bool = Field(
        default=False, description="A renewal coming due opens a renewal deal in the CRM."
    )
    lead_days: int = Field(
        default=60, ge=0, description="How many days before the renewal date the deal opens."
    )
    stage: str | None = Field(
        default=None, description="The renewal deal's stage; unset: the CRM's first open stage."
    )
    name: str = Field(
        default="Renewal of {subscription} ({renewal_date})",
        description="The renewal deal's name: {subscription}, {renewal_date}, {order}, {deal}.",
    )

    @field_validator("name")
    @classmethod
    def _known_placeholders(cls, pattern: str) -> str:
        try:
            named = pattern.format(**NAME_FIELDS)
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"the renewal deal name {pattern!r} uses an unknown placeholder ({exc}); "
                f"known: {', '.join('{' + k + '}' for k in NAME_FIELDS)}"
            ) from None
        if not named.strip():
            raise ValueError("the renewal deal name is empty")
        return pattern


def renewal_key(erp_system: str, subscription_id: str, renewal_date: date) -> str:
    """Names one renewal: the subscription and the renewal date."""
    return f"{erp_system}:subscription:{subscription_id}:{renewal_date.isoformat()}"


@dataclass(frozen=True)
class RenewalDue:
    """A renewal to open a deal for."""

    order: SalesOrder
    subscription: Subscription
    subscription_id: str
    renewal_date: date


def due_renewals(
    orders: Iterable[SalesOrder], opened: Mapping[str, date], today: date, policy: RenewalPolicy
) -> list[RenewalDue]:
    """The renewals of ``orders``' subscriptions to open now: running, renewal date between
    ``today`` and ``lead_days`` ahead, not opened for that date yet (``opened``: the
    renewal date each subscription last opened a deal for)."""
    if not policy.open_deal:
        return []
    horizon = today + timedelta(days=policy.lead_days)
    due: list[RenewalDue] = []
    seen: set[str] = set()
    for order in sorted(orders, key=lambda o: o.ids.erp_id or ""):
        for sub in order.subscriptions:
            sub_id = sub.ids.erp_id
            end = sub.end_date
            if sub_id is None or end is None or sub_id in seen or sub.state not in RENEWING:
                continue
            if not today <= end <= horizon or opened.get(sub_id) == end:
                continue
            seen.add(sub_id)
            due.append(RenewalDue(order, sub, sub_id, end))
    return due


def price_book_price(item: Item | None, currency: str, quantity: Decimal) -> Money | None:
    """The ERP price book's current standard unit price of ``item`` for ``quantity`` (the
    best applicable tier) in ``currency``; None when the price book has none."""
    if item is None:
        return None
    best: Money | None = None
    best_tier = Decimal(-1)
    for price in item.prices:
        if price.price_book != "standard" or price.unit_price.currency != currency:
            continue
        tier = price.min_quantity or Decimal(0)
        if tier <= quantity and tier > best_tier:
            best, best_tier = price.unit_price, tier
    return best


def renewal_lines(
    lines: Iterable[SubscriptionLine], items: Mapping[str, Item], currency: str
) -> tuple[SubscriptionLine, ...]:
    """The subscription's lines at current prices: each item's price-book price when the
    ERP has one in ``currency`` (else the subscription's own price), with the item's CRM id
    and SKU when the sync knows them (``items``: by ERP id or SKU)."""
    renewed = []
    for line in lines:
        key = (line.item.erp_id if line.item else None) or line.sku
        item = items.get(key) if key else None
        price = price_book_price(item, currency, line.quantity) or line.unit_price
        update: dict[str, object] = {"unit_price": price}
        if item is not None:
            update["item"] = item.ids
            update["sku"] = item.sku
        renewed.append(line.model_copy(update=update))
    return tuple(renewed)


def renewal_amount(lines: Iterable[SubscriptionLine], currency: str) -> Money:
    total = sum((line.quantity * line.unit_price.amount for line in lines), Decimal(0))
    return Money(amount=total, currency=currency)


def renewal_name(policy: RenewalPolicy, due: RenewalDue) -> str:
    return policy.name.format(
        subscription=due.subscription.number or due.subscription_id,
        renewal_date=due.renewal_date.isoformat(),
        order=due.order.number or due.order.ids.erp_id or "",
        deal=due.order.reference or "",
    )
