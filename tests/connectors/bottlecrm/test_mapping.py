"""BottleCRM records (shapes as the real API sends them) → canonical entities."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from connectors.base.mapping import MappingError
from connectors.bottlecrm.mapping import BottleCrmMapper, account_input, contact_input
from connectors.bottlecrm.source import change_of
from schemas import (
    Contact,
    Customer,
    CustomerStatus,
    EntityKind,
    ExternalIds,
    Operation,
    Quote,
    QuoteStatus,
    RawChange,
)

SEEN = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
ACCOUNT: dict[str, Any] = {
    "id": "f2848d88-822d-449e-a4fd-2824bbef424d",
    "name": "Acme Ltd",
    "email": "ap@acme.example",
    "phone": "+14155550100",
    "website": None,
    "currency": "EUR",
    "address_line": "1 rue de la Paix",
    "city": "Paris",
    "state": None,
    "postcode": "75002",
    "country": "FR",
    "is_active": True,
    "rollups": {"won_count": 0, "open_pipeline": "0"},
    "custom_fields": {},
}
CONTACT: dict[str, Any] = {
    "id": "9d26d3ff-7ba8-4045-8a5f-f2bf7e2e30a7",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@acme.example",
    "title": "CTO",
    "account": ACCOUNT["id"],
    "updated_at": "2026-11-26T13:06:29.316815Z",
    "custom_fields": {},
}
WIDGET: dict[str, Any] = {"id": "717a5c9b", "name": "Widget", "sku": "W-1", "used_on": 3}
DEAL: dict[str, Any] = {
    "id": "a5ff1053-00fa-4e46-83f6-a63b3531c1ad",
    "name": "Acme deal",
    "account": {"id": ACCOUNT["id"], "name": "Acme Ltd"},
    "stage": "NEGOTIATION",
    "currency": "USD",
    "amount": "127.50",
    "created_on_arrow": "2 minutes ago",
    "line_items": [
        {
            "id": "f0a7019d",
            "product": None,
            "name": "Service",
            "quantity": "1.00",
            "unit_price": "100.00",
            "discount_type": "PERCENTAGE",
            "discount_value": "10.00",
            "discount_amount": "10.00",
            "subtotal": "100.00",
            "total": "90.00",
            "order": 1,
        },
        {
            "id": "72087a27",
            "product": WIDGET,
            "name": "Widget",
            "quantity": "3.00",
            "unit_price": "12.50",
            "discount_type": "FIXED",
            "discount_value": "0.00",
            "discount_amount": "0.00",
            "subtotal": "37.50",
            "total": "37.50",
            "order": 0,
        },
    ],
    "custom_fields": {"erp_order_number": "SO-1"},
}


def change(obj: str, record: dict[str, Any], operation: Operation = Operation.UPDATE) -> RawChange:
    return change_of(obj, str(record.get("id", "gone")), operation, record, SEEN, "scan@t", SEEN)


def entity(obj: str, record: dict[str, Any]) -> object:
    (result,) = BottleCrmMapper(default_currency="GBP").to_canonical(change(obj, record))
    return result.data


def test_account_is_a_customer() -> None:
    customer = entity("account", ACCOUNT)
    assert isinstance(customer, Customer)
    assert customer.ids == ExternalIds(crm_id=ACCOUNT["id"])
    assert (customer.name, customer.currency, customer.status) == (
        "Acme Ltd",
        "EUR",
        CustomerStatus.ACTIVE,
    )
    assert customer.billing_address is not None
    assert (customer.billing_address.city, customer.billing_address.country) == ("Paris", "FR")
    assert customer.updated_at == SEEN  # accounts carry no update time: when it was seen
    inactive = entity(
        "account",
        {
            **ACCOUNT,
            "is_active": False,
            "city": None,
            "country": None,
            "address_line": None,
            "postcode": None,
        },
    )
    assert isinstance(inactive, Customer)
    assert inactive.status is CustomerStatus.INACTIVE
    assert inactive.billing_address is None


def test_contact_is_linked_to_its_customer() -> None:
    contact = entity("contact", CONTACT)
    assert isinstance(contact, Contact)
    assert contact.customer == ExternalIds(crm_id=ACCOUNT["id"])
    assert (contact.first_name, contact.last_name, contact.title) == ("Ada", "Lovelace", "CTO")
    assert contact.updated_at == datetime(2026, 11, 26, 13, 6, 29, 316815, tzinfo=UTC)


def test_deal_is_a_quote_with_its_lines_in_order() -> None:
    quote = entity("deal", DEAL)
    assert isinstance(quote, Quote)
    assert quote.customer == ExternalIds(crm_id=ACCOUNT["id"])
    assert (quote.status, quote.stage, quote.currency) == (QuoteStatus.SENT, "NEGOTIATION", "USD")
    assert quote.total.amount == Decimal("127.50")
    first, second = quote.lines
    assert (first.line_no, first.sku, first.item) == (1, "W-1", ExternalIds(crm_id="717a5c9b"))
    assert (first.quantity, first.amount.amount, first.discount_percent) == (
        Decimal("3.00"),
        Decimal("37.50"),
        Decimal(0),
    )
    assert (second.item, second.discount_percent, second.amount.amount) == (
        None,
        Decimal("10.00"),
        Decimal("90.00"),
    )
    # The deal's own attributes, for the order trigger's deal.NAME rules; unset ones left out.
    assert quote.attributes == {"name": "Acme deal"}
    tagged = entity("deal", {**DEAL, "lead_source": "PARTNER", "probability": 60, "source_ref": ""})
    assert isinstance(tagged, Quote)
    assert tagged.attributes == {"name": "Acme deal", "lead_source": "PARTNER", "probability": "60"}


@pytest.mark.parametrize(
    ("stage", "status"),
    [
        ("PROSPECTING", QuoteStatus.DRAFT),
        ("PROPOSAL", QuoteStatus.SENT),
        ("CLOSED_WON", QuoteStatus.ACCEPTED),
        ("CLOSED_LOST", QuoteStatus.REJECTED),
        ("A_STAGE_OF_THEIR_OWN", QuoteStatus.DRAFT),
    ],
)
def test_stage_gives_the_quote_status(stage: str, status: QuoteStatus) -> None:
    quote = entity("deal", {**DEAL, "stage": stage})
    assert isinstance(quote, Quote)
    assert quote.status is status


def test_fixed_discount_becomes_a_percentage_and_defaults_apply() -> None:
    line = {**DEAL["line_items"][0], "discount_type": "FIXED", "discount_amount": "12.00"}
    quote = entity("deal", {**DEAL, "currency": None, "amount": None, "line_items": [line]})
    assert isinstance(quote, Quote)
    assert quote.currency == "GBP"  # the mapper's default currency
    assert quote.lines[0].discount_percent == Decimal("12.0000")
    assert quote.total.amount == Decimal("90.00")  # no amount: the sum of the lines


def test_records_that_cannot_map_say_why() -> None:
    mapper = BottleCrmMapper()
    with pytest.raises(MappingError) as no_account:
        mapper.to_canonical(change("deal", {**DEAL, "account": None}))
    assert no_account.value.field == "account"
    with pytest.raises(MappingError) as no_name:
        mapper.to_canonical(change("account", {**ACCOUNT, "name": " "}))
    assert no_name.value.field == "name"
    bad = {**DEAL["line_items"][0], "quantity": "lots"}
    with pytest.raises(MappingError) as bad_quantity:
        mapper.to_canonical(change("deal", {**DEAL, "line_items": [bad]}))
    assert bad_quantity.value.field == "line_items.0.quantity"
    with pytest.raises(MappingError) as no_last_name:
        mapper.to_canonical(change("contact", {**CONTACT, "last_name": None}))
    assert no_last_name.value.field == "last_name"


def test_deletes_and_other_objects() -> None:
    mapper = BottleCrmMapper()
    (deleted,) = mapper.to_canonical(change("deal", {"id": DEAL["id"]}, Operation.DELETE))
    assert (deleted.entity, deleted.operation, deleted.data) == (
        EntityKind.QUOTE,
        Operation.DELETE,
        None,
    )
    assert deleted.ids == ExternalIds(crm_id=DEAL["id"])
    assert mapper.to_canonical(change("lead", {"id": "l1"})) == ()
    assert mapper.report_target(change("deal", DEAL)) == (
        EntityKind.QUOTE,
        ExternalIds(crm_id=DEAL["id"]),
    )
    assert mapper.report_target(change("contact", CONTACT)) is None


def test_customer_back_to_an_account_round_trips() -> None:
    customer = entity("account", ACCOUNT)
    assert isinstance(customer, Customer)
    payload = account_input(customer).payload()
    assert payload == {
        "name": "Acme Ltd",
        "email": "ap@acme.example",
        "phone": "+14155550100",
        "website": None,
        "currency": "EUR",
        "address_line": "1 rue de la Paix",
        "city": "Paris",
        "state": None,
        "postcode": "75002",
        "country": "FR",
        "is_active": True,
    }
    held = customer.model_copy(update={"status": CustomerStatus.INACTIVE, "approved": True})
    assert account_input(held).payload()["is_active"] is False


def test_contact_back_leaves_out_an_empty_first_name() -> None:
    contact = entity("contact", {**CONTACT, "first_name": None})
    assert isinstance(contact, Contact)
    payload = contact_input(contact, "acc-1").payload()
    assert "first_name" not in payload
    assert (payload["last_name"], payload["account"]) == ("Lovelace", "acc-1")
