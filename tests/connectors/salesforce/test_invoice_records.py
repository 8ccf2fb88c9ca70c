"""Salesforce has no standard invoice object: an ERP invoice record is kept as one line per
invoice on the opportunity by default, or refused with the reason by configuration."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import SecretStr

from connectors.base import ConnectorError, ErrorKind
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.provision import ensure_fields
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.sink import (
    SalesforceSink,
    invoice_record_line,
    merged_invoice_records,
)
from connectors.salesforce.spec import SPEC
from schemas import ExternalIds, Outcome
from tests.plugins.salesforce import defaults_of
from tests.schemas.samples import crm_invoice


async def test_when_set_to_refuse_an_invoice_record_is_refused_with_the_reason() -> None:
    settings = SalesforceSettings(client_id="q2c", refresh_token=SecretStr("not-used"))
    client = SalesforceClient(settings)
    try:
        with pytest.raises(ConnectorError) as raised:
            await SalesforceSink(client, invoice_records="refuse").apply(crm_invoice("k"))
    finally:
        await client.close()
    assert raised.value.kind is ErrorKind.SKIPPABLE
    assert "INV-40" in raised.value.reason
    assert "no standard invoice object" in raised.value.reason
    assert "opportunity_field" in raised.value.reason


def test_the_opportunity_keeps_one_line_per_invoice_replaced_by_erp_id() -> None:
    first = crm_invoice("k")
    line = invoice_record_line(first)
    assert line.startswith("[erp 40] INV-40 partially_paid, issued 2026-11-20, due 2026-12-20")
    assert "total EUR 119.00, paid 50.00, due 50.00" in line
    assert "credit memos CN-41 (posted, 19.00, open 19.00)" in line

    other = first.model_copy(update={"invoice": ExternalIds(erp_id="39"), "number": "INV-39"})
    field = merged_invoice_records(merged_invoice_records(None, first), other)
    assert field.splitlines() == [invoice_record_line(other), line]
    paid = first.model_copy(update={"refunded": first.refunded.model_copy(update={"amount": 5})})
    again = merged_invoice_records(field, paid)
    assert again.splitlines() == [invoice_record_line(other), invoice_record_line(paid)]
    assert "refunded 5" in again
    assert merged_invoice_records(again, paid) == again


@pytest.mark.integration
async def test_kept_on_the_opportunity_in_the_field_set_up_makes(salesforce_bare: Any) -> None:
    config = SPEC.configured(defaults_of(salesforce_bare.credentials)).model_copy(
        update={"invoice_records": "opportunity_field"}
    )
    crm = SalesforceClient(config)
    try:
        made = await ensure_fields(crm, config.fields, invoice_records=True)
        assert "salesforce: created Opportunity.ERP_Invoice_Records__c: LongTextArea(32768), " in (
            "\n".join(made)
        )
        account = await crm.create("Account", {"Name": "Globex"})
        opportunity = await crm.create(
            "Opportunity",
            {
                "Name": "Big",
                "AccountId": account,
                "StageName": "Prospecting",
                "CloseDate": "2026-12-31",
            },
        )
        command = crm_invoice("k").model_copy(
            update={"deal": ExternalIds(crm_id=opportunity, erp_id="3")}
        )
        sink = SalesforceSink(crm, config.fields, invoice_records="opportunity_field")
        assert (await sink.apply(command)).outcome is Outcome.UPDATED
        assert (await sink.apply(command)).outcome is Outcome.UNCHANGED
        stored = await crm.record("Opportunity", opportunity)
        assert stored is not None
        assert stored["ERP_Invoice_Records__c"] == invoice_record_line(command)
        without_deal = command.model_copy(update={"deal": None})
        with pytest.raises(ConnectorError, match="bills no opportunity") as raised:
            await sink.apply(without_deal)
        assert raised.value.kind is ErrorKind.SKIPPABLE
    finally:
        await crm.close()
