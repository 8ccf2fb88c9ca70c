"""Fulfilment on the real peers: a won deal for goods becomes a Tryton sale whose customer
shipment is driven through the warehouse's steps; the deal shows the shipment state, the
dates and the tracking reference, a partial shipment as such with its back-order, and the
order as sent once the back-order leaves too. Serialized units shipped (stock_lot lots)
show on the account with their warranty end, from the item's warranty duration. A return
sale and its credit note show on the original deal. A subscription sold on the deal shows
its renewal date, and opens one renewal deal once the renewal comes within the lead time,
also after the worker is killed and started again."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from connectors.bottlecrm.models import Deal
from connectors.tryton.client import WizardStep
from schemas import CreateRenewalDeal
from streams.rules.warranty import warranty_end
from tests.e2e.conftest import Stack
from tests.e2e.helpers import (
    account_fields,
    account_in_both,
    crm_product,
    deal_fields,
    everything_on,
    make_item,
    sale_of,
    won_deal,
)

pytestmark = pytest.mark.integration

# Tryton's customer shipment workflow (stock.shipment.out): waiting → assigned → picked →
# packed → done; assign_force assigns without checking the stock on hand.
_STEPS = ("assign_force", "pick", "pack", "do")


async def _shipments(stack: Stack, sale: int) -> list[dict[str, Any]]:
    (row,) = await stack.erp.read("sale.sale", [sale], ["shipments"])
    return await stack.erp.read(
        "stock.shipment.out", row["shipments"], ["state", "inventory_moves", "number"]
    )


async def _ship(stack: Stack, shipment: int) -> None:
    for step in _STEPS:
        await stack.erp.button("stock.shipment.out", step, [shipment])


async def test_shipments_reach_the_deal(stack: Stack) -> None:
    await make_item(stack, "G-1", "50", kind="goods")
    product = await crm_product(stack, "G-1")
    account, _ = await account_in_both(stack, "Globex")
    deal = await won_deal(stack, account, [(product, "2", "50")], name="Globex goods")
    sale = await sale_of(stack, deal, ("processing",))

    async def first_shipment() -> list[dict[str, Any]] | None:
        found = await _shipments(stack, sale["id"])
        return found or None

    (shipment,) = await stack.eventually(first_shipment, "the sale's customer shipment")
    assert shipment["state"] == "waiting"
    await deal_fields(stack, deal, erp_shipment_status="waiting", erp_shipments="*")

    # The warehouse picks 1 of the 2 ordered and ships it with a carrier's reference.
    (picking,) = shipment["inventory_moves"]
    await stack.erp.write("stock.move", [picking], {"quantity": 1.0})
    await stack.erp.write("stock.shipment.out", [shipment["id"]], {"reference": "1Z-TRACK-1"})
    await _ship(stack, shipment["id"])

    today = dt.date.today().isoformat()
    partial = await deal_fields(
        stack,
        deal,
        erp_shipment_status="partially_shipped",
        erp_tracking_references="1Z-TRACK-1",
        erp_shipped_date=today,
    )

    async def back_order() -> dict[str, Any] | None:
        rest = [s for s in await _shipments(stack, sale["id"]) if s["id"] != shipment["id"]]
        return rest[0] if rest else None

    remaining = await stack.eventually(back_order, "the back-order of the partial shipment")
    assert partial["erp_shipments"].splitlines()[0] == (
        f"{shipment['number']} done, planned {today}, shipped {today}, ref 1Z-TRACK-1: 1 x G-1"
    )

    async def both_listed() -> list[str] | None:
        shown = (await stack.crm.get_deal(deal)).custom_fields.get("erp_shipments") or ""
        rows = str(shown).splitlines()
        return rows if len(rows) == 2 else None

    lines = await stack.eventually(both_listed, "the back-order on the deal")
    assert lines[1].startswith(f"{remaining['number']} waiting"), lines
    assert lines[1].endswith(": 1 x G-1"), lines

    await _ship(stack, remaining["id"])
    sent = await deal_fields(stack, deal, erp_shipment_status="sent")
    assert [line.split(",")[0] for line in sent["erp_shipments"].splitlines()] == [
        f"{shipment['number']} done",
        f"{remaining['number']} done",
    ]
    assert sent["erp_tracking_references"] == "1Z-TRACK-1"


async def test_serial_numbers_and_their_warranty_reach_the_account(stack: Stack) -> None:
    await make_item(stack, "S-1", "300", kind="goods", warranty_months=12)
    product = await crm_product(stack, "S-1")
    account, _ = await account_in_both(stack, "Initech")
    deal = await won_deal(
        stack, account, [(product, "1", "300"), (product, "1", "300")], name="Initech units"
    )
    sale = await sale_of(stack, deal, ("processing",))

    async def waiting_shipment() -> list[dict[str, Any]] | None:
        return await _shipments(stack, sale["id"]) or None

    (shipment,) = await stack.eventually(waiting_shipment, "the sale's customer shipment")
    # The warehouse picks two serialized units (lots of stock_lot) and ships them.
    pickings = await stack.erp.read("stock.move", shipment["inventory_moves"], ["product"])
    assert len(pickings) == 2
    for n, picking in enumerate(sorted(pickings, key=lambda m: m["id"]), 1):
        (lot,) = await stack.erp.create(
            "stock.lot", [{"number": f"SN-000{n}", "product": picking["product"]}]
        )
        await stack.erp.write("stock.move", [picking["id"]], {"lot": lot})
    await _ship(stack, shipment["id"])

    today = dt.date.today()
    until = warranty_end(today, 12).isoformat()
    fields = await account_fields(stack, account, erp_next_warranty_end=until)
    assert fields["erp_serial_numbers"].splitlines() == [
        f"SN-0001 S-1, shipped {today.isoformat()}, warranty until {until}, order {sale['number']}",
        f"SN-0002 S-1, shipped {today.isoformat()}, warranty until {until}, order {sale['number']}",
    ]
    await deal_fields(stack, deal, erp_shipment_status="sent")


async def test_a_return_and_its_credit_show_on_the_original_deal(stack: Stack) -> None:
    await make_item(stack, "R-1", "100", kind="goods")
    product = await crm_product(stack, "R-1")
    account, _ = await account_in_both(stack, "Hooli")
    deal = await won_deal(stack, account, [(product, "3", "100")], name="Hooli goods")
    sale = await sale_of(stack, deal, ("processing",))

    # Tryton's "Return Sale" copies the sale with the quantities negated; 1 of 3 comes back.
    await stack.erp.run_wizard(
        "sale.return_sale",
        model="sale.sale",
        ids=[sale["id"]],
        steps=[WizardStep("start", "return_")],
    )
    (returned,) = await stack.erp.search("sale.sale", [("origin", "=", f"sale.sale,{sale['id']}")])
    (row,) = await stack.erp.read("sale.sale", [returned], ["lines"])
    (line,) = row["lines"]
    await stack.erp.write("sale.line", [line], {"quantity": -1.0})
    for step in ("quote", "confirm"):
        await stack.erp.button("sale.sale", step, [returned])

    async def credit_note() -> dict[str, Any] | None:
        (ret,) = await stack.erp.read("sale.sale", [returned], ["invoices"])
        if not ret["invoices"]:
            return None
        (note,) = await stack.erp.read(
            "account.invoice", ret["invoices"], ["total_amount", "state", "number"]
        )
        return note

    note = await stack.eventually(credit_note, "the return's credit note")
    assert note["total_amount"] == Decimal("-100.00")
    first = await deal_fields(stack, deal, erp_returned_total="100", erp_returns="*")
    assert first["erp_credited_total"] == 0  # a draft credit note credits nothing yet

    await stack.erp.button("account.invoice", "post", [note["id"]])
    (posted,) = await stack.erp.read("account.invoice", [note["id"]], ["number"])
    (ret,) = await stack.erp.read("sale.sale", [returned], ["number"])
    fields = await deal_fields(stack, deal, erp_credited_total="100")
    assert fields["erp_returns"] == (
        f"Return {ret['number']} processing: 1 x R-1 (100.00); "
        f"credited 100.00 by {posted['number']}"
    )
    # The original order is still the deal's order.
    assert fields["erp_order_number"] == sale["number"]


async def renewal_deals(stack: Stack, key_prefix: str) -> list[Deal]:
    """The BottleCRM deals q2c opened for renewals whose key starts with ``key_prefix``."""
    return [
        deal
        async for deal in stack.crm.deals()
        if str(deal.custom_fields.get("q2c_renewal_key") or "").startswith(key_prefix)
    ]


@pytest.mark.q2c_env(
    Q2C_SYNC__RENEWALS='{"open_deal": true, "lead_days": 60, "name": "{deal} renewal"}',
    Q2C_SYNC__LEDGER_INTERVAL="PT1S",
)
async def test_a_subscription_sold_on_the_deal_shows_its_renewal_date(stack: Stack) -> None:
    template = await make_item(stack, "SUB-1", "20")
    product = await crm_product(stack, "SUB-1")
    account, party = await account_in_both(stack, "Vandelay")
    deal = await won_deal(stack, account, [(product, "12", "20")], name="Vandelay support")
    await sale_of(stack, deal, ("processing",))

    # Tryton's subscription for the deal keeps the deal id as its reference, as the sale does.
    (row,) = await stack.erp.read("product.template", [template], ["products"])
    (service,) = await stack.erp.create(
        "sale.subscription.service",
        [{"product": row["products"][0], "consumption_recurrence": None}],
    )
    start = dt.date.today()
    end = start + dt.timedelta(days=364)
    # What Tryton's form fills in (the client's on_change), given here.
    line = {
        "service": service,
        "quantity": 1.0,
        "start_date": start,
        "unit": stack.records["unit"],
        "unit_price": Decimal("20"),
    }
    (addresses,) = await stack.erp.read("party.party", [party], ["addresses"])
    (subscription,) = await stack.erp.create(
        "sale.subscription",
        [
            {
                "party": party,
                "invoice_address": addresses["addresses"][0],
                "reference": deal,
                "start_date": start,
                "end_date": end,
                "invoice_recurrence": stack.records["monthly_recurrence"],
                "lines": [("create", [line])],
            }
        ],
    )
    for step in ("quote", "run"):
        await stack.erp.button("sale.subscription", step, [subscription])
    (number,) = await stack.erp.read("sale.subscription", [subscription], ["number"])

    running = f"{number['number']} running, {start.isoformat()} to {end.isoformat()}"

    async def shown() -> bool | None:
        fields = (await stack.crm.get_deal(deal)).custom_fields
        # Quoted first, then running: the same renewal date, so the state tells them apart.
        ok = str(fields.get("erp_subscriptions") or "").startswith(running)
        return (ok and str(fields.get("erp_renewal_date")) == end.isoformat()) or None

    await stack.eventually(shown, "the running subscription and its renewal date on the deal")
    key = f"tryton:subscription:{subscription}:"
    # 364 days off: not within the 60 days' lead time yet.
    assert await renewal_deals(stack, key) == []

    # 310 days on (the worker's clock moved, nothing changed in Tryton): 54 days before the
    # renewal date, the ledger timer opens the renewal deal.
    await asyncio.to_thread(stack.worker.stop)
    stack.worker.env["Q2C_WORKER__CLOCK_OFFSET"] = "P310D"
    await asyncio.to_thread(stack.worker.start)

    async def opened() -> list[Deal] | None:
        # Once its line is on it (the deal is made first, then its lines).
        found = await renewal_deals(stack, key)
        return found if found and all(d.line_items for d in found) else None

    (renewal,) = await stack.eventually(opened, "the renewal deal with its line in BottleCRM")
    assert renewal.name == f"{deal} renewal"
    assert renewal.custom_fields["q2c_renewal_key"] == f"{key}{end.isoformat()}"
    assert renewal.custom_fields["q2c_renewal_of"] == deal
    assert (renewal.stage, renewal.closed_on) == ("PROSPECTING", end)
    assert renewal.account is not None
    assert renewal.account.id == account
    (item,) = await stack.crm.line_items(renewal.id)
    assert item.product is not None
    assert item.product.id == product.id
    assert (item.quantity, item.unit_price) == (Decimal(1), Decimal(20))
    assert (await stack.crm.get_deal(renewal.id)).amount == Decimal(20)

    # The worker killed and started again, then the customer's ledger handled again (a
    # second won deal's sale): the renewal is remembered, no second deal is opened.
    await asyncio.to_thread(stack.worker.kill)
    await asyncio.to_thread(stack.worker.start)
    extra = await won_deal(stack, account, [(product, "1", "20")], name="Vandelay extra")
    await deal_fields(stack, extra, erp_order_number="*")
    sent = await everything_on(stack, stack.topics.commands("bottlecrm"))
    keys = {c.idempotency_key for c in sent if isinstance(c, CreateRenewalDeal)}
    assert len(keys) == 1  # sent again after the kill, if at all: the same renewal
    assert [d.id for d in await renewal_deals(stack, key)] == [renewal.id]
