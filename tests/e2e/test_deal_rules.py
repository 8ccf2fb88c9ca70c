"""The rules on the real peers: a wrong price is rejected with the reason on the deal; a
product the ERP does not have waits, says so, and is rejected once it waited too long; a
discount beyond policy waits for `q2c approve` and then goes through."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import pytest
from click.testing import CliRunner

from connectors.bottlecrm.models import ProductInput
from q2c.cli import cli
from tests.e2e.conftest import Stack
from tests.e2e.helpers import (
    account_in_both,
    crm_product,
    deal_fields,
    make_item,
    sale_of,
    won_deal,
)

pytestmark = pytest.mark.integration


@pytest.mark.q2c_env(Q2C_SYNC__POLICY='{"max_discount_percent": "10", "max_wait": "PT15S"}')
async def test_wrong_prices_and_unknown_items_are_rejected_with_the_reason(stack: Stack) -> None:
    await make_item(stack, "W-1", "100")
    widget = await crm_product(stack, "W-1")
    account, _ = await account_in_both(stack, "Globex")

    overpriced = await won_deal(stack, account, [(widget, "1", "150")], "Overpriced")
    fields = await deal_fields(stack, overpriced, q2c_sync_status="rejected")
    assert "price 150.00 is above the price book's 100.00" in fields["q2c_sync_reason"]

    # A product made in the CRM only: the ERP has no such item.
    gadget = await stack.crm.create_product(ProductInput(name="Gadget", sku="G-404", price=10))
    unknown = await won_deal(stack, account, [(gadget, "1", "10")], "Unknown item")
    waiting = await deal_fields(stack, unknown, q2c_sync_status="waiting")
    assert "to exist in the ERP" in waiting["q2c_sync_reason"]
    rejected = await deal_fields(stack, unknown, q2c_sync_status="rejected")
    assert "to exist in the ERP" in rejected["q2c_sync_reason"]

    for deal in (overpriced, unknown):
        assert await stack.erp.search("sale.sale", [("reference", "=", deal)]) == []


async def test_a_discount_beyond_policy_waits_for_approval(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    await make_item(stack, "W-1", "100")
    widget = await crm_product(stack, "W-1")
    account, party = await account_in_both(stack, "Initech")

    deal = await won_deal(stack, account, [(widget, "3", "75")], "Deep discount")
    held = await deal_fields(stack, deal, q2c_sync_status="pending_approval")
    assert "discount 25.00% off the list price 100.00" in held["q2c_sync_reason"]
    assert await stack.erp.search("sale.sale", [("reference", "=", deal)]) == []

    monkeypatch.setenv("Q2C_KAFKA__BOOTSTRAP", stack.bootstrap)
    monkeypatch.setenv("Q2C_KAFKA__TOPIC_PREFIX", stack.topics.prefix)
    runner = CliRunner()
    result = await asyncio.to_thread(runner.invoke, cli, ["approve", deal, "--by", "cfo@x.test"])
    assert result.exit_code == 0, result.output

    sale = await sale_of(stack, deal, ("confirmed", "processing"))
    assert sale["party"] == party
    lines = await stack.erp.read("sale.line", sale["lines"], ["quantity", "unit_price"])
    assert [(ln["quantity"], ln["unit_price"]) for ln in lines] == [(3.0, Decimal(75))]
    await deal_fields(stack, deal, q2c_sync_status="synced")
