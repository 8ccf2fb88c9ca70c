"""Quote to cash with BottleCRM as the CRM and NetSuite as the ERP: an item made in
NetSuite reaches BottleCRM; an account and a deal closed won in BottleCRM become one
NetSuite sales order (by the deal's external id) for the same customer, lines and prices;
the invoice, a customer payment applied to it and a credit memo made in NetSuite come back
to the deal and the account."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from connectors.bottlecrm.models import DealInput, LineItemInput
from q2c.devstack.bottlecrm import OrgAccess
from schemas import CreditMemo, Payment
from schemas.changes import EntityChange
from tests.e2e.helpers import account_fields, crm_product, deal_fields
from tests.e2e.netsuite_stack import (
    NetSuiteStack,
    account_in_both,
    make_item,
    netsuite_stack,
    order_of,
    orders_of,
)
from tests.plugins.netsuite import NetSuitePeer
from tests.streams.kafka_io import Collector

pytestmark = pytest.mark.integration


@pytest.fixture
async def stack(
    kafka_bootstrap: str, netsuite_peer: NetSuitePeer, bottlecrm_org: OrgAccess, tmp_path: Path
) -> AsyncIterator[NetSuiteStack]:
    async with netsuite_stack(kafka_bootstrap, netsuite_peer, bottlecrm_org, tmp_path) as made:
        yield made


async def test_quote_to_cash_with_netsuite(
    stack: NetSuiteStack, netsuite_peer: NetSuitePeer
) -> None:
    await make_item(stack, "NS-W-1", "100")
    product = await crm_product(stack, "NS-W-1")
    assert product.price == Decimal("100")
    account, customer = await account_in_both(stack, "Acme Corp")

    deal = await stack.crm.create_deal(
        DealInput(name="Acme widgets", account=account, currency="USD", amount=Decimal("200"))
    )
    await stack.crm.add_line_item(
        deal, LineItemInput(product_id=product.id, quantity=Decimal(2), unit_price=Decimal(100))
    )
    await stack.crm.close_won(deal, dt.date.today())

    order = await order_of(stack, deal)
    assert order["entity"] == customer
    assert Decimal(order["foreigntotal"]) == Decimal(200)
    record = await stack.erp.get_record("salesOrder", order["id"], {"expandSubResources": "true"})
    assert record is not None
    lines = record["item"]["items"]
    assert [(Decimal(str(x["quantity"])), Decimal(str(x["rate"]))) for x in lines] == [
        (Decimal(2), Decimal(100))
    ]
    fields = await deal_fields(stack, deal, q2c_sync_status="synced", erp_order_number="*")
    assert fields["erp_order_number"] == order["tranid"]

    # Finance invoices the order, takes a payment and credits the rest, all in NetSuite.
    invoice = await stack.erp.transform("salesOrder", order["id"], "invoice", {})
    await deal_fields(stack, deal, erp_amount_due="200.00")
    await account_fields(stack, account, erp_outstanding_balance="200.00")
    payment = await stack.erp.create(
        "customerPayment",
        {
            "customer": {"id": customer},
            "payment": 150,
            "apply": {"items": [{"doc": {"id": invoice}, "apply": True, "amount": 150}]},
        },
    )
    await deal_fields(stack, deal, erp_amount_due="50.00")
    memo = await stack.erp.transform("invoice", invoice, "creditMemo", {"memo": "Goodwill"})
    # The payment is dated today where the account is (its time zone), not in UTC.
    today = dt.datetime.now(ZoneInfo(netsuite_peer.entry["time_zone"])).date().isoformat()
    await deal_fields(stack, deal, erp_amount_due="0.00", erp_last_payment_date=today)
    await account_fields(stack, account, erp_outstanding_balance="0")

    # The payment (with the invoice it pays) and the credit memo came back as such.
    async with Collector(stack.bootstrap, stack.topics.changes) as seen:
        paid = await seen.wait_for(
            EntityChange,
            lambda c: isinstance(c.data, Payment) and c.data.ids.erp_id == payment,
            within=120,
        )
        credited = await seen.wait_for(
            EntityChange,
            lambda c: isinstance(c.data, CreditMemo) and c.data.ids.erp_id == memo,
            within=120,
        )
    assert isinstance(paid.data, Payment)
    assert [a.invoice.erp_id for a in paid.data.applications] == [invoice]
    assert isinstance(credited.data, CreditMemo)
    assert credited.data.credited_invoice is not None
    assert credited.data.credited_invoice.erp_id == invoice
    assert len(await orders_of(stack, deal)) == 1
