"""Customers both ways on the real peers: a party made first in Tryton (with a credit limit
finance gave it) becomes a BottleCRM account carrying the ERP's finance fields; the party
gets the account's id as its identifier, and no second party is made from the account."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.bottlecrm.models import Account
from tests.e2e.conftest import Stack

pytestmark = pytest.mark.integration


async def test_a_customer_made_in_the_erp_appears_in_the_crm_with_its_finance(
    stack: Stack,
) -> None:
    (party,) = await stack.erp.create(
        "party.party",
        [
            {
                "name": "Wayne Enterprises",
                "credit_limit_amount": Decimal(2500),
                "contact_mechanisms": [("create", [{"type": "email", "value": "ap@wayne.test"}])],
                "addresses": [("create", [{"street": "1007 Mountain Drive", "city": "Gotham"}])],
            }
        ],
    )

    async def account() -> Account | None:
        async for found in stack.crm.accounts(name="Wayne Enterprises"):
            fields = found.custom_fields
            if fields.get("erp_customer_code") == str(party) and fields.get("erp_credit_limit"):
                return found
        return None

    made = await stack.eventually(account, "the Tryton party as a BottleCRM account")
    assert made.email == "ap@wayne.test"
    assert made.city == "Gotham"
    assert made.custom_fields["erp_finance_status"] == "accepted"
    assert Decimal(str(made.custom_fields["erp_credit_limit"])) == 2500
    assert Decimal(str(made.custom_fields["erp_available_credit"])) == 2500

    async def linked() -> bool | None:
        rows = await stack.erp.search("party.party", [("identifiers.code", "=", made.id)])
        return True if rows == [party] else None

    await stack.eventually(linked, "the account's id as the party's identifier")
    # The account's own change went back to the same party: no second one.
    named = await stack.erp.search("party.party", [("name", "=", "Wayne Enterprises")])
    assert named == [party]
    accounts = [a async for a in stack.crm.accounts(name="Wayne Enterprises")]
    assert [a.id for a in accounts] == [made.id]
