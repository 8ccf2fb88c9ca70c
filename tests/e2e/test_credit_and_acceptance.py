"""Credit and acceptance on the real peers (Tryton's account_credit_limit and
sale_credit_limit): with require_customer_approval, a new CRM customer's first order waits
until finance accepts the party in Tryton by giving it a credit limit; the CRM account then
shows acceptance, credit limit, available credit, payment terms and hold; an order over the
available credit is held with that reason on the deal."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tests.e2e.conftest import Stack
from tests.e2e.helpers import (
    CONFIRMED,
    account_fields,
    account_in_both,
    crm_product,
    deal_fields,
    item_known_to_the_sync,
    make_item,
    sale_of,
    won_deal,
)

pytestmark = pytest.mark.integration


@pytest.mark.q2c_env(Q2C_SYNC__POLICY='{"require_customer_approval": true}')
async def test_a_new_customer_waits_for_finance_and_orders_stay_within_its_credit(
    stack: Stack,
) -> None:
    await make_item(stack, "W-1", "100")
    widget = await crm_product(stack, "W-1")
    # The deal must wait for finance, not for the sync to learn of its item.
    await item_known_to_the_sync(stack, "W-1")
    account, party = await account_in_both(stack, "Stark Industries")

    first = await won_deal(stack, account, [(widget, "3", "100")], "First order")
    waiting = await deal_fields(stack, first, q2c_sync_status="waiting")
    assert "awaits finance acceptance" in waiting["q2c_sync_reason"]
    assert await stack.erp.search("sale.sale", [("reference", "=", first)]) == []

    # Finance accepts the party in Tryton: a credit limit of 1,000.
    await stack.erp.write("party.party", [party], {"credit_limit_amount": Decimal(1000)})
    shown = await account_fields(
        stack,
        account,
        erp_finance_status="accepted",
        erp_credit_limit="1000",
        erp_available_credit="1000",
        erp_credit_hold="no",
        erp_payment_terms="*",
    )
    terms = await stack.erp.read("party.party", [party], ["customer_payment_term.name"])
    assert shown["erp_payment_terms"] == terms[0]["customer_payment_term."]["name"]
    await sale_of(stack, first, CONFIRMED)
    await deal_fields(stack, first, q2c_sync_status="synced")

    # 1,500 is over the 1,000 available: held, with the reason on the deal.
    big = await won_deal(stack, account, [(widget, "15", "100")], "Big order")
    held = await deal_fields(stack, big, q2c_sync_status="waiting")
    assert "on credit hold" in held["q2c_sync_reason"]
    assert "available credit 1000" in held["q2c_sync_reason"]
    assert await stack.erp.search("sale.sale", [("reference", "=", big)]) == []

    # Finance raises the limit: the held order goes through.
    await stack.erp.write("party.party", [party], {"credit_limit_amount": Decimal(5000)})
    await sale_of(stack, big, CONFIRMED)
    await account_fields(stack, account, erp_credit_limit="5000")
