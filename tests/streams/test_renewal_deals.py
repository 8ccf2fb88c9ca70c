"""Renewal deals from the finance handler: a subscription coming due opens one deal on the
customer's account (found when its sale changes, or by the ledger timer on a later day),
remembered so that neither a repeat nor the timer opens another."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from schemas import (
    CreateRenewalDeal,
    ExternalIds,
    Item,
    SalesOrder,
    SalesOrderState,
    Subscription,
    SubscriptionLine,
    SubscriptionState,
)
from streams.config import SyncConfig
from streams.handlers.finance import (
    FinanceState,
    new_finance_state,
    on_finance_change,
    on_ledger_recheck,
    renewal_due,
)
from streams.rules.renewals import RenewalPolicy
from tests.streams.factories import T0, eur, item
from tests.streams.test_handlers import erp_change

NOW = datetime(2027, 10, 1, 9, 0, tzinfo=T0.tzinfo)
CFG = SyncConfig(renewals=RenewalPolicy(open_deal=True, lead_days=60, stage="QUALIFICATION"))
RENEWAL = date(2027, 11, 30)


@dataclass
class Items:
    by_key: dict[str, Item] = field(default_factory=dict)

    def item(self, key: str) -> Item | None:
        return self.by_key.get(key)


def order(end: date, state: SubscriptionState = SubscriptionState.RUNNING) -> SalesOrder:
    sub = Subscription(
        ids=ExternalIds(erp_id="3"),
        number="SUB3",
        state=state,
        start_date=end - timedelta(days=364),
        end_date=end,
        lines=(
            SubscriptionLine(
                item=ExternalIds(erp_id="7"), sku="S-1", quantity=Decimal(12), unit_price=eur("20")
            ),
        ),
    )
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
        subscriptions=(sub,),
    )


def renewals(commands: list[object]) -> list[CreateRenewalDeal]:
    return [c for c in commands if isinstance(c, CreateRenewalDeal)]


def opened(
    state: FinanceState, sale: SalesOrder, n: int, now: datetime = NOW
) -> tuple[FinanceState, list[CreateRenewalDeal]]:
    items = Items({"7": item("S-1", "22.00", erp_id="7")})
    state, step = on_finance_change(state, erp_change(sale, n), "acc-1", CFG, now, items)
    return state, renewals([e.command for e in step.commands])


def test_a_subscription_coming_due_opens_one_renewal_deal() -> None:
    state, (deal,) = opened(new_finance_state("42"), order(RENEWAL), 1)
    assert deal.account == ExternalIds(crm_id="acc-1", erp_id="42")
    assert (deal.name, deal.stage, deal.close_date) == (
        "Renewal of SUB3 (2027-11-30)",
        "QUALIFICATION",
        RENEWAL,
    )
    assert deal.renewal_key == "tryton:subscription:3:2027-11-30"
    assert deal.original_deal == ExternalIds(crm_id="deal-1")
    (line,) = deal.lines
    assert (line.sku, line.quantity, line.unit_price) == ("S-1", Decimal(12), eur("22.00"))
    assert line.item == ExternalIds(crm_id="prod-S-1", erp_id="7")
    assert deal.amount == eur("264.00")
    assert state.renewals == {"3": RENEWAL}

    # The sale changing again (an invoice, a shipment): the renewal is not opened twice.
    again, none = opened(state, order(RENEWAL), 2)
    assert none == []
    assert not renewal_due(again, NOW.date(), CFG)


def test_the_same_renewal_always_has_the_same_idempotency_key() -> None:
    _, (first,) = opened(new_finance_state("42"), order(RENEWAL), 1)
    _, (repeat,) = opened(new_finance_state("42"), order(RENEWAL), 2, NOW + timedelta(hours=3))
    assert first.idempotency_key == repeat.idempotency_key


def test_the_timer_opens_a_renewal_that_came_due_since() -> None:
    far = NOW - timedelta(days=30)  # the renewal 90 days off: not due yet
    state, none = opened(new_finance_state("42"), order(RENEWAL), 1, far)
    assert none == []
    assert not renewal_due(state, far.date(), CFG)
    assert renewal_due(state, NOW.date(), CFG)
    state, step = on_ledger_recheck(state, CFG, NOW, Items())
    (deal,) = renewals([e.command for e in step.commands])
    assert deal.lines[0].unit_price == eur("20")  # no current price known: the subscription's
    assert not renewal_due(state, NOW.date(), CFG)


def test_a_moved_renewal_date_opens_a_deal_for_the_new_date() -> None:
    state, _ = opened(new_finance_state("42"), order(RENEWAL), 1)
    later = RENEWAL - timedelta(days=10)  # moved, still within the lead time
    state, (deal,) = opened(state, order(later), 2)
    assert deal.close_date == later
    assert state.renewals == {"3": later}


def test_a_cancelled_subscription_or_an_unknown_account_opens_nothing() -> None:
    _, none = opened(new_finance_state("42"), order(RENEWAL, SubscriptionState.CANCELLED), 1)
    assert none == []
    unlinked = order(RENEWAL).model_copy(update={"customer": ExternalIds(erp_id="42")})
    state, step = on_finance_change(
        new_finance_state("42"), erp_change(unlinked, 1), None, CFG, NOW
    )
    assert renewals([e.command for e in step.commands]) == []
    assert not renewal_due(state, NOW.date(), CFG)
