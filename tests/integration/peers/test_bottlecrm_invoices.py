"""ERP invoice records on the real BottleCRM: created once with its line, a billing contact
and its payments, found again by its ERP id when the command comes again, and brought in
step as it is paid."""

from __future__ import annotations

from decimal import Decimal

import pytest

from connectors.bottlecrm import BottleCrmClient
from connectors.bottlecrm.models import AccountInput
from connectors.bottlecrm.sink import BottleCrmSink
from schemas import ExternalIds, Outcome
from schemas.commands import CrmInvoiceState, InvoiceSettlement, SettlementKind
from tests.schemas.samples import crm_invoice

pytestmark = pytest.mark.integration


async def test_an_invoice_is_made_once_and_follows_its_payments(
    bottlecrm_client: BottleCrmClient,
) -> None:
    crm = bottlecrm_client
    account = await crm.create_account(AccountInput(name="Hooli", email="ap@hooli.test"))
    command = crm_invoice("k").model_copy(
        update={"account": ExternalIds(crm_id=account, erp_id="17"), "deal": None}
    )
    sink = BottleCrmSink(crm, currency="EUR")

    first = await sink.apply(command)
    assert first.outcome is Outcome.CREATED
    assert (await sink.apply(command)).outcome is Outcome.UNCHANGED  # a replay finds it
    invoices = [row async for row in crm.invoices(account)]
    assert len(invoices) == 1
    assert first.ids is not None
    record = await crm.invoice(str(first.ids.crm_id))
    assert (record["status"], Decimal(record["amount_paid"])) == ("Partially_Paid", Decimal(50))
    assert record["custom_fields"]["erp_invoice_id"] == "40"
    (line,) = record["line_items"]
    assert (line["name"], Decimal(line["unit_price"])) == ("SKU-0001", Decimal(50))
    # The account had no contact: a billing contact was made from its e-mail address.
    (contact,) = await crm.account_contacts(account)
    assert (record["contact"]["id"], contact.email) == (contact.id, "ap@hooli.test")

    # Paid in full (the rest by a second payment): BottleCRM shows it paid.
    rest = InvoiceSettlement(
        kind=SettlementKind.PAYMENT,
        ids=ExternalIds(erp_id="91"),
        reference="MV-45",
        amount=command.total.model_copy(update={"amount": Decimal("69.00")}),
    )
    paid = command.model_copy(
        update={
            "state": CrmInvoiceState.PAID,
            "settlements": (*command.settlements, rest),
            "amount_paid": command.total,
            "amount_due": command.total.model_copy(update={"amount": Decimal(0)}),
        }
    )
    assert (await sink.apply(paid)).outcome is Outcome.UPDATED
    assert (await sink.apply(paid)).outcome is Outcome.UNCHANGED
    record = await crm.invoice(str(first.ids.crm_id))
    assert (record["status"], Decimal(record["amount_due"])) == ("Paid", Decimal(0))
    assert len(record["payments"]) == 2
    assert record["custom_fields"]["erp_invoice_state"] == "paid"
    assert len([row async for row in crm.invoices(account)]) == 1


async def test_accounts_sharing_an_email_address_each_get_a_billing_contact(
    bottlecrm_client: BottleCrmClient,
) -> None:
    # BottleCRM keeps one contact per e-mail address: the second account's billing contact
    # is made without the address both accounts share.
    crm = bottlecrm_client
    sink = BottleCrmSink(crm, currency="EUR")
    made = []
    for name in ("Group North", "Group South"):
        account = await crm.create_account(AccountInput(name=name, email="ap@group.test"))
        command = crm_invoice(f"k-{name}").model_copy(
            update={"account": ExternalIds(crm_id=account, erp_id=name), "deal": None}
        )
        assert (await sink.apply(command)).outcome is Outcome.CREATED
        (contact,) = await crm.account_contacts(account)
        made.append(contact.email)
    assert made == ["ap@group.test", None]
