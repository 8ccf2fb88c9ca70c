"""Salesforce records → canonical entities (pure)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest

from connectors.base.mapping import MappingError
from connectors.salesforce.mapping import (
    SalesforceMapper,
    account_fields,
    quote_status,
    to_contact,
    to_customer,
    to_item,
    to_quote,
)
from connectors.salesforce.settings import WriteBackFields
from connectors.salesforce.source import q2c_fields, raw_change
from schemas import Customer, EntityKind, ExternalIds, Operation, QuoteStatus
from tests.connectors.salesforce import records

AT = dt.datetime(2026, 11, 30, 10, 15, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def change(obj: str, record: dict[str, Any]) -> Any:
    return raw_change(obj, record, "poll@x", NOW, q2c_fields(WriteBackFields()))


def test_an_account_is_a_customer() -> None:
    customer = to_customer(records.account(), AT)
    assert customer.ids == ExternalIds(crm_id=records.ACCOUNT_ID)
    assert customer.name == "Acme Corporation"
    assert customer.billing_address is not None
    assert customer.billing_address.country == "US"
    assert customer.billing_address.region == "CA"
    assert customer.shipping_address is None


def test_a_country_name_is_not_guessed_into_a_code() -> None:
    customer = to_customer(records.account(BillingCountry="United States"), AT)
    assert customer.billing_address is not None
    assert customer.billing_address.country is None
    coded = to_customer(
        records.account(BillingCountry="United States", BillingCountryCode="us"), AT
    )
    assert coded.billing_address is not None
    assert coded.billing_address.country == "US"


def test_a_contact_belongs_to_its_account() -> None:
    person = to_contact(records.contact(), AT)
    assert person.customer == ExternalIds(crm_id=records.ACCOUNT_ID)
    assert (person.first_name, person.last_name, person.email) == (
        "Ada",
        "Lovelace",
        "ada@acme.example",
    )
    with pytest.raises(MappingError, match="last name"):
        to_contact(records.contact(LastName=None), AT)


def test_an_opportunity_with_line_items_is_a_quote() -> None:
    lines = [
        records.line(2, Quantity=1.0, UnitPrice=100.0, Discount=None, TotalPrice=100.0),
        records.line(1),
    ]
    quote = to_quote(records.opportunity(lines), AT, "USD")
    assert quote.status is QuoteStatus.ACCEPTED
    assert quote.stage == "Closed Won"
    assert quote.customer == ExternalIds(crm_id=records.ACCOUNT_ID)
    assert [line.line_no for line in quote.lines] == [1, 2]
    first = quote.lines[0]
    assert first.item == ExternalIds(crm_id=records.PRODUCT_ID)
    assert first.sku == "SUP-1"
    assert (first.quantity, first.unit_price.amount, first.discount_percent) == (
        Decimal("2.0"),
        Decimal("1500.0"),
        Decimal("10.0"),
    )
    assert first.amount.amount == Decimal("2700.0")
    assert quote.total.amount == Decimal("2700.0")
    assert quote.valid_until == dt.date(2026, 12, 15)


def test_a_synced_quote_gives_the_lines_currency_and_total() -> None:
    synced = records.quote(
        [records.quote_line(2, Description="On site"), records.quote_line(1, Quantity=1.0,
         UnitPrice=500.0, Discount=20.0, TotalPrice=400.0)],
        CurrencyIsoCode="EUR",
        TotalPrice=2800.0,
    )  # fmt: skip
    deal = records.opportunity(SyncedQuoteId=records.QUOTE_ID, SyncedQuote=synced)
    quote = to_quote(deal, AT, "USD")
    # The opportunity's own line (SUP-1) is not what the customer accepted.
    assert [line.sku for line in quote.lines] == ["TRN-1", "TRN-1"]
    assert [line.line_no for line in quote.lines] == [1, 2]
    first, second = quote.lines
    assert first.item == ExternalIds(crm_id=records.OTHER_PRODUCT_ID)
    assert (first.quantity, first.discount_percent, first.amount.amount) == (
        Decimal("1.0"),
        Decimal("20.0"),
        Decimal("400.0"),
    )
    assert first.description == "Training day"  # the product's name without a description
    assert second.description == "On site"
    assert quote.currency == "EUR"
    assert quote.total.amount == Decimal("2800.0")
    assert quote.attributes == {
        "synced_quote_id": records.QUOTE_ID,
        "synced_quote_number": "00000042",
        "synced_quote_status": "Accepted",
    }
    # The deal's own fields stay the opportunity's.
    assert (quote.ids.crm_id, quote.number, quote.stage) == (
        records.OPPORTUNITY_ID,
        "Acme support renewal",
        "Closed Won",
    )


def test_a_later_change_of_the_synced_quote_dates_the_deal() -> None:
    later = "2026-11-30T11:00:00.000+0000"
    deal = records.opportunity(SyncedQuote=records.quote(SystemModstamp=later))
    raw = change("Opportunity", deal)
    assert raw.source_ts == dt.datetime(2026, 11, 30, 11, tzinfo=dt.UTC)
    [canonical] = SalesforceMapper().canonical(raw)
    assert canonical.data is not None
    assert canonical.data.updated_at == raw.source_ts
    # An older quote leaves the opportunity's own stamp.
    older = change("Opportunity", records.opportunity(SyncedQuote=records.quote(
        SystemModstamp="2026-11-29T00:00:00.000+0000")))  # fmt: skip
    assert older.source_ts == dt.datetime(2026, 11, 30, 10, 15, tzinfo=dt.UTC)


def test_without_a_synced_quote_the_opportunity_lines_stay() -> None:
    # SyncedQuoteId null, or an org without quotes: the opportunity's line items.
    for deal in (records.opportunity(SyncedQuoteId=None), records.opportunity()):
        quote = to_quote(deal, AT, "USD")
        assert [line.sku for line in quote.lines] == ["SUP-1"]
        assert quote.attributes == {}
    # A synced quote with no lines is an empty quote, not the opportunity's lines.
    empty = to_quote(records.opportunity(SyncedQuote=records.quote([], TotalPrice=0.0)), AT, "USD")
    assert (empty.lines, empty.total.amount) == ((), Decimal(0))


def test_a_broken_synced_quote_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="SyncedQuote"):
        to_quote(records.opportunity(SyncedQuote="0Q0Dn00000J1b2cIAB"), AT, "USD")
    broken = records.quote([records.quote_line(1, Quantity="many")])
    with pytest.raises(MappingError, match=r"QuoteLineItems\.0\.Quantity"):
        to_quote(records.opportunity(SyncedQuote=broken), AT, "USD")


def test_an_opportunity_without_lines_or_account() -> None:
    quote = to_quote(
        records.opportunity([], Amount=None, IsClosed=False, IsWon=False, StageName="Prospecting"),
        AT,
        "EUR",
    )
    assert quote.lines == ()
    assert quote.total.amount == 0
    assert quote.currency == "EUR"
    assert quote.status is QuoteStatus.DRAFT
    with pytest.raises(MappingError, match="account"):
        to_quote(records.opportunity(AccountId=None), AT, "USD")


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"IsClosed": True, "IsWon": False, "StageName": "Closed Lost"}, QuoteStatus.REJECTED),
        ({"IsClosed": False, "IsWon": False, "StageName": "Negotiation/Review"}, QuoteStatus.SENT),
        ({"StageName": "Closed Won"}, QuoteStatus.ACCEPTED),
        ({"StageName": "Qualification"}, QuoteStatus.DRAFT),
    ],
)
def test_quote_status_from_the_stage(fields: dict[str, Any], status: QuoteStatus) -> None:
    assert quote_status(fields) is status


def test_a_product_with_its_standard_price_is_an_item() -> None:
    item = to_item(records.product(), AT, "USD")
    assert (item.sku, item.name, item.active) == ("SUP-1", "Support", True)
    assert item.price("USD") is not None
    assert item.prices[0].unit_price.amount == Decimal("1500.0")
    assert to_item(records.product(price=None), AT, "USD").prices == ()
    with pytest.raises(MappingError, match="product code"):
        to_item(records.product(ProductCode=None), AT, "USD")


def test_the_mapper_builds_changes_stamped_with_the_system_modstamp() -> None:
    mapper = SalesforceMapper()
    (found,) = mapper.canonical(change("Opportunity", records.opportunity()))
    assert found.entity is EntityKind.QUOTE
    assert found.data is not None
    assert found.data.updated_at == AT
    (customer,) = mapper.canonical(change("Account", records.account()))
    assert isinstance(customer.data, Customer)
    # An Account has no e-mail or status: the customer's are not Salesforce's to say.
    assert customer.held is not None
    assert {"email", "status", "approved"}.isdisjoint(customer.held)
    assert {"name", "billing_address"} <= customer.held
    assert mapper.canonical(change("User", {**records.account(), "Id": records.USER_ID})) == ()


def test_a_deletion_is_a_deletion_of_the_entity() -> None:
    mapper = SalesforceMapper()
    raw = change("Account", records.account()).model_copy(
        update={"operation": Operation.DELETE, "record": {}}
    )
    (gone,) = mapper.canonical(raw)
    assert gone.operation is Operation.DELETE
    assert gone.ids == ExternalIds(crm_id=records.ACCOUNT_ID)


@pytest.mark.parametrize(
    "broken",
    [
        records.opportunity(OpportunityLineItems=[1, 2]),
        records.opportunity([records.line(1, Quantity="NaN")]),
        records.opportunity([records.line(1, UnitPrice={"x": 1})]),
        records.account(Name="  "),
        records.account(Id="not-an-id"),
    ],
)
def test_broken_records_are_mapping_errors(broken: dict[str, Any]) -> None:
    obj = broken["attributes"]["type"]
    with pytest.raises(MappingError):
        SalesforceMapper().canonical(change(obj, broken))


def test_q2c_write_back_and_system_stamps_leave_the_fingerprint_alone() -> None:
    before = change("Account", records.account())
    echo = change(
        "Account",
        records.account(
            ERP_Outstanding_Balance__c=450.25,
            SystemModstamp="2026-12-01T08:00:00.000+0000",
            LastModifiedDate="2026-12-01T08:00:00.000+0000",
        ),
    )
    edited = change("Account", records.account(Phone="+1 415 555 0199"))
    assert echo.fingerprint == before.fingerprint
    assert edited.fingerprint != before.fingerprint
    assert echo.source_ts == dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)


def test_account_fields_from_a_customer() -> None:
    fields = account_fields(to_customer(records.account(), AT))
    assert fields["Name"] == "Acme Corporation"
    assert fields["BillingCountry"] == "US"
    assert fields["ShippingCity"] is None
