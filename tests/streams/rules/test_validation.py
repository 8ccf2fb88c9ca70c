"""Triggers and validation of won deals before they reach the ERP."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from schemas.entities import CustomerStatus, PriceBookPrice
from schemas.types import Money
from streams.rules.triggers import OrderTrigger
from streams.rules.validation import Decision, OrderPolicy, credit_hold, validate_order
from tests.streams.factories import T0, customer, eur, item, line, quote

POLICY = OrderPolicy()
KNOWN = customer(erp_id="42")
ITEMS = {"prod-W-1": item("W-1", "100.00"), "prod-G-2": item("G-2", "25.00", erp_id="8")}


def test_closed_won_fires_by_default_and_thresholds_apply() -> None:
    won = quote(line(1, "W-1", "2", "100.00"))
    assert OrderTrigger().fires(won)
    assert OrderTrigger().fires(quote(line(1, "W-1", "1", "100.00"), stage="Closed Won"))
    assert not OrderTrigger().fires(quote(line(1, "W-1", "1", "100.00"), stage="NEGOTIATION"))
    assert not OrderTrigger(min_amount=Decimal(10_000)).fires(won)
    assert OrderTrigger(min_amount=Decimal(200)).fires(won)


def test_a_clean_quote_is_ready() -> None:
    q = quote(line(1, "W-1", "2", "100.00"), line(2, "G-2", "4", "25.00"))
    assert validate_order(q, KNOWN, ITEMS, POLICY).decision is Decision.READY


def test_a_discount_within_policy_is_ready_beyond_it_needs_approval() -> None:
    within = quote(line(1, "W-1", "1", "100.00", discount="10"))
    assert validate_order(within, KNOWN, ITEMS, POLICY).decision is Decision.READY
    beyond = quote(line(1, "W-1", "1", "80.00"))
    verdict = validate_order(beyond, KNOWN, ITEMS, POLICY)
    assert verdict.decision is Decision.NEEDS_APPROVAL
    assert "discount 20.00% off the list price 100.00 exceeds the 10% policy" in verdict.message()
    assert validate_order(beyond, KNOWN, ITEMS, POLICY, approved=True).decision is Decision.READY


def test_a_price_above_the_book_is_rejected_with_the_reason() -> None:
    verdict = validate_order(quote(line(1, "W-1", "1", "120.00")), KNOWN, ITEMS, POLICY)
    assert verdict.decision is Decision.REJECTED
    assert "line 1 (W-1): price 120.00 is above the price book's 100.00" in verdict.message()


def test_unknown_customer_or_item_waits_then_is_rejected_after_max_wait() -> None:
    q = quote(line(1, "W-1", "1", "100.00"), line(2, "X-9", "1", "10.00"))
    verdict = validate_order(q, None, ITEMS, POLICY)
    assert verdict.decision is Decision.WAITING
    assert verdict.missing_customer
    assert verdict.missing_items == ("prod-X-9",)
    assert "waiting for item(s) prod-X-9 to exist in the ERP" in verdict.message()
    late = validate_order(q, KNOWN, ITEMS, POLICY, waiting_since=T0, now=T0 + timedelta(hours=25))
    assert late.decision is Decision.REJECTED
    assert "prod-X-9" in late.message()


def test_finance_acceptance_policy_holds_new_customers() -> None:
    policy = OrderPolicy(require_customer_approval=True)
    q = quote(line(1, "W-1", "1", "100.00"))
    held = validate_order(q, KNOWN, ITEMS, policy)
    assert held.decision is Decision.WAITING
    assert "finance acceptance" in held.message()
    accepted = customer(erp_id="42", approved=True)
    assert validate_order(q, accepted, ITEMS, policy).decision is Decision.READY
    on_hold = customer(erp_id="42", status=CustomerStatus.ON_HOLD)
    assert validate_order(q, on_hold, ITEMS, POLICY).decision is Decision.REJECTED


def test_structural_problems_are_rejected() -> None:
    unsaleable = {"prod-W-1": item("W-1", "100.00", saleable=False)}
    q = quote(line(1, "W-1", "1", "100.00"))
    assert "not saleable" in validate_order(q, KNOWN, unsaleable, POLICY).message()
    assert "no line items" in validate_order(quote(), KNOWN, ITEMS, POLICY).message()
    wrong_total = q.model_copy(update={"total": eur("99.00")})
    assert "not the sum of its lines" in validate_order(wrong_total, KNOWN, ITEMS, POLICY).message()
    usd_only = {
        "prod-W-1": item(
            "W-1",
            prices=(PriceBookPrice(unit_price=eur("1").model_copy(update={"currency": "USD"})),),
        )
    }
    no_rate = validate_order(q, KNOWN, usd_only, POLICY, now=T0)
    assert no_rate.decision is Decision.WAITING
    assert no_rate.message() == "line 1 (W-1): no EUR rate on 2026-11-26 in the ERP"
    unpriced = {"prod-W-1": item("W-1", prices=())}
    assert "no EUR price" in validate_order(q, KNOWN, unpriced, POLICY).message()
    assert validate_order(q, KNOWN, ITEMS, OrderPolicy(currencies=frozenset({"USD"}))).decision is (
        Decision.REJECTED
    )


@given(
    qty=st.integers(min_value=1, max_value=1000),
    discount=st.integers(min_value=0, max_value=100),
)
def test_the_verdict_on_a_discount_follows_the_policy_boundary(qty: int, discount: int) -> None:
    q = quote(line(1, "W-1", str(qty), "100.00", discount=str(discount)))
    decision = validate_order(q, KNOWN, ITEMS, POLICY).decision
    if discount <= 10:
        assert decision is Decision.READY
    else:
        assert decision is Decision.NEEDS_APPROVAL


def test_finance_acceptance_and_the_available_credit_hold_an_order() -> None:
    won = quote(line(1, "W-1", "3", "100.00"))
    strict = OrderPolicy(require_customer_approval=True)
    unaccepted = validate_order(won, KNOWN, ITEMS, strict)
    assert unaccepted.decision is Decision.WAITING
    assert "awaits finance acceptance" in unaccepted.message()
    assert validate_order(won, KNOWN, ITEMS, POLICY).decision is Decision.READY

    limited = KNOWN.model_copy(
        update={"approved": True, "credit_limit": eur("1000"), "credit_used": eur("800")}
    )
    held = validate_order(won, limited, ITEMS, strict)
    assert held.decision is Decision.WAITING
    assert held.message() == (
        "on credit hold: the order's 300.00 EUR is over the customer's available credit "
        "200 (credit limit 1000)"
    )
    assert credit_hold(won, limited) is not None
    enough = limited.model_copy(update={"credit_used": eur("700")})
    assert validate_order(won, enough, ITEMS, strict).decision is Decision.READY
    # A limit in another currency than the deal's is left to the ERP's own check.
    dollars = limited.model_copy(
        update={"credit_limit": Money(amount=Decimal(1), currency="USD"), "credit_used": None}
    )
    assert credit_hold(won, dollars) is None
