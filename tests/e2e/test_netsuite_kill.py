"""Effectively once under SIGKILL with NetSuite as the ERP: deals closed won while the
NetSuite connector is killed twice still become exactly one sales order each, and every
order's number reaches its deal (the source resumes from the cursors it stored)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from q2c.devstack.bottlecrm import OrgAccess
from tests.e2e.helpers import crm_product, deal_fields
from tests.e2e.netsuite_stack import (
    NetSuiteStack,
    account_in_both,
    make_item,
    netsuite_stack,
    order_of,
    won_deal,
)
from tests.plugins.netsuite import NetSuitePeer

pytestmark = pytest.mark.integration

DEALS = 6
KILL_AFTER = {2: False, 4: True}
"""Deal numbers (1-based) after which the connector is killed: at once (its sink has the
command in hand), or once the deal's order exists (its source is reading it)."""


@pytest.fixture
async def stack(
    kafka_bootstrap: str, netsuite_peer: NetSuitePeer, bottlecrm_org: OrgAccess, tmp_path: Path
) -> AsyncIterator[NetSuiteStack]:
    async with netsuite_stack(kafka_bootstrap, netsuite_peer, bottlecrm_org, tmp_path) as made:
        yield made


async def test_every_won_deal_is_one_order_through_connector_kills(stack: NetSuiteStack) -> None:
    await make_item(stack, "K-1", "100")
    product = await crm_product(stack, "K-1")
    account, customer = await account_in_both(stack, "Kill Corp")
    connector = stack.connectors["netsuite"]

    totals: dict[str, int] = {}
    for n in range(1, DEALS + 1):
        quantity = n % 3 + 1
        deal = await won_deal(stack, account, product, quantity, f"Deal {n}")
        totals[deal] = 100 * quantity
        if n in KILL_AFTER:
            if KILL_AFTER[n]:
                await order_of(stack, deal)
            await asyncio.to_thread(connector.kill)
            connector.start()

    for deal, total in totals.items():
        order = await order_of(stack, deal)  # fails on a second order for one deal
        assert order["entity"] == customer
        assert int(float(order["foreigntotal"])) == total
        await deal_fields(stack, deal, erp_order_number=order["tranid"])
    rows = await stack.rows("SELECT externalid FROM transaction WHERE type = 'SalesOrd'")
    assert sorted(str(r.get("externalid")) for r in rows) == sorted(totals), stack.diagnostics()
