"""Price lists, a party's price list and currency rates, read from the real Tryton: what
the source publishes and what validation makes of it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import pytest

from connectors.tryton import TrytonClient
from connectors.tryton.mapping import TrytonMapper
from connectors.tryton.source import PartyStream, ProductStream
from connectors.tryton.streams import CurrencyRateStream, PriceListLineStream
from schemas import (
    Customer,
    DocumentLine,
    ExternalIds,
    Item,
    Money,
    Operation,
    Quote,
    RawChange,
)
from streams.rules.validation import Decision, OrderPolicy, validate_order
from tests.plugins.tryton import TrytonPeer

pytestmark = pytest.mark.integration

NOW = dt.datetime.now(dt.UTC)


def _one(changes: Sequence[RawChange], model: str, record_id: int) -> dict[str, Any]:
    found = [c.record for c in changes if c.object == model and c.record_id == str(record_id)]
    assert found, f"no {model} {record_id} among {[(c.object, c.record_id) for c in changes]}"
    record = found[-1]
    assert isinstance(record, dict)
    return record


def _mapped(model: str, record: dict[str, Any]) -> object:
    change = RawChange.of(
        system="tryton",
        object=model,
        record_id=str(record["id"]),
        operation=Operation.UPDATE,
        source_ts=NOW,
        cursor="c",
        record=record,
        observed_at=NOW,
    )
    (result,) = TrytonMapper(currency="USD").to_canonical(change)
    return result.data


def _item(record: dict[str, Any]) -> Item:
    item = _mapped("product.product", record)
    assert isinstance(item, Item)
    return item


def _prices(item: Item) -> set[tuple[str, str, Decimal | None, Decimal]]:
    return {
        (p.price_book, p.unit_price.currency, p.min_quantity, p.unit_price.amount)
        for p in item.all_prices()
    }


def _eur_deal(item: Item, price: str) -> Quote:
    amount = Money(amount=Decimal(price), currency="EUR")
    return Quote(
        ids=ExternalIds(crm_id="deal-1"),
        customer=ExternalIds(crm_id="acc-1"),
        currency="EUR",
        lines=(
            DocumentLine(
                line_no=1,
                item=ExternalIds(crm_id="prod-1"),
                sku=item.sku,
                quantity=Decimal(1),
                unit_price=amount,
                amount=amount,
            ),
        ),
        total=amount,
        updated_at=NOW,
    )


async def test_price_lists_and_rates_price_every_item_per_book_and_currency(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    client, records = tryton_client, tryton_db.records
    (euro,) = await client.create(
        "currency.currency",
        [{"name": "Euro", "code": "EUR", "symbol": "€", "rounding": Decimal("0.01")}],
    )
    (template,) = await client.create(
        "product.template",
        [
            {
                "name": "Licence",
                "type": "service",
                "salable": True,
                "list_price": Decimal("100"),
                "default_uom": records["unit"],
                "sale_uom": records["unit"],
                "account_category": records["account_category"],
                "products": [("create", [{"suffix_code": "LIC"}])],
            }
        ],
    )
    (product,) = (await client.read("product.template", [template], ["products"]))[0]["products"]
    # "Gold": 10 % off the list price, 20 % off from 10 units on.
    (gold,) = await client.create(
        "product.price_list",
        [
            {
                "name": "Gold",
                "price": "list_price",
                "lines": [
                    (
                        "create",
                        [
                            {"sequence": 1, "quantity": 10.0, "formula": "unit_price * 0.8"},
                            {"sequence": 2, "formula": "unit_price * 0.9"},
                        ],
                    )
                ],
            }
        ],
    )
    (party,) = await client.create(
        "party.party",
        [{"name": "Globex", "sale_price_list": gold, "identifiers": [("create", [{"code": "A"}])]}],
    )

    products = ProductStream(client)
    first = await products.read(None)
    usd_only = _item(_one(first.changes, "product.product", product))
    # No EUR rate yet: priced in the company's USD only.
    assert _prices(usd_only) == {
        ("standard", "USD", None, Decimal("100")),
        ("Gold", "USD", None, Decimal("90")),
        ("Gold", "USD", Decimal("10"), Decimal("80")),
    }
    parties = (await PartyStream(client).read(None)).changes
    customer = _mapped("party.party", _one(parties, "party.party", party))
    assert isinstance(customer, Customer)
    assert customer.price_book == "Gold"
    known = customer.model_copy(update={"ids": ExternalIds(crm_id="acc-1", erp_id=str(party))})
    policy = OrderPolicy()
    waiting = validate_order(
        _eur_deal(usd_only, "81.00"), known, {"prod-1": usd_only}, policy, now=NOW
    )
    assert waiting.decision is Decision.WAITING
    assert waiting.message() == f"line 1 (LIC): no EUR rate on {NOW.date().isoformat()} in the ERP"

    # Finance enters the day's EUR rate: every product is published again, priced in EUR
    # by Tryton (1 USD = 0.9 EUR).
    rates = CurrencyRateStream(client)
    rated = (await rates.read(None)).cursor  # a first read marks the rates read, no more
    await client.create(
        "currency.currency.rate",
        [{"currency": euro, "date": dt.date.today(), "rate": Decimal("0.9")}],
    )
    republished = (await rates.read(rated)).changes
    repriced = _item(_one(republished, "product.product", product))
    # Stamped no earlier than the product's own last change (the pristine's USD rate is
    # older): a change stamped earlier would be taken downstream for a late older one.
    (created,) = [c for c in first.changes if c.record_id == str(product)]
    assert all(c.source_ts >= created.source_ts for c in republished if c.record_id == str(product))
    assert {p for p in _prices(repriced) if p[1] == "EUR"} == {
        ("standard", "EUR", None, Decimal("90")),
        ("Gold", "EUR", None, Decimal("81")),
        ("Gold", "EUR", Decimal("10"), Decimal("72")),
    }
    at_gold = validate_order(_eur_deal(repriced, "81.00"), known, {"prod-1": repriced}, policy)
    assert at_gold.decision is Decision.READY
    at_standard = validate_order(_eur_deal(repriced, "90.00"), known, {"prod-1": repriced}, policy)
    assert at_standard.decision is Decision.REJECTED
    assert "above the customer's price book 'Gold': 81.00" in at_standard.message()

    # A formula edited: the products are published again at the new price.
    lines = PriceListLineStream(client)
    cursor = (await lines.read(None)).cursor
    (base_line,) = await client.search("product.price_list.line", [("quantity", "=", None)])
    await client.write("product.price_list.line", [base_line], {"formula": "unit_price * 0.85"})
    edited = _item(_one((await lines.read(cursor)).changes, "product.product", product))
    assert ("Gold", "USD", None, Decimal("85")) in _prices(edited)
