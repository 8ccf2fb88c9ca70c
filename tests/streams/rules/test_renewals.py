"""Which renewals open a deal: due, not yet due, already opened, a renewal date that moved,
a cancelled subscription; and the lines at current prices."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from schemas import ExternalIds, SalesOrder, SalesOrderState, Subscription, SubscriptionLine
from schemas.entities import PriceBookPrice, SubscriptionState
from streams.rules.renewals import (
    RenewalPolicy,
    due_renewals,
    renewal_amount,
    renewal_key,
    renewal_lines,
    renewal_name,
)
from tests.streams.factories import T0, eur, item

TODAY = date(2027, 10, 1)
ON = RenewalPolicy(open_deal=True, lead_days=60)
LINE = SubscriptionLine(
    item=ExternalIds(erp_id="7"), sku="S-1", quantity=Decimal(12), unit_price=eur("20")
)


def sub(
    end: date | None, state: SubscriptionState = SubscriptionState.RUNNING, sid: str = "3"
) -> Subscription:
    return Subscription(
        ids=ExternalIds(erp_id=sid), number=f"SUB{sid}", state=state, end_date=end, lines=(LINE,)
    )


def order(*subs: Subscription) -> SalesOrder:
    return SalesOrder(
        ids=ExternalIds(erp_id="so-9", crm_id="deal-1"),
        number="SO9",
        reference="deal-1",
        customer=ExternalIds(crm_id="acc-1", erp_id="42"),
        currency="EUR",
        state=SalesOrderState.PROCESSING,
        untaxed=eur("240"),
        tax=eur("0"),
        total=eur("240"),
        updated_at=T0,
        subscriptions=subs,
    )


def ids(found: list[object]) -> list[tuple[str, date]]:
    return [(d.subscription_id, d.renewal_date) for d in found]  # type: ignore[attr-defined]


def test_a_renewal_within_the_lead_time_is_due() -> None:
    end = TODAY + timedelta(days=60)
    assert ids(due_renewals([order(sub(end))], {}, TODAY, ON)) == [("3", end)]  # type: ignore[arg-type]


def test_a_renewal_further_off_is_not_due_yet_nor_one_already_past() -> None:
    later = order(sub(TODAY + timedelta(days=61)), sub(TODAY - timedelta(days=1), sid="4"))
    assert due_renewals([later], {}, TODAY, ON) == []
    assert due_renewals([order(sub(None))], {}, TODAY, ON) == []


def test_a_renewal_already_opened_for_that_date_is_not_opened_again() -> None:
    end = TODAY + timedelta(days=30)
    assert due_renewals([order(sub(end))], {"3": end}, TODAY, ON) == []


def test_a_renewal_date_that_moved_is_a_new_renewal() -> None:
    opened = {"3": TODAY + timedelta(days=10)}
    moved = TODAY + timedelta(days=40)
    assert ids(due_renewals([order(sub(moved))], opened, TODAY, ON)) == [("3", moved)]  # type: ignore[arg-type]
    # Moved beyond the lead time: nothing until it comes due.
    assert due_renewals([order(sub(TODAY + timedelta(days=400)))], opened, TODAY, ON) == []


@pytest.mark.parametrize(
    "state",
    [SubscriptionState.CANCELLED, SubscriptionState.CLOSED, SubscriptionState.DRAFT],
)
def test_a_subscription_not_running_opens_nothing(state: SubscriptionState) -> None:
    assert due_renewals([order(sub(TODAY + timedelta(days=5), state))], {}, TODAY, ON) == []


def test_nothing_opens_unless_the_policy_says_so() -> None:
    due = order(sub(TODAY + timedelta(days=5)))
    assert due_renewals([due], {}, TODAY, RenewalPolicy()) == []


def test_the_lines_take_the_price_books_current_price_and_the_items_crm_id() -> None:
    known = item("S-1", "22.50", erp_id="7")
    unknown = LINE.model_copy(update={"item": ExternalIds(erp_id="8"), "sku": "S-2"})
    lines = renewal_lines((LINE, unknown), {"7": known}, "EUR")
    assert lines[0].unit_price == eur("22.50")
    assert lines[0].item == known.ids
    assert lines[1].unit_price == eur("20")  # no current price known: the subscription's
    assert renewal_amount(lines, "EUR") == eur("510.00")


def test_a_quantity_tier_applies_and_another_currency_does_not() -> None:
    tiered = item(
        "S-1",
        "22.50",
        prices=(
            PriceBookPrice(unit_price=eur("22.50")),
            PriceBookPrice(unit_price=eur("18"), min_quantity=Decimal(10)),
        ),
    )
    (line,) = renewal_lines((LINE,), {"7": tiered}, "EUR")
    assert line.unit_price == eur("18")
    (line,) = renewal_lines((LINE,), {"7": tiered}, "USD")
    assert line.unit_price == eur("20")


def test_the_name_pattern_and_the_key_name_the_renewal() -> None:
    end = TODAY + timedelta(days=5)
    (due,) = due_renewals([order(sub(end))], {}, TODAY, ON)
    assert renewal_name(ON, due) == "Renewal of SUB3 (2027-10-06)"
    custom = RenewalPolicy(name="{deal} / {order}: {subscription} renews {renewal_date}")
    assert renewal_name(custom, due) == "deal-1 / SO9: SUB3 renews 2027-10-06"
    assert renewal_key("tryton", "3", end) == "tryton:subscription:3:2027-10-06"


def test_an_unknown_placeholder_is_refused_at_start() -> None:
    with pytest.raises(ValidationError, match="unknown placeholder"):
        RenewalPolicy(name="Renewal {customer}")
