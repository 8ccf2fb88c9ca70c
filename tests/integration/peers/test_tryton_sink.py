"""The Tryton sink against the real server: every command applied twice leaves one record."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connectors.base import ConnectorError, ErrorKind
from connectors.tryton import TrytonClient
from connectors.tryton.sink import TrytonSink
from schemas import (
    Address,
    Contact,
    CreateSalesOrder,
    Customer,
    DeleteMode,
    DeleteRecord,
    DocumentLine,
    EntityKind,
    ExternalIds,
    Item,
    Money,
    Outcome,
    PriceBookPrice,
    Quote,
    UpsertContact,
    UpsertCustomer,
    UpsertItem,
)
from schemas.commands import idempotency_key
from tests.plugins.tryton import TrytonPeer

pytestmark = pytest.mark.integration

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def customer(crm_id: str, name: str, email: str = "ap@initech.example") -> UpsertCustomer:
    return UpsertCustomer(
        idempotency_key=idempotency_key("upsert_customer", crm_id, name, email),
        target_system="tryton",
        issued_at=NOW,
        customer=Customer(
            ids=ExternalIds(crm_id=crm_id),
            name=name,
            email=email,
            phone="+1 555 0100",
            billing_address=Address(street="4120 Freidrich Lane", city="Austin", country="US"),
            updated_at=NOW,
        ),
    )


def item(sku: str, price: str, name: str = "Consulting day") -> UpsertItem:
    return UpsertItem(
        idempotency_key=idempotency_key("upsert_item", sku, price),
        target_system="tryton",
        issued_at=NOW,
        item=Item(
            ids=ExternalIds(crm_id=f"P-{sku}"),
            sku=sku,
            name=name,
            prices=(PriceBookPrice(unit_price=usd(price)),),
            updated_at=NOW,
        ),
    )


def order(deal: str, account: str, sku: str) -> CreateSalesOrder:
    lines = (
        DocumentLine(
            line_no=1, sku=sku, quantity=Decimal(3), unit_price=usd("800"), amount=usd("2400")
        ),
        DocumentLine(
            line_no=2,
            sku=sku,
            quantity=Decimal(1),
            unit_price=usd("800"),
            discount_percent=Decimal(25),
            amount=usd("600"),
            description="Fourth day at a discount",
        ),
    )
    return CreateSalesOrder(
        idempotency_key=idempotency_key("create_sales_order", deal),
        target_system="tryton",
        issued_at=NOW,
        reference=deal,
        quote=Quote(
            ids=ExternalIds(crm_id=deal),
            customer=ExternalIds(crm_id=account),
            currency="USD",
            lines=lines,
            total=usd("3000"),
            updated_at=NOW,
        ),
    )


async def test_customers_are_created_once_and_updated_in_place(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    # Countries are reference data an administrator loads into Tryton.
    (us,) = await tryton_client.create("country.country", [{"name": "United States", "code": "US"}])
    sink = TrytonSink(tryton_client)
    created = await sink.apply(customer("ACC-7", "Initech"))
    assert created.outcome is Outcome.CREATED
    assert created.ids is not None
    assert created.ids.crm_id == "ACC-7"
    party = int(created.ids.erp_id or 0)

    again = await sink.apply(customer("ACC-7", "Initech"))
    assert (again.outcome, again.ids) == (Outcome.UNCHANGED, created.ids)

    renamed = await sink.apply(customer("ACC-7", "Initech LLC", email="billing@initech.example"))
    assert (renamed.outcome, renamed.ids) == (Outcome.UPDATED, created.ids)

    found = await tryton_client.search_read(
        "party.party", [("identifiers.code", "=", "ACC-7")], ["name", "contact_mechanisms"]
    )
    assert [row["id"] for row in found] == [party]
    assert found[0]["name"] == "Initech LLC"
    mechanisms = await tryton_client.read(
        "party.contact_mechanism", found[0]["contact_mechanisms"], ["type", "value"]
    )
    assert sorted((m["type"], m["value"]) for m in mechanisms) == [
        ("email", "billing@initech.example"),
        ("phone", "+1 555 0100"),
    ]
    (address,) = await tryton_client.search_read(
        "party.address", [("party", "=", party)], ["city", "country"]
    )
    assert (address["city"], address["country"]) == ("Austin", us)


async def test_items_are_found_by_sku(tryton_client: TrytonClient, tryton_db: TrytonPeer) -> None:
    sink = TrytonSink(tryton_client)
    created = await sink.apply(item("CONS-DAY", "800"))
    assert created.outcome is Outcome.CREATED
    assert (await sink.apply(item("CONS-DAY", "800"))).outcome is Outcome.UNCHANGED
    repriced = await sink.apply(item("CONS-DAY", "850"))
    assert (repriced.outcome, repriced.ids) == (Outcome.UPDATED, created.ids)
    (row,) = await tryton_client.search_read(
        "product.product", [("code", "=", "CONS-DAY")], ["list_price_used", "salable"]
    )
    assert (row["list_price_used"], row["salable"]) == (Decimal("850"), True)


async def test_a_sales_order_is_created_quoted_and_confirmed_once(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    sink = TrytonSink(tryton_client)
    await sink.apply(customer("ACC-8", "Globex"))
    await sink.apply(item("CONS-DAY", "800"))

    first = await sink.apply(order("DEAL-8", "ACC-8", "CONS-DAY"))
    assert first.outcome is Outcome.CREATED
    assert first.ids is not None
    assert first.ids.crm_id == "DEAL-8"
    replay = await sink.apply(order("DEAL-8", "ACC-8", "CONS-DAY"))
    assert (replay.outcome, replay.ids) == (Outcome.UNCHANGED, first.ids)

    (sale,) = await tryton_client.search_read(
        "sale.sale", [("reference", "=", "DEAL-8")], ["state", "total_amount", "lines"]
    )
    assert str(sale["id"]) == first.ids.erp_id
    assert sale["state"] == "processing"
    assert sale["total_amount"] == Decimal("3000.00")
    lines = await tryton_client.read("sale.line", sale["lines"], ["quantity", "unit_price"])
    assert sorted((line["quantity"], line["unit_price"]) for line in lines) == [
        (1.0, Decimal("600.0000")),
        (3.0, Decimal("800.0000")),
    ]


async def test_a_sale_left_in_draft_by_a_failed_attempt_is_finished(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    sink = TrytonSink(tryton_client)
    await sink.apply(customer("ACC-9", "Umbrella"))
    await sink.apply(item("CONS-DAY", "800"))
    # As if an earlier attempt had created the sale and died before quoting it.
    draft = order("DEAL-9", "ACC-9", "CONS-DAY")
    sale = await sink._create_sale(draft, await sink.sale_parts(draft.quote))
    result = await sink.apply(order("DEAL-9", "ACC-9", "CONS-DAY"))
    assert result.outcome is Outcome.UPDATED
    assert result.ids == ExternalIds(crm_id="DEAL-9", erp_id=str(sale))
    assert await tryton_client.search_count("sale.sale", [("reference", "=", "DEAL-9")]) == 1
    (row,) = await tryton_client.read("sale.sale", [sale], ["state"])
    assert row["state"] == "processing"


async def test_unknown_customer_or_item_is_skipped_with_a_reason(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    sink = TrytonSink(tryton_client)
    with pytest.raises(ConnectorError) as raised:
        await sink.apply(order("DEAL-10", "ACC-404", "CONS-DAY"))
    assert raised.value.kind is ErrorKind.SKIPPABLE
    assert "ACC-404" in raised.value.reason

    await sink.apply(customer("ACC-10", "Hooli"))
    with pytest.raises(ConnectorError) as raised:
        await sink.apply(order("DEAL-10", "ACC-10", "NO-SUCH-SKU"))
    assert raised.value.kind is ErrorKind.SKIPPABLE
    assert "NO-SUCH-SKU" in raised.value.reason
    assert await tryton_client.search_count("sale.sale", [("reference", "=", "DEAL-10")]) == 0


async def test_tryton_refusing_the_order_is_permanent_with_its_words(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    sink = TrytonSink(tryton_client)
    await sink.apply(customer("ACC-11", "Vandelay Industries"))
    # An item the ERP no longer sells: Tryton's domain on sale lines refuses it.
    retired = item("OLD-MODEL", "10")
    retired = retired.model_copy(
        update={"item": retired.item.model_copy(update={"saleable": False})}
    )
    await sink.apply(retired)
    with pytest.raises(ConnectorError) as raised:
        await sink.apply(order("DEAL-11", "ACC-11", "OLD-MODEL"))
    assert raised.value.kind is ErrorKind.SKIPPABLE
    assert "Product" in raised.value.reason  # Tryton's own message names the field
    assert await tryton_client.search_count("sale.sale", [("reference", "=", "DEAL-11")]) == 0


def contact(crm_id: str, account: str, email: str, phone: str | None = None) -> UpsertContact:
    return UpsertContact(
        idempotency_key=idempotency_key("upsert_contact", crm_id, email),
        target_system="tryton",
        issued_at=NOW,
        contact=Contact(
            ids=ExternalIds(crm_id=crm_id),
            customer=ExternalIds(crm_id=account),
            first_name="Milton",
            last_name="Waddams",
            email=email,
            phone=phone,
            updated_at=NOW,
        ),
    )


async def test_contacts_become_named_contact_mechanisms_of_their_customer(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    sink = TrytonSink(tryton_client)
    party = (await sink.apply(customer("ACC-20", "Initech"))).ids
    assert party is not None
    created = await sink.apply(contact("CON-1", "ACC-20", "milton@initech.example", "+1 555 0199"))
    assert created.outcome is Outcome.CREATED
    replay = await sink.apply(contact("CON-1", "ACC-20", "milton@initech.example", "+1 555 0199"))
    assert (replay.outcome, replay.ids) == (Outcome.UNCHANGED, created.ids)
    moved = await sink.apply(contact("CON-1", "ACC-20", "milton@basement.example"))
    assert moved.outcome is Outcome.UPDATED

    rows = await tryton_client.search_read(
        "party.contact_mechanism",
        [("party", "=", int(party.erp_id or 0)), ("name", "=", "Milton Waddams")],
        ["type", "value"],
    )
    assert sorted((r["type"], r["value"]) for r in rows) == [
        ("email", "milton@basement.example"),
        ("phone", "+1 555 0199"),
    ]
    with pytest.raises(ConnectorError) as raised:
        await sink.apply(contact("CON-2", "ACC-404", "x@example.com"))
    assert raised.value.kind is ErrorKind.SKIPPABLE


def anonymise(crm_id: str) -> DeleteRecord:
    return DeleteRecord(
        idempotency_key=idempotency_key("anonymise", crm_id),
        target_system="tryton",
        issued_at=NOW,
        entity=EntityKind.CUSTOMER,
        record=ExternalIds(crm_id=crm_id),
        mode=DeleteMode.ANONYMISE,
    )


async def test_an_erased_customer_is_erased_by_tryton_unless_documents_are_pending(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    sink = TrytonSink(tryton_client)
    created = await sink.apply(customer("ACC-20", "Erasable Ltd", email="dpo@erasable.example"))
    party = int((created.ids and created.ids.erp_id) or 0)
    await sink.apply(customer("ACC-21", "Busy Ltd"))
    await sink.apply(item("CONS-DAY", "800"))
    await sink.apply(order("DEAL-21", "ACC-21", "CONS-DAY"))  # a sale still processing

    erased = await sink.apply(anonymise("ACC-20"))
    assert erased.outcome is Outcome.UPDATED
    (row,) = await tryton_client.read(
        "party.party", [party], ["name", "active"], context={"active_test": False}
    )
    assert (row["name"], row["active"]) == (None, False)
    left = await tryton_client.search_read(
        "party.contact_mechanism",
        [("party", "=", party)],
        ["value"],
        context={"active_test": False},
    )
    assert all(m["value"] == "****" for m in left)
    # Found again by its ERP id, erased already: nothing to do.
    again = anonymise("ACC-20").model_copy(update={"record": ExternalIds(erp_id=str(party))})
    assert (await sink.apply(again)).outcome is Outcome.UNCHANGED

    with pytest.raises(ConnectorError) as refused:
        await sink.apply(anonymise("ACC-21"))
    assert refused.value.kind is ErrorKind.SKIPPABLE
    assert "Busy Ltd" in str(refused.value) + str(refused.value.detail)
    (busy,) = await tryton_client.search_read(
        "party.party", [("identifiers.code", "=", "ACC-21")], ["name", "active"]
    )
    assert (busy["name"], busy["active"]) == ("Busy Ltd", True)
