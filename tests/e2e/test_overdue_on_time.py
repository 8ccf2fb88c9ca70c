"""Overdue on time, on the real peers: an invoice posted in Tryton is due today and the CRM
account shows it outstanding, not overdue; days later (the worker's clock moved on, nothing
changed in Tryton) the worker's ledger timer recomputes the balance and the account shows it
overdue."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import pytest

from schemas.decisions import RecheckLedger
from tests.e2e.conftest import Stack
from tests.e2e.helpers import (
    CONFIRMED,
    account_fields,
    account_in_both,
    crm_product,
    make_item,
    sale_of,
    won_deal,
    worker_caught_up,
)
from tests.streams.kafka_io import Collector

pytestmark = pytest.mark.integration


@pytest.mark.q2c_env(Q2C_SYNC__LEDGER_INTERVAL="PT1S")
async def test_an_invoice_becomes_overdue_as_its_due_date_passes(stack: Stack) -> None:
    await make_item(stack, "W-1", "100")
    widget = await crm_product(stack, "W-1")
    account, party = await account_in_both(stack, "Hooli")
    deal = await won_deal(stack, account, [(widget, "2", "100")], "Due today")
    sale = await sale_of(stack, deal, CONFIRMED)
    (invoice,) = sale["invoices"] or (await sale_of(stack, deal, ("processing",)))["invoices"]
    # The company's payment term makes the invoice due on its date: today.
    await stack.erp.button("account.invoice", "post", [invoice])
    fields = await account_fields(stack, account, erp_outstanding_balance="200.00")
    assert Decimal(str(fields["erp_overdue_balance"])) == 0

    # Two days on, with no change in Tryton: the timer finds the invoice fell due. Nothing
    # more comes from Tryton (its connector stops), and the worker handles all it was sent
    # before it stops: a ledger change handled after the restart would recompute the balance
    # on the new clock itself, and the timer would rightly have nothing to nudge.
    await asyncio.to_thread(stack.connectors["tryton"].stop)
    await worker_caught_up(stack)
    await asyncio.to_thread(stack.worker.stop)
    stack.worker.env["Q2C_WORKER__CLOCK_OFFSET"] = "P2D"
    await asyncio.to_thread(stack.worker.start)
    await account_fields(
        stack, account, erp_outstanding_balance="200.00", erp_overdue_balance="200.00"
    )
    async with Collector(stack.bootstrap, stack.topics.control) as control:
        nudge = await control.wait_for(RecheckLedger, lambda r: r.customer_erp_id == str(party))
    # Sent by the timer, on the worker's clock.
    assert nudge.at.date() >= dt.date.today() + dt.timedelta(days=2)
