"""Quote to cash with Salesforce as the CRM and Tryton as the ERP, on the local Salesforce
server (its own process, as `q2c dev up --crm salesforce` runs it), the real Tryton and the
real broker: an item made in Tryton becomes a Product2 with a standard price book entry; an
account and an opportunity closed won become one confirmed Tryton sale, whose lines are
those of the opportunity's synced quote (what the customer accepted), not the
opportunity's own;
the invoice posted and paid in Tryton shows on the opportunity and the account; and
faults of the org (5xx, slow answers, the allowance spent) on the way change none of it."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.spec import SPEC
from connectors.salesforce.wire import soql_literal
from connectors.tryton.client import TrytonClient, WizardStep
from q2c.core.topics import Topics
from tests.e2e.stacks import (
    POLL_INTERVAL,
    ConnectorProcess,
    StackBase,
    base_env,
    connector_processes,
    running,
)
from tests.plugins.salesforce import SalesforceProcess
from tests.plugins.tryton import TrytonPeer
from tests.plugins.worker import WorkerProcess
from tests.streams.kafka_io import Collector

pytestmark = pytest.mark.integration

CONFIRMED = ("confirmed", "processing")


@dataclass
class SalesforceStack(StackBase):
    topics: Topics
    bootstrap: str
    worker: WorkerProcess
    connectors: dict[str, ConnectorProcess]
    erp: TrytonClient
    crm: SalesforceClient
    server: SalesforceProcess
    records: dict[str, Any]
    env: dict[str, str]
    patience = 240.0

    async def one(self, soql: str) -> dict[str, Any] | None:
        rows = await self.crm.query(soql)
        return rows[0] if rows else None


@pytest.fixture
async def sf_stack(
    kafka_bootstrap: str,
    tryton_db: TrytonPeer,
    salesforce_process: SalesforceProcess,
    tmp_path: Path,
) -> AsyncIterator[SalesforceStack]:
    erp = tryton_db.settings()
    crm = salesforce_process.defaults
    env = {
        **base_env(kafka_bootstrap, tmp_path, prefix="e2esf"),
        "Q2C_SYNC__CRM_SYSTEM": "salesforce",
        "Q2C_TRYTON__URL": erp.url,
        "Q2C_TRYTON__DATABASE": erp.database,
        "Q2C_TRYTON__USER": erp.user,
        "Q2C_TRYTON__PASSWORD": erp.password.get_secret_value(),
        "Q2C_TRYTON__POLL_INTERVAL": POLL_INTERVAL,
        **{f"Q2C_SALESFORCE__{key.upper()}": str(value) for key, value in crm.items()},
        "Q2C_SALESFORCE__POLL_INTERVAL": "1",
        "Q2C_SALESFORCE__DELETE_INTERVAL": "5",
        "Q2C_SALESFORCE__TIMEOUT": "5",
    }
    topics = Topics(env["Q2C_KAFKA__TOPIC_PREFIX"])
    worker = WorkerProcess(env, tmp_path / "worker.log", topics)
    connectors = connector_processes(env, ("tryton", "salesforce"), tmp_path)
    client = SalesforceClient(SPEC.configured(crm))
    try:
        async with running(worker, connectors), TrytonClient(erp) as erp_client:
            yield SalesforceStack(
                topics,
                kafka_bootstrap,
                worker,
                connectors,
                erp_client,
                client,
                salesforce_process,
                tryton_db.records,
                env,
            )
    finally:
        await client.close()


async def make_item(stack: SalesforceStack, sku: str, price: str) -> None:
    await stack.erp.create(
        "product.template",
        [
            {
                "name": f"Item {sku}",
                "type": "service",
                "salable": True,
                "list_price": Decimal(price),
                "default_uom": stack.records["unit"],
                "sale_uom": stack.records["unit"],
                "account_category": stack.records["account_category"],
                "products": [("create", [{"suffix_code": sku}])],
            }
        ],
    )


def where(select: str, **equal: str) -> str:
    """``SELECT <select> WHERE`` each field equals its value."""
    tests = " AND ".join(f"{field} = {soql_literal(value)}" for field, value in equal.items())
    return " ".join(("SELECT", select, "WHERE", tests))


async def standard_entry(stack: SalesforceStack, sku: str) -> dict[str, Any]:
    """The product of ``sku`` priced in the standard price book, once it is there."""

    async def probe() -> dict[str, Any] | None:
        product = await stack.one(where("Id FROM Product2", ProductCode=sku))
        if product is None:
            return None
        fields = "Id, Product2Id, UnitPrice, IsActive FROM PricebookEntry"
        return await stack.one(where(fields, Product2Id=str(product["Id"])))

    return await stack.eventually(probe, f"Product2 {sku} with a standard price book entry")


async def fields_of(
    stack: SalesforceStack, obj: str, record_id: str, **expected: str
) -> dict[str, Any]:
    """The record once each of ``expected`` holds ("*": any value)."""
    seen: dict[str, Any] = {}

    def same(value: Any, wanted: str) -> bool:
        if value is None or value == "":
            return False
        if wanted == "*":
            return True
        if "|" in wanted:
            return any(same(value, one) for one in wanted.split("|"))
        try:
            return Decimal(str(value)) == Decimal(wanted)
        except ArithmeticError:
            return str(value) == wanted

    async def probe() -> dict[str, Any] | None:
        record = await stack.crm.record(obj, record_id)
        seen.clear()
        seen.update(record or {})
        return dict(seen) if all(same(seen.get(k), v) for k, v in expected.items()) else None

    try:
        return await stack.eventually(probe, f"{obj} {record_id} with {expected}")
    except AssertionError as exc:
        wanted = {k: seen.get(k) for k in expected}
        raise AssertionError(f"the {obj} holds {wanted}\n{exc}") from None


async def sale_of(stack: SalesforceStack, deal: str, states: tuple[str, ...]) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        rows = await stack.erp.search_read(
            "sale.sale",
            [("reference", "=", deal)],
            ["state", "party", "lines", "total_amount", "invoices", "number"],
        )
        if len(rows) > 1:
            raise AssertionError(f"{len(rows)} sales for opportunity {deal}")
        return rows[0] if rows and rows[0]["state"] in states else None

    return await stack.eventually(probe, f"a {'/'.join(states)} sale for opportunity {deal}")


async def won_opportunity(stack: SalesforceStack, account: str, entry: dict[str, Any]) -> str:
    """An opportunity with a line of 1 at 100 and a synced quote with a line of 2 at 100
    (the accepted offer), closed won."""
    book = await stack.one("SELECT Id FROM Pricebook2 WHERE IsStandard = true")
    assert book is not None
    opportunity = await stack.crm.create(
        "Opportunity",
        {
            "Name": "Acme widgets",
            "AccountId": account,
            "StageName": "Prospecting",
            "CloseDate": dt.date.today().isoformat(),
            "Pricebook2Id": book["Id"],
        },
    )
    await stack.crm.create(
        "OpportunityLineItem",
        {
            "OpportunityId": opportunity,
            "PricebookEntryId": entry["Id"],
            "Quantity": 1,
            "UnitPrice": 100,
        },
    )
    quote = await stack.crm.create(
        "Quote", {"Name": "Acme widgets, volume offer", "OpportunityId": opportunity}
    )
    await stack.crm.create(
        "QuoteLineItem",
        {"QuoteId": quote, "PricebookEntryId": entry["Id"], "Quantity": 2, "UnitPrice": 100},
    )
    await stack.crm.update(
        "Opportunity", opportunity, {"SyncedQuoteId": quote, "StageName": "Closed Won"}
    )
    return opportunity


async def test_quote_to_cash_with_salesforce_as_the_crm(sf_stack: SalesforceStack) -> None:
    stack = sf_stack
    await make_item(stack, "W-1", "100")
    entry = await standard_entry(stack, "W-1")
    assert Decimal(str(entry["UnitPrice"])) == Decimal("100")
    assert entry["IsActive"] is True

    account = await stack.crm.create("Account", {"Name": "Acme Corp", "Phone": "+1 555 0100"})

    async def party() -> int | None:
        rows = await stack.erp.search("party.party", [("identifiers.code", "=", account)])
        return rows[0] if rows else None

    party_id = await stack.eventually(party, "the account as a Tryton party")

    # The org has a bad day while the deal closes: failures and slow answers are retried.
    await stack.server.control("faults", {"count": 3, "status": 503})
    await stack.server.control("delays", {"count": 2, "seconds": 7})
    opportunity = await won_opportunity(stack, account, entry)

    sale = await sale_of(stack, opportunity, CONFIRMED)
    assert sale["party"] == party_id
    assert sale["total_amount"] == Decimal("200.00")
    lines = await stack.erp.read("sale.line", sale["lines"], ["quantity", "unit_price"])
    # The synced quote's line, not the opportunity's (1 at 100).
    assert [(line["quantity"], line["unit_price"]) for line in lines] == [(2.0, Decimal("100"))]
    written = await fields_of(
        stack,
        "Opportunity",
        opportunity,
        Q2C_Sync_Status__c="synced",
        ERP_Order_Number__c="*",
        ERP_Order_State__c="confirmed|processing",
    )
    assert written["ERP_Order_Number__c"] == sale["number"]

    # The allowance spent for a while: the org answers REQUEST_LIMIT_EXCEEDED, then recovers.
    await stack.server.control("limits", {"remaining": 0})
    (invoice,) = (
        sale["invoices"] or (await sale_of(stack, opportunity, ("processing",)))["invoices"]
    )
    await stack.erp.button("account.invoice", "post", [invoice])
    log = stack.connectors["salesforce"].log

    async def refused() -> bool | None:
        return "REQUEST_LIMIT_EXCEEDED" in log.read_text(errors="replace") or None

    await stack.eventually(refused, "the connector refused for the spent allowance")
    await stack.server.control("limits", {"remaining": 50_000})
    await fields_of(stack, "Opportunity", opportunity, ERP_Amount_Due__c="200.00")
    await fields_of(stack, "Account", account, ERP_Outstanding_Balance__c="200.00")
    await stack.erp.run_wizard(
        "account.invoice.pay",
        model="account.invoice",
        ids=[invoice],
        steps=[
            WizardStep(
                "start",
                "choice",
                {
                    "amount": Decimal("200.00"),
                    "payment_method": stack.records["invoice_payment_method"],
                    "date": dt.date.today(),
                    "description": f"Wire {opportunity}",
                },
            )
        ],
    )
    today = dt.date.today().isoformat()
    paid = await fields_of(
        stack, "Opportunity", opportunity, ERP_Amount_Due__c="0", ERP_Last_Payment_Date__c=today
    )
    assert paid["ERP_Invoice_Status__c"] == "paid"
    balance = await fields_of(
        stack, "Account", account, ERP_Outstanding_Balance__c="0", ERP_Last_Payment_Date__c=today
    )
    assert Decimal(str(balance["ERP_Overdue_Balance__c"])) == 0

    # Quiet: once written back, Salesforce's echoes of q2c's writes send no more commands.
    async with Collector(
        stack.bootstrap, stack.topics.commands("tryton"), stack.topics.commands("salesforce")
    ) as out:
        for _ in range(40):
            await out.poll()
        settled = len(out.messages)
        for _ in range(60):
            await out.poll()
        assert len(out.messages) == settled, [
            m.schema_subject for _, _, m in out.messages[settled:]
        ]
    assert len(await stack.erp.search("sale.sale", [("reference", "=", opportunity)])) == 1
    products = await stack.crm.query("SELECT Id FROM Product2 WHERE ProductCode = 'W-1'")
    assert len(products) == 1
    checked = await asyncio.to_thread(stack.q2c, "reconcile")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no discrepancy" in checked.stdout, checked.stdout
