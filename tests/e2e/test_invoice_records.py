"""ERP invoices as CRM invoice records, on the real Tryton and BottleCRM, through one
invoice's life: posted (a BottleCRM invoice with its line, its deal and a billing contact),
partly paid, credited by a credit note, paid above what it asks (the customer's credit),
and the credit note paid out (a refund). Each state is checked on the invoice record, the
deal and the account."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from connectors.tryton.client import WizardStep
from schemas import Payment
from schemas.changes import EntityChange
from tests.e2e.conftest import Stack
from tests.e2e.helpers import (
    CONFIRMED,
    account_fields,
    account_in_both,
    crm_product,
    deal_fields,
    make_item,
    posted_credit_note,
    sale_of,
    won_deal,
)
from tests.streams.kafka_io import Collector

# One invoice through six states, each waiting for a poll of both systems.
pytestmark = [pytest.mark.integration, pytest.mark.timeout(900)]


def _amount(value: Any) -> Decimal | None:
    return None if value in (None, "") else Decimal(str(value))


async def crm_invoice(
    stack: Stack,
    account: str,
    erp_id: int,
    what: str,
    ready: Callable[[dict[str, Any]], bool],
) -> dict[str, Any]:
    """The account's BottleCRM invoice of ERP invoice ``erp_id``, once ``ready`` holds
    (exactly one such invoice: none is ever made twice)."""

    seen: list[dict[str, Any]] = []

    async def probe() -> dict[str, Any] | None:
        found: list[dict[str, Any]] = []
        async for row in stack.crm.invoices(account):
            record = await stack.crm.invoice(str(row["id"]))
            if (record.get("custom_fields") or {}).get("erp_invoice_id") == str(erp_id):
                found.append(record)
        if len(found) > 1:
            raise AssertionError(f"{len(found)} CRM invoices for ERP invoice {erp_id}")
        seen[:] = found
        return found[0] if found and ready(found[0]) else None

    try:
        return await stack.eventually(probe, f"the CRM invoice {what}")
    except AssertionError as exc:
        last = {k: seen[0].get(k) for k in _SHOWN} if seen else None
        raise AssertionError(f"the CRM invoice: {last}\n{exc}") from None


_SHOWN = ("status", "amount_paid", "amount_due", "total_amount", "custom_fields", "payments")


def shows(
    status: str, state: str, paid: str, due: str, **erp: str
) -> Callable[[dict[str, Any]], bool]:
    """BottleCRM's status, paid and due, and the invoice's ERP state and amounts."""

    def check(record: dict[str, Any]) -> bool:
        fields = record.get("custom_fields") or {}
        same = all(_amount(fields.get(key)) == Decimal(value) for key, value in erp.items())
        return (
            record.get("status") == status
            and fields.get("erp_invoice_state") == state
            and _amount(record.get("amount_paid")) == Decimal(paid)
            and _amount(record.get("amount_due")) == Decimal(due)
            and same
        )

    return check


async def pay(stack: Stack, invoice: int, amount: str | None, ask: str | None = None) -> None:
    """Tryton's pay wizard; ``amount`` None pays what the invoice asks (a credit note's
    amount to pay is negative: paying it pays the customer)."""
    start: dict[str, Any] = {
        "payment_method": stack.records["invoice_payment_method"],
        "date": dt.date.today(),
        "description": f"payment of {amount or 'the rest'}",
    }
    if amount is not None:
        start["amount"] = Decimal(amount)
    steps = [WizardStep("start", "choice", start)]
    if ask is not None:
        steps.append(WizardStep("ask", "pay", {"type": ask}))
    await stack.erp.run_wizard(
        "account.invoice.pay", model="account.invoice", ids=[invoice], steps=steps
    )


async def payments_seen(stack: Stack, party: int) -> str:
    """The party's receivable lines in Tryton and the payments the sync published."""
    lines = await stack.erp.search_read(
        "account.move.line",
        [("party", "=", party)],
        ["move", "account", "debit", "credit", "invoice_payment", "reconciliation"],
    )
    async with Collector(stack.bootstrap, stack.topics.changes) as out:
        for _ in range(20):
            await out.poll()
    published = [
        m.data.model_dump(mode="json") for m in out.of(EntityChange) if isinstance(m.data, Payment)
    ]
    return f"tryton lines: {lines}\npublished payments: {published}"


async def test_an_invoice_record_through_payments_a_credit_note_and_a_refund(
    stack: Stack,
) -> None:
    await make_item(stack, "W-1", "100")
    widget = await crm_product(stack, "W-1")
    account, party = await account_in_both(stack, "Initech")
    deal = await won_deal(stack, account, [(widget, "1", "100")], "One widget")
    sale = await sale_of(stack, deal, CONFIRMED)
    (invoice,) = sale["invoices"] or (await sale_of(stack, deal, ("processing",)))["invoices"]
    await stack.erp.button("account.invoice", "post", [invoice])
    (posted,) = await stack.erp.read("account.invoice", [invoice], ["number"])

    # Posted: a sent BottleCRM invoice with the ERP's number, line and deal, and a billing
    # contact made from the account's e-mail address (the account had no contact).
    record = await crm_invoice(
        stack, account, invoice, "posted", shows("Sent", "posted", "0", "100", erp_amount_due="100")
    )
    assert record["invoice_title"] == f"Invoice {posted['number']}"
    assert (record["custom_fields"]["erp_invoice_number"], record["currency"]) == (
        posted["number"],
        "USD",
    )
    assert record["opportunity"]["id"] == deal
    (line,) = record["line_items"]
    assert (line["name"], _amount(line["quantity"]), _amount(line["unit_price"])) == (
        "W-1",
        Decimal(1),
        Decimal(100),
    )
    assert record["contact"] is not None
    contact = await stack.crm.get_contact(record["contact"]["id"])
    assert (contact.email, contact.account) == ("ap@example.test", account)

    # 30 paid: partially paid on the invoice record and the deal.
    await pay(stack, invoice, "30", ask="partial")
    await crm_invoice(
        stack,
        account,
        invoice,
        "partially paid",
        shows(
            "Partially_Paid",
            "partially_paid",
            "30",
            "70",
            erp_amount_paid="30",
            erp_amount_due="70",
        ),
    )
    await deal_fields(stack, deal, erp_invoice_status="partially_paid", erp_amount_due="70")

    # A credit note of 20 against the invoice: linked to it, and what is due drops to 50.
    credit = await posted_credit_note(stack, invoice, party, {"unit_price": Decimal("20")})
    assert credit["total_amount"] == Decimal("-20.00")
    record = await crm_invoice(
        stack,
        account,
        invoice,
        "credited",
        shows(
            "Partially_Paid",
            "partially_paid",
            "50",
            "50",
            erp_credited_total="20",
            erp_amount_due="50",
        ),
    )
    assert str(credit["number"]) in record["custom_fields"]["erp_credit_memos"]
    await deal_fields(stack, deal, erp_amount_due="50")

    # 100 paid on the 70 the invoice asks: paid; 30 overpaid, plus the credit note's 20
    # still open, is the customer's credit, not a negative amount due.
    await pay(stack, invoice, "100", ask="overpayment")
    try:
        await crm_invoice(
            stack,
            account,
            invoice,
            "overpaid",
            shows(
                "Paid",
                "paid",
                "100",
                "0",
                erp_amount_paid="100",
                erp_amount_due="0",
                erp_overpaid="50",
            ),
        )
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n{await payments_seen(stack, party)}") from None
    await deal_fields(stack, deal, erp_invoice_status="paid", erp_amount_due="0", erp_credit="50")
    await account_fields(stack, account, erp_outstanding_balance="0", erp_unapplied_credit="50")

    # The credit note is paid out to the customer: refunded on the invoice and the deal;
    # the credit left is the 30 overpaid.
    await pay(stack, credit["id"], None)
    record = await crm_invoice(
        stack,
        account,
        invoice,
        "refunded",
        shows("Paid", "paid", "100", "0", erp_refunded="20", erp_overpaid="30"),
    )
    assert "20.00 refunded" in record["custom_fields"]["erp_credit_memos"]
    await deal_fields(stack, deal, erp_refunded_total="20", erp_credit="30")
    await account_fields(stack, account, erp_unapplied_credit="30")
