"""Credit memos on the real peers: a Tryton credit note made by crediting part of a deal's
invoice is linked to that invoice and so to the deal, and reduces what the deal shows as
invoiced and due, and the account's outstanding balance."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from connectors.tryton.client import WizardStep
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

pytestmark = pytest.mark.integration


async def test_a_credit_note_reduces_what_its_deal_shows_due(stack: Stack) -> None:
    await make_item(stack, "W-1", "100")
    widget = await crm_product(stack, "W-1")
    account, party = await account_in_both(stack, "Umbrella Corp")
    deal = await won_deal(stack, account, [(widget, "2", "100")], "Two widgets")
    sale = await sale_of(stack, deal, CONFIRMED)
    (invoice,) = sale["invoices"] or (await sale_of(stack, deal, ("processing",)))["invoices"]
    await stack.erp.button("account.invoice", "post", [invoice])
    await deal_fields(stack, deal, erp_amount_due="200.00", erp_invoiced_total="200.00")

    # Finance credits one of the two widgets (Tryton's credit wizard, then one line's
    # quantity halved) and posts the credit note.
    posted = await posted_credit_note(stack, invoice, party, {"quantity": -1.0})
    assert posted["total_amount"] == Decimal("-100.00")

    fields = await deal_fields(stack, deal, erp_amount_due="100.00", erp_invoiced_total="100.00")
    assert f"{posted['number']} (credit)" in fields["erp_invoice_numbers"]
    await account_fields(stack, account, erp_outstanding_balance="100.00")


async def test_a_refund_cancels_what_its_deal_shows_invoiced(stack: Stack) -> None:
    await make_item(stack, "W-1", "100")
    widget = await crm_product(stack, "W-1")
    account, _ = await account_in_both(stack, "Cyberdyne")
    deal = await won_deal(stack, account, [(widget, "1", "100")], "One widget")
    sale = await sale_of(stack, deal, CONFIRMED)
    (invoice,) = sale["invoices"] or (await sale_of(stack, deal, ("processing",)))["invoices"]
    await stack.erp.button("account.invoice", "post", [invoice])
    await deal_fields(stack, deal, erp_amount_due="100.00")

    # Credited with refund: Tryton posts the credit note and cancels the invoice.
    await stack.erp.run_wizard(
        "account.invoice.credit",
        model="account.invoice",
        ids=[invoice],
        steps=[WizardStep("start", "credit", {"with_refund": True})],
    )
    (cancelled,) = await stack.erp.read("account.invoice", [invoice], ["state"])
    assert cancelled["state"] == "cancelled"

    # The cancelled invoice alone already shows nothing due; the refund comes with its note.
    async def refunded() -> dict[str, Any] | None:
        fields = (await stack.crm.get_deal(deal)).custom_fields
        numbers = str(fields.get("erp_invoice_numbers") or "")
        amounts = (fields.get("erp_amount_due"), fields.get("erp_invoiced_total"))
        settled = all(a is not None and Decimal(str(a)) == 0 for a in amounts)
        return fields if "(credit)" in numbers and settled else None

    await stack.eventually(refunded, "the refund among the deal's invoices, nothing due")
    await account_fields(stack, account, erp_outstanding_balance="0")
