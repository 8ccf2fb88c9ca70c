"""The whole of q2c with NetSuite as the ERP: a fresh local NetSuite account and BottleCRM
org per test, the real broker, and the worker and both connectors as real processes."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from connectors.bottlecrm.client import BottleCrmClient
from connectors.bottlecrm.models import AccountInput, DealInput, LineItemInput, Product
from connectors.netsuite.client import NetSuiteClient
from connectors.netsuite.suiteql import quote
from q2c.core.topics import Topics
from q2c.devstack.bottlecrm import OrgAccess
from tests.e2e.stacks import (
    POLL_INTERVAL,
    ConnectorProcess,
    StackBase,
    base_env,
    connector_processes,
    running,
)
from tests.plugins.netsuite import NetSuitePeer
from tests.plugins.worker import WorkerProcess


@dataclass
class NetSuiteStack(StackBase):
    topics: Topics
    bootstrap: str
    worker: WorkerProcess
    connectors: dict[str, ConnectorProcess]
    erp: NetSuiteClient
    peer: NetSuitePeer
    crm: BottleCrmClient
    logs: Path
    env: dict[str, str]

    async def rows(self, query: str) -> list[dict[str, Any]]:
        return await self.erp.suiteql_rows(query)


def netsuite_env(
    bootstrap: str, peer: NetSuitePeer, org: OrgAccess, tmp_path: Path
) -> dict[str, str]:
    env = {
        **base_env(bootstrap, tmp_path),
        "Q2C_SYNC__ERP_SYSTEM": "netsuite",
        "Q2C_NETSUITE__POLL_INTERVAL": "1",
        "Q2C_BOTTLECRM__URL": org.url,
        "Q2C_BOTTLECRM__TOKEN": org.token.get_secret_value(),
        "Q2C_BOTTLECRM__JWT": org.jwt.get_secret_value(),
        "Q2C_BOTTLECRM__SCAN_INTERVAL": POLL_INTERVAL,
    }
    for key, value in peer.recorded.items():
        if key != "control_token":
            env[f"Q2C_NETSUITE__{key.upper()}"] = str(value)
    return env


@asynccontextmanager
async def netsuite_stack(
    bootstrap: str,
    peer: NetSuitePeer,
    org: OrgAccess,
    tmp_path: Path,
    extra: Mapping[str, str] | None = None,
) -> AsyncIterator[NetSuiteStack]:
    env = {**netsuite_env(bootstrap, peer, org, tmp_path), **(extra or {})}
    topics = Topics(env["Q2C_KAFKA__TOPIC_PREFIX"])
    worker = WorkerProcess(env, tmp_path / "worker.log", topics)
    connectors = connector_processes(env, ("netsuite", "bottlecrm"), tmp_path)
    # The test's own calls compete for the account's limit too: patient ones.
    erp = NetSuiteClient.of(peer.settings(max_attempts=100))
    try:
        async with running(worker, connectors), BottleCrmClient(org.settings()) as crm:
            yield NetSuiteStack(
                topics, bootstrap, worker, connectors, erp, peer, crm, tmp_path, env
            )
    finally:
        await erp.close()


async def make_item(stack: NetSuiteStack, sku: str, price: str) -> str:
    """An inventory item made in NetSuite, as finance would."""
    return await stack.erp.create(
        "inventoryItem",
        {
            "itemId": sku,
            "displayName": f"Item {sku}",
            # The base price level's price, through the item's pricing sublist.
            "price": {"items": [{"priceLevel": {"id": "1"}, "price": float(Decimal(price))}]},
        },
    )


async def account_in_both(stack: NetSuiteStack, name: str) -> tuple[str, str]:
    """A new BottleCRM account, once q2c has made it a NetSuite customer."""
    account = await stack.crm.create_account(AccountInput(name=name, email="ap@example.test"))

    async def customer() -> str | None:
        found = await stack.erp.get_record("customer", f"eid:{account}")
        return str(found["id"]) if found else None

    return account, await stack.eventually(customer, f"account {name} as a NetSuite customer")


async def orders_of(stack: NetSuiteStack, deal: str) -> list[dict[str, Any]]:
    return await stack.rows(
        "SELECT id, tranid, entity, status, foreigntotal FROM transaction "  # noqa: S608
        f"WHERE type = 'SalesOrd' AND externalid = {quote(deal)}"
    )


async def order_of(stack: NetSuiteStack, deal: str) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        rows = await orders_of(stack, deal)
        if len(rows) > 1:
            raise AssertionError(f"{len(rows)} sales orders for deal {deal}")
        return rows[0] if rows else None

    return await stack.eventually(probe, f"a sales order for deal {deal}")


async def won_deal(
    stack: NetSuiteStack, account: str, product: Product, quantity: int, name: str
) -> str:
    """A deal of ``quantity`` of ``product`` at 100, moved to Closed Won."""
    deal = await stack.crm.create_deal(
        DealInput(name=name, account=account, currency="USD", amount=Decimal(100 * quantity))
    )
    await stack.crm.add_line_item(
        deal,
        LineItemInput(product_id=product.id, quantity=Decimal(quantity), unit_price=Decimal(100)),
    )
    await stack.crm.close_won(deal, dt.date.today())
    return deal
