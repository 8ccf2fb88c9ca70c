"""Conditional triggers on the real peers: with a rule "probability ≥ 50 and the customer is
billed in Germany", a won deal of a German customer at 80% becomes a Tryton sale; one at 10%
does not until its probability is raised; a won deal of an American customer never does."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from connectors.bottlecrm.models import AccountInput, DealInput, LineItemInput, Product
from tests.e2e.conftest import Stack
from tests.e2e.helpers import CONFIRMED, crm_product, deal_fields, make_item, sale_of

pytestmark = pytest.mark.integration

RULES = {
    "rules": [
        {
            "name": "likely deals of German customers",
            "when": [
                {"field": "deal.probability", "op": "gte", "value": "50"},
                {"field": "customer.billing_address.country", "value": "DE"},
                {"field": "currency", "op": "in", "value": ["USD", "EUR"]},
            ],
        }
    ]
}


async def account(stack: Stack, name: str, country: str) -> str:
    created = await stack.crm.create_account(
        AccountInput(
            name=name, email="ap@example.test", address_line="1 Main St", city="X", country=country
        )
    )

    async def party() -> int | None:
        rows = await stack.erp.search("party.party", [("identifiers.code", "=", created)])
        return int(rows[0]) if rows else None

    await stack.eventually(party, f"account {name} as a Tryton party")
    return created


async def won(stack: Stack, account_id: str, product: Product, probability: int, name: str) -> str:
    deal = await stack.crm.create_deal(
        DealInput(
            name=f"{name} at {probability}%",
            account=account_id,
            currency="USD",
            amount=Decimal(100),
            probability=probability,
        )
    )
    await stack.crm.add_line_item(
        deal, LineItemInput(product_id=product.id, quantity=Decimal(1), unit_price=Decimal(100))
    )
    await stack.crm.close_won(deal, dt.date.today())
    return deal


@pytest.mark.q2c_env(Q2C_SYNC__TRIGGER=json.dumps(RULES))
async def test_a_rule_over_deal_and_customer_fields_decides_which_deals_are_ordered(
    stack: Stack,
) -> None:
    # The company's Tryton lists no countries yet: the customers' addresses need them.
    await stack.erp.create(
        "country.country", [{"name": "Germany", "code": "DE"}, {"name": "USA", "code": "US"}]
    )
    await make_item(stack, "W-1", "100")
    widget = await crm_product(stack, "W-1")
    german = await account(stack, "Müller GmbH", "DE")
    american = await account(stack, "Acme Inc", "US")

    unlikely = await won(stack, german, widget, 10, "Müller pilot")
    abroad = await won(stack, american, widget, 80, "Acme order")
    likely = await won(stack, german, widget, 80, "Müller order")

    await sale_of(stack, likely, CONFIRMED)
    await deal_fields(stack, likely, q2c_sync_status="synced")
    assert await stack.erp.search("sale.sale", [("reference", "=", unlikely)]) == []

    # The deal's probability raised: now the rule holds, and it is ordered.
    await stack.crm.update_deal(unlikely, DealInput(probability=60))
    await sale_of(stack, unlikely, CONFIRMED)

    assert await stack.erp.search("sale.sale", [("reference", "=", abroad)]) == []
    fields = (await stack.crm.get_deal(abroad)).custom_fields
    assert fields.get("q2c_sync_status") != "synced"
