"""Quote to cash on the real peers: an item made in Tryton reaches BottleCRM; an account
and a deal closed won in BottleCRM become one confirmed Tryton sale with the same customer,
lines and prices; the invoice posted and paid in Tryton shows on the deal and the account;
and once everything is written back, nothing more is sent (no echo loop)."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest

from connectors.bottlecrm.models import AccountInput, DealInput, LineItemInput
from connectors.tryton.client import WizardStep
from tests.e2e.conftest import Stack
from tests.e2e.helpers import account_fields, crm_product, deal_fields, make_item, sale_of
from tests.streams.kafka_io import Collector

pytestmark = pytest.mark.integration


async def test_quote_to_cash_round_trip(stack: Stack) -> None:
    await make_item(stack, "W-1", "100")
    product = await crm_product(stack, "W-1")
    assert product.price == Decimal("100")

    account = await stack.crm.create_account(AccountInput(name="Acme Corp", email="ap@acme.test"))

    async def party() -> int | None:
        rows = await stack.erp.search("party.party", [("identifiers.code", "=", account)])
        return rows[0] if rows else None

    party_id = await stack.eventually(party, "the account as a Tryton party")

    deal = await stack.crm.create_deal(
        DealInput(name="Acme widgets", account=account, currency="USD", amount=Decimal("200"))
    )
    await stack.crm.add_line_item(
        deal, LineItemInput(product_id=product.id, quantity=Decimal(2), unit_price=Decimal(100))
    )
    await stack.crm.close_won(deal, dt.date.today())

    sale = await sale_of(stack, deal, ("confirmed", "processing"))
    assert sale["party"] == party_id
    assert sale["total_amount"] == Decimal("200.00")
    lines = await stack.erp.read("sale.line", sale["lines"], ["product", "quantity", "unit_price"])
    assert [(line["quantity"], line["unit_price"]) for line in lines] == [(2.0, Decimal("100"))]
    # The source may catch the sale between Tryton's quote and confirm: wait for the state.
    fields = await deal_fields(
        stack,
        deal,
        q2c_sync_status="synced",
        erp_order_number="*",
        erp_order_state="confirmed|processing",
    )
    assert fields["erp_order_number"] == sale["number"]

    # Finance posts and is paid in Tryton; the CRM deal and account see it.
    (invoice,) = sale["invoices"] or (await sale_of(stack, deal, ("processing",)))["invoices"]
    await stack.erp.button("account.invoice", "post", [invoice])
    await deal_fields(stack, deal, erp_amount_due="200.00")
    await account_fields(stack, account, erp_outstanding_balance="200.00")
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
                    "description": f"Wire {deal}",
                },
            )
        ],
    )
    today = dt.date.today().isoformat()
    paid = await deal_fields(stack, deal, erp_amount_due="0.00", erp_last_payment_date=today)
    assert paid["erp_invoice_status"] == "paid"
    balance = await account_fields(
        stack, account, erp_outstanding_balance="0", erp_last_payment_date=today
    )
    assert Decimal(str(balance["erp_overdue_balance"])) == 0

    # Quiet: once written back, the CRM's echoes produce no further commands.
    async with Collector(
        stack.bootstrap, stack.topics.commands("tryton"), stack.topics.commands("bottlecrm")
    ) as out:
        for _ in range(40):
            await out.poll()
        settled = len(out.messages)
        for _ in range(60):  # several poll and scan cycles of both connectors
            await out.poll()
        assert len(out.messages) == settled, [
            m.schema_subject for _, _, m in out.messages[settled:]
        ]
    sales = await stack.erp.search("sale.sale", [("reference", "=", deal)])
    assert len(sales) == 1
    checked = await asyncio.to_thread(stack.q2c, "reconcile")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no discrepancy" in checked.stdout
