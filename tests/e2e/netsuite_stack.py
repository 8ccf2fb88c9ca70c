"""The whole of q2c with NetSuite as the ERP: a fresh local NetSuite account and BottleCRM
org per test, the real broker, and the worker and both connectors as real processes."""

from __future__ import annotations

import datetime as dt
import os
import secrets
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from connectors.bottlecrm.client import BottleCrmClient
from connectors.bottlecrm.models import AccountInput, DealInput, LineItemInput, Product
from connectors.netsuite.client import NetSuiteClient
from connectors.netsuite.suiteql import quote
from q2c.core.topics import Topics
from q2c.devstack.bottlecrm import OrgAccess
from q2c.devstack.procs import first_result, free_port, tail
from tests.e2e.conftest import ConnectorProcess
from tests.plugins.netsuite import NetSuitePeer
from tests.plugins.worker import WorkerProcess

T = TypeVar("T")


@dataclass
class NetSuiteStack:
    topics: Topics
    bootstrap: str
    worker: WorkerProcess
    connectors: dict[str, ConnectorProcess]
    erp: NetSuiteClient
    peer: NetSuitePeer
    crm: BottleCrmClient
    logs: Path

    def diagnostics(self) -> str:
        parts = [f"--- worker\n{tail(self.worker.log, 40)}"]
        for name, connector in self.connectors.items():
            parts.append(f"--- {name}\n{tail(connector.log, 40)}")
        return "\n".join(parts)

    async def eventually(
        self, probe: Callable[[], Awaitable[T | None]], what: str, within: float = 180.0
    ) -> T:
        try:
            return await first_result(probe, within)
        except TimeoutError:
            raise AssertionError(f"never happened: {what}\n{self.diagnostics()}") from None

    async def rows(self, query: str) -> list[dict[str, Any]]:
        return await self.erp.suiteql_rows(query)


def netsuite_env(
    bootstrap: str, peer: NetSuitePeer, org: OrgAccess, tmp_path: Path
) -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    env = {
        **os.environ,
        "Q2C_KAFKA__BOOTSTRAP": bootstrap,
        "Q2C_KAFKA__TOPIC_PREFIX": f"e2e{run}",
        "Q2C_KAFKA__PARTITIONS": "1",
        "Q2C_DEV__STATE_DIR": str(tmp_path / "state"),
        "Q2C_WORKER__APP_ID": f"q2c-{run}",
        "Q2C_WORKER__DATA_DIR": str(tmp_path / "worker"),
        "Q2C_WORKER__WEB_PORT": str(free_port()),
        "Q2C_WORKER__ADMIN_TOKEN": secrets.token_urlsafe(24),
        "Q2C_TELEMETRY__LOG_FORMAT": "text",
        "Q2C_SYNC__ERP_SYSTEM": "netsuite",
        "Q2C_NETSUITE__POLL_INTERVAL": "1",
        "Q2C_BOTTLECRM__URL": org.url,
        "Q2C_BOTTLECRM__TOKEN": org.token.get_secret_value(),
        "Q2C_BOTTLECRM__JWT": org.jwt.get_secret_value(),
        "Q2C_BOTTLECRM__SCAN_INTERVAL": "1",
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
    connectors = {
        system: ConnectorProcess(
            system,
            {**env, "Q2C_CONNECTOR__WEB_PORT": str(free_port())},
            tmp_path / f"connector-{system}.log",
        )
        for system in ("netsuite", "bottlecrm")
    }
    worker.start()
    for connector in connectors.values():
        connector.start()
    # The test's own calls compete for the account's limit too: patient ones.
    erp = NetSuiteClient.of(peer.settings(max_attempts=100))
    try:
        async with BottleCrmClient(org.settings()) as crm:
            yield NetSuiteStack(topics, bootstrap, worker, connectors, erp, peer, crm, tmp_path)
    finally:
        await erp.close()
        for connector in connectors.values():
            connector.stop()
        worker.stop()


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
