"""An operator explains and fixes a rejected deal on the real peers: `q2c reconcile` lists it
as rejected with its reason (exit 0: nothing is unexplained); once the missing item exists in
Tryton, `q2c resync --rejected` sends the deal through again and it becomes one confirmed
sale, without anyone editing the deal."""

from __future__ import annotations

import asyncio
import json

import pytest
from aiokafka import AIOKafkaConsumer

from connectors.bottlecrm.models import ProductInput
from schemas import CODEC, DecodeError, Item
from tests.e2e.conftest import Stack
from tests.e2e.helpers import account_in_both, deal_fields, make_item, sale_of, won_deal

pytestmark = pytest.mark.integration


async def item_known_to_the_sync(stack: Stack, sku: str) -> None:
    """Wait until the sync's item view holds ``sku`` as an ERP item: a deal validated
    from then on finds it."""
    consumer = AIOKafkaConsumer(
        stack.topics.reference("items"),
        bootstrap_servers=stack.bootstrap,
        auto_offset_reset="earliest",
    )
    await consumer.start()

    async def probe() -> Item | None:
        batches = await consumer.getmany(timeout_ms=500)
        for records in batches.values():
            for record in records:
                try:
                    item = CODEC.decode_as(record.value or b"", Item)
                except DecodeError:
                    continue
                if item.sku == sku and item.ids.erp_id and item.ids.crm_id:
                    return item
        return None

    try:
        await stack.eventually(probe, f"item {sku} in the sync's item view")
    finally:
        await consumer.stop()


@pytest.mark.q2c_env(Q2C_SYNC__POLICY='{"max_wait": "PT10S"}')
async def test_a_rejected_deal_is_explained_then_resynced_once_fixed(stack: Stack) -> None:
    account, party = await account_in_both(stack, "Umbrella")
    # A CRM-only product, made as the ERP item will be: when the item appears, the CRM
    # product (and so the deal, which embeds it) is not rewritten, and nothing but the
    # resync sends the deal through again.
    gadget = await stack.crm.create_product(ProductInput(name="Item G-404", sku="G-404", price=10))
    deal = await won_deal(stack, account, [(gadget, "2", "10")], "Gadgets")
    rejected = await deal_fields(stack, deal, q2c_sync_status="rejected")
    assert "to exist in the ERP" in rejected["q2c_sync_reason"]

    checked = await asyncio.to_thread(stack.q2c, "reconcile", "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = json.loads(checked.stdout)
    assert report["clean"] is True
    assert report["discrepancies"] == []
    assert report["explained"]["rejected"] == [
        {"record": deal, "reason": rejected["q2c_sync_reason"]}
    ]

    await make_item(stack, "G-404", "10")
    await item_known_to_the_sync(stack, "G-404")
    still = (await stack.crm.get_deal(deal)).custom_fields
    assert still["q2c_sync_status"] == "rejected", still
    resynced = await asyncio.to_thread(stack.q2c, "resync", "--rejected")
    assert resynced.returncode == 0, resynced.stdout + resynced.stderr
    assert resynced.stdout.splitlines() == [f"resynced bottlecrm deal {deal}"]

    sale = await sale_of(stack, deal, ("confirmed", "processing"))
    assert sale["party"] == party
    await deal_fields(stack, deal, q2c_sync_status="synced")

    again = await asyncio.to_thread(stack.q2c, "reconcile")
    assert again.returncode == 0, again.stdout + again.stderr
    assert again.stdout.splitlines()[-1] == "no discrepancy"
