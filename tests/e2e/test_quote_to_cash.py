"""Quote to cash on the real peers: an item made in Tryton reaches BottleCRM; an account
and a deal closed won in BottleCRM become one confirmed Tryton sale with the same customer,
lines and prices; the invoice posted and paid in Tryton shows on the deal and the account;
and once everything is written back, nothing more is sent (no echo loop)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from connectors.bottlecrm.models import AccountInput, DealInput, LineItemInput, Product
from connectors.tryton.client import WizardStep
from tests.e2e.conftest import Stack
from tests.streams.kafka_io import Collector

pytestmark = pytest.mark.integration


async def make_item(stack: Stack, sku: str, price: str) -> int:
    (template,) = await stack.erp.create(
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
    return int(template)


async def crm_product(stack: Stack, sku: str) -> Product:
    async def probe() -> Product | None:
        return await stack.crm.find_product_by_sku(sku)

    return await stack.eventually(probe, f"product {sku} in BottleCRM")


async def sale_of(stack: Stack, deal: str, states: tuple[str, ...]) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        rows = await stack.erp.search_read(
            "sale.sale",
            [("reference", "=", deal)],
            ["state", "party", "lines", "total_amount", "invoices", "number"],
        )
        if len(rows) > 1:
            raise AssertionError(f"{len(rows)} sales for deal {deal}")
        return rows[0] if rows and rows[0]["state"] in states else None

    return await stack.eventually(probe, f"a {'/'.join(states)} sale for deal {deal}")


async def deal_fields(stack: Stack, deal: str, **expected: str) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    async def probe() -> dict[str, Any] | None:
        seen.clear()
        seen.update((await stack.crm.get_deal(deal)).custom_fields)
        ok = all(_same(seen.get(k), v) for k, v in expected.items())
        return dict(seen) if ok else None

    try:
        return await stack.eventually(probe, f"deal {deal} custom fields {expected}")
    except AssertionError as exc:
        raise AssertionError(f"the deal's custom fields: {seen}\n{exc}") from None


def _same(value: Any, expected: str) -> bool:
    if value is None or value == "":
        return False
    if expected == "*":  # any value
        return True
    try:
        return Decimal(str(value)) == Decimal(expected)
    except ArithmeticError:
        return str(value) == expected


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
    fields = await deal_fields(stack, deal, q2c_sync_status="synced", erp_order_number="*")
    assert fields["erp_order_state"] in ("confirmed", "processing")

    # Finance posts and is paid in Tryton; the CRM deal and account see it.
    (invoice,) = sale["invoices"] or (await sale_of(stack, deal, ("processing",)))["invoices"]
    await stack.erp.button("account.invoice", "post", [invoice])
    await deal_fields(stack, deal, erp_amount_due="200.00")
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
    paid = await deal_fields(stack, deal, erp_amount_due="0.00")
    assert paid.get("erp_last_payment_date") == dt.date.today().isoformat()

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
