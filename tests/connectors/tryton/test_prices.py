"""Tryton's price lists and rates → the item's prices per book and currency, and the
party's price list → the customer's price book."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from connectors.base import ErrorKind
from connectors.base.mapping import MappingError
from connectors.tryton.errors import TrytonUserError
from connectors.tryton.mapping import TrytonMapper
from connectors.tryton.prices import _without_repeated_tiers
from connectors.tryton.sink import _no_rate
from schemas import Customer, Item, Money
from tests.connectors.tryton.test_mapping import PARTY, change

PRODUCT: dict[str, Any] = {
    "id": 5,
    "code": "CONS-DAY",
    "name": "Consulting day",
    "salable": True,
    "active": True,
    "list_price_used": "800.0000",
    "default_uom.": {"id": 1, "name": "Unit"},
    # As the source reads them: the list price and a price list "Gold" (10 % off, 20 % off
    # from 10 units), in the company's USD and converted by Tryton to EUR.
    "prices": [
        {"price_book": "standard", "currency": "USD", "min_quantity": None, "unit_price": "800"},
        {"price_book": "standard", "currency": "EUR", "min_quantity": None, "unit_price": "740"},
        {"price_book": "Gold", "currency": "USD", "min_quantity": None, "unit_price": "720.0000"},
        {"price_book": "Gold", "currency": "USD", "min_quantity": 10.0, "unit_price": "640"},
        {"price_book": "Gold", "currency": "EUR", "min_quantity": None, "unit_price": "666.0000"},
    ],
}


def _item(record: dict[str, Any]) -> Item:
    (result,) = TrytonMapper(currency="USD").to_canonical(change("product.product", record))
    assert isinstance(result.data, Item)
    return result.data


def test_an_item_carries_every_book_currency_and_tier_tryton_prices_it_at() -> None:
    item = _item(PRODUCT)
    assert item.price("USD") == Money(amount=Decimal("800"), currency="USD")
    assert item.price("EUR") == Money(amount=Decimal("740"), currency="EUR")
    assert item.price("EUR", "Gold") == Money(amount=Decimal("666"), currency="EUR")
    # The list price is what a CRM's product holds; the rest are the ERP's other prices.
    assert item.prices == _item({**PRODUCT, "prices": []}).prices
    assert [(p.price_book, p.unit_price.currency) for p in item.prices] == [("standard", "USD")]
    tiers = [(p.price_book, p.unit_price.currency, p.min_quantity) for p in item.book_prices]
    assert ("Gold", "USD", Decimal("10.0")) in tiers
    assert len(item.book_prices) == 4


def test_without_prices_read_the_list_price_is_the_standard_book() -> None:
    record = {k: v for k, v in PRODUCT.items() if k != "prices"}
    assert _item(record).prices == _item(PRODUCT).prices
    assert _item(record).book_prices == ()
    # Priced in no currency at all (no list price, no book): no prices.
    assert _item({**record, "list_price_used": None}).all_prices() == ()


def test_unreadable_prices_are_mapping_errors() -> None:
    for bad in (
        "800",
        [{"price_book": "Gold", "unit_price": "1"}],
        [{"price_book": "Gold", "currency": "EUR", "unit_price": "lots"}],
        ["Gold"],
    ):
        with pytest.raises(MappingError) as raised:
            _item({**PRODUCT, "prices": bad})
        assert str(raised.value.field).startswith("prices")


def test_a_tier_at_the_price_below_it_is_dropped() -> None:
    rows: list[dict[str, Any]] = [
        {"price_book": "Gold", "currency": "USD", "min_quantity": None, "unit_price": "9"},
        {"price_book": "Gold", "currency": "USD", "min_quantity": 5, "unit_price": "9"},
        {"price_book": "Gold", "currency": "USD", "min_quantity": 10, "unit_price": "8"},
        {"price_book": "Gold", "currency": "EUR", "min_quantity": None, "unit_price": "8"},
        {"price_book": "Gold", "currency": "EUR", "min_quantity": 10, "unit_price": "8"},
    ]
    kept = _without_repeated_tiers(rows)
    assert [(r["currency"], r["min_quantity"]) for r in kept] == [
        ("USD", None),
        ("USD", 10),
        ("EUR", None),
    ]


def test_the_partys_sale_price_list_is_the_customers_price_book() -> None:
    (plain,) = TrytonMapper().to_canonical(change("party.party", PARTY))
    assert isinstance(plain.data, Customer)
    assert plain.data.price_book is None
    gold = {**PARTY, "sale_price_list": 3, "sale_price_list.": {"id": 3, "name": "Gold"}}
    (result,) = TrytonMapper().to_canonical(change("party.party", gold))
    assert isinstance(result.data, Customer)
    assert result.data.price_book == "Gold"


def test_tryton_refusing_a_sale_for_want_of_a_rate_is_said_as_the_sync_says_it() -> None:
    refused = TrytonUserError(
        'No rate found for currency "Euro" on "12/02/2026".',
        method="model.sale.sale.confirm",
        description="",
        domain=None,
    )
    error = _no_rate(refused, "EUR")
    assert error.kind is ErrorKind.SKIPPABLE
    assert error.reason == (
        f"no EUR rate on {date.today().isoformat()} in the ERP: "
        'No rate found for currency "Euro" on "12/02/2026".'
    )
    other = TrytonUserError("The sale has no lines.", method="m", description="", domain=None)
    assert _no_rate(other, "EUR") is other
