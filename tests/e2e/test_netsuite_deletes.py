"""Deletes with NetSuite as the ERP: an item deleted in NetSuite is found in its deletion
log and archived in BottleCRM (the default policy); an account deleted in BottleCRM
deletes its NetSuite customer when customers' policy says delete."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from q2c.devstack.bottlecrm import OrgAccess
from tests.e2e.helpers import crm_product
from tests.e2e.netsuite_stack import (
    NetSuiteStack,
    account_in_both,
    make_item,
    netsuite_stack,
)
from tests.plugins.netsuite import NetSuitePeer

pytestmark = pytest.mark.integration


@pytest.fixture
async def stack(
    kafka_bootstrap: str, netsuite_peer: NetSuitePeer, bottlecrm_org: OrgAccess, tmp_path: Path
) -> AsyncIterator[NetSuiteStack]:
    extra = {"Q2C_SYNC__DELETES": '{"entities": {"customer": "delete"}}'}
    async with netsuite_stack(
        kafka_bootstrap, netsuite_peer, bottlecrm_org, tmp_path, extra
    ) as made:
        yield made


async def test_deletes_cross_by_policy(stack: NetSuiteStack) -> None:
    item = await make_item(stack, "GONE-1", "40")
    product = await crm_product(stack, "GONE-1")
    assert product.is_active
    assert await stack.erp.delete("inventoryItem", item)

    async def archived() -> bool | None:
        current = await stack.crm.get_product(product.id)
        return True if not current.is_active else None

    await stack.eventually(archived, "the BottleCRM product archived")
    assert (await stack.crm.get_product(product.id)).sku == "GONE-1"

    account, customer = await account_in_both(stack, "Leaving Corp")
    await stack.crm.delete_account(account)

    async def deleted() -> bool | None:
        return True if await stack.erp.get_record("customer", customer) is None else None

    await stack.eventually(deleted, "the NetSuite customer deleted")
    rows = await stack.rows(
        "SELECT recordid, type FROM deletedrecord "  # noqa: S608
        f"WHERE type = 'customer' AND recordid = {int(customer)}"
    )
    assert [r["recordid"] for r in rows] == [customer]
