"""Prices of a won deal against its customer's price book, and in other currencies."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from schemas.entities import Item, PriceBookPrice
from schemas.types import Money
from streams.rules.validation import (
    Decision,
    ListPrice,
    OrderPolicy,
    list_price,
    price_books,
    validate_order,
)
from tests.streams.factories import T0, customer, eur, item, line, quote

POLICY = OrderPolicy()


def _price(
    amount: str, currency: str = "EUR", book: str = "standard", tier: str | None = None
) -> PriceBookPrice:
    return PriceBookPrice(
        price_book=book,
        unit_price=Money(amount=Decimal(amount), currency=currency),
        min_quantity=None if tier is None else Decimal(tier),
    )


def _widget(*prices: PriceBookPrice) -> dict[str, Item]:
    """The first price is the list price, the others the ERP's other prices."""
    return {"prod-W-1": item("W-1", prices=prices[:1], book_prices=prices[1:])}


GOLD = customer(erp_id="42", price_book="Gold")
BOOKS = _widget(_price("100.00"), _price("90.00", book="Gold"), _price("85.00", book="Silver"))


def test_a_customer_is_priced_from_its_own_book_then_the_standard_one() -> None:
    assert price_books(GOLD, POLICY) == ("Gold", "standard")
    assert price_books(customer(erp_id="42"), POLICY) == ("standard",)
    assert price_books(None, POLICY) == ("standard",)
    assert price_books(customer(erp_id="42", price_book="standard"), POLICY) == ("standard",)
    widget = BOOKS["prod-W-1"]
    assert list_price(widget, "EUR", Decimal(1), ("Gold", "standard")) == ListPrice(
        Decimal("90.00"), "Gold"
    )
    # A book that does not list the item (or not in that currency) falls back to the next.
    assert list_price(widget, "EUR", Decimal(1), ("Bronze", "standard")) == ListPrice(
        Decimal("100.00"), "standard"
    )
    assert list_price(widget, "USD", Decimal(1), ("Gold", "standard")) is None


def test_the_best_tier_of_the_customers_book_applies() -> None:
    tiered = _widget(
        _price("100.00"), _price("90.00", book="Gold"), _price("80", "EUR", "Gold", "10")
    )
    widget = tiered["prod-W-1"]
    assert list_price(widget, "EUR", Decimal(9), ("Gold",)) == ListPrice(Decimal("90.00"), "Gold")
    assert list_price(widget, "EUR", Decimal(10), ("Gold",)) == ListPrice(Decimal("80"), "Gold")


def test_a_deal_at_the_customers_list_price_passes_at_the_standard_price_it_is_rejected() -> None:
    at_list = quote(line(1, "W-1", "2", "90.00"))
    assert validate_order(at_list, GOLD, BOOKS, POLICY).decision is Decision.READY
    at_standard = quote(line(1, "W-1", "2", "100.00"))
    verdict = validate_order(at_standard, GOLD, BOOKS, POLICY)
    assert verdict.decision is Decision.REJECTED
    assert verdict.message() == (
        "line 1 (W-1): price 100.00 is above the customer's price book 'Gold': 90.00"
    )
    # The same deal for a customer without a book of its own is at the list price.
    plain = customer(erp_id="42")
    assert validate_order(at_standard, plain, BOOKS, POLICY).decision is Decision.READY


def test_a_discount_is_measured_from_the_customers_list_price() -> None:
    # 9 % off Gold's 90: within policy; 20 % off it: needs approval, naming the book.
    assert validate_order(quote(line(1, "W-1", "1", "81.90")), GOLD, BOOKS, POLICY).decision is (
        Decision.READY
    )
    verdict = validate_order(quote(line(1, "W-1", "1", "72.00")), GOLD, BOOKS, POLICY)
    assert verdict.decision is Decision.NEEDS_APPROVAL
    assert verdict.message() == (
        "line 1 (W-1): discount 20.00% off the list price 90.00 ('Gold') exceeds the 10% policy"
    )


def test_the_configured_tolerance_bounds_a_price_difference() -> None:
    slightly_above = quote(line(1, "W-1", "1", "90.04"))
    assert validate_order(slightly_above, GOLD, BOOKS, POLICY).decision is Decision.REJECTED
    lenient = OrderPolicy(price_tolerance=Decimal("0.05"))
    assert validate_order(slightly_above, GOLD, BOOKS, lenient).decision is Decision.READY
    beyond = quote(line(1, "W-1", "1", "90.06"))
    assert "above the customer's price book 'Gold': 90.00" in (
        validate_order(beyond, GOLD, BOOKS, lenient).message()
    )


def test_a_deal_in_another_currency_is_priced_from_the_erps_conversion() -> None:
    # The company keeps its books in USD; the ERP converted each list price to EUR at the
    # rate of the day (Tryton's own computation, read by the source).
    converted = _widget(
        _price("100.00", "USD"),
        _price("90.00", "USD", "Gold"),
        _price("92.50", "EUR"),
        _price("83.25", "EUR", "Gold"),
    )
    at_list = quote(line(1, "W-1", "2", "83.25"))
    assert validate_order(at_list, GOLD, converted, POLICY).decision is Decision.READY
    above = validate_order(quote(line(1, "W-1", "2", "92.50")), GOLD, converted, POLICY)
    assert above.decision is Decision.REJECTED
    assert "above the customer's price book 'Gold': 83.25" in above.message()


def test_a_missing_rate_holds_the_deal_with_the_date_then_rejects_it_after_max_wait() -> None:
    dollars_only = _widget(_price("100.00", "USD"), _price("90.00", "USD", "Gold"))
    eur_deal = quote(line(1, "W-1", "1", "90.00"))
    now = T0 + timedelta(days=6)
    verdict = validate_order(eur_deal, GOLD, dollars_only, POLICY, now=now)
    assert verdict.decision is Decision.WAITING
    assert verdict.message() == "line 1 (W-1): no EUR rate on 2026-12-02 in the ERP"
    late = validate_order(eur_deal, GOLD, dollars_only, POLICY, waiting_since=T0, now=now)
    assert late.decision is Decision.REJECTED
    assert "no EUR rate on 2026-12-02 in the ERP after 1 day" in late.message()
    # A structural problem is still a rejection, not a wait for the rate.
    wrong = eur_deal.model_copy(update={"total": eur("1")})
    assert validate_order(wrong, GOLD, dollars_only, POLICY, now=now).decision is (
        Decision.REJECTED
    )
