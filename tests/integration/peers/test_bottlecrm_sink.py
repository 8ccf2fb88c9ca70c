"""The BottleCRM sink on the real BottleCRM server (and, through the sink runner, the real
Kafka broker): ERP facts written back as verified custom fields, products upserted by SKU,
every command idempotent."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from connectors.base import ConnectorError, ErrorKind, Publisher, SinkRunner
from connectors.bottlecrm import BottleCrmClient
from connectors.bottlecrm.models import AccountInput, DealInput
from connectors.bottlecrm.sink import BottleCrmSink
from q2c.core.topics import Topics
from schemas import (
    CODEC,
    Address,
    CommandResult,
    Contact,
    Customer,
    DeadLetter,
    EntityKind,
    ExternalIds,
    InvoiceStatus,
    Item,
    Money,
    Outcome,
    PriceBookPrice,
    ReportSyncStatus,
    SalesOrderState,
    SyncStatus,
    UpdateAccountBalance,
    UpdateDealFinancialStatus,
    UpsertContact,
    UpsertCustomer,
    UpsertItem,
    idempotency_key,
)
from schemas.commands import InvoiceSummary
from schemas.entities.documents import InvoiceState
from tests.plugins.kafka import create_q2c_topics

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def financial_status(deal_id: str, outstanding: str = "300.00") -> UpdateDealFinancialStatus:
    return UpdateDealFinancialStatus(
        idempotency_key=idempotency_key("deal-status", deal_id, outstanding),
        target_system="bottlecrm",
        issued_at=NOW,
        deal=ExternalIds(crm_id=deal_id, erp_id="SO-0042"),
        order_number="SO-0042",
        order_state=SalesOrderState.PROCESSING,
        invoice_status=InvoiceStatus.PARTIALLY_PAID,
        invoiced=eur("1000.00"),
        paid=eur("700.00"),
        outstanding=eur(outstanding),
        as_of=NOW,
        invoices=(
            InvoiceSummary(
                number="INV-1",
                state=InvoiceState.POSTED,
                total=eur("1000.00"),
                amount_due=eur(outstanding),
            ),
            InvoiceSummary(
                number="CM-1",
                state=InvoiceState.POSTED,
                credit_memo=True,
                total=eur("50.00"),
                amount_due=eur("0"),
            ),
        ),
        last_payment_date=date(2026, 11, 20),
    )


def sync_status(deal_id: str, status: SyncStatus, message: str) -> ReportSyncStatus:
    return ReportSyncStatus(
        idempotency_key=idempotency_key("sync", deal_id, status, message),
        target_system="bottlecrm",
        issued_at=NOW,
        entity=EntityKind.QUOTE,
        record=ExternalIds(crm_id=deal_id),
        status=status,
        message=message,
    )


def upsert_item(sku: str, price: str, name: str = "Widget", active: bool = True) -> UpsertItem:
    return UpsertItem(
        idempotency_key=idempotency_key("item", sku, price, name, str(active)),
        target_system="bottlecrm",
        issued_at=NOW,
        item=Item(
            ids=ExternalIds(erp_id=f"product-{sku}"),
            sku=sku,
            name=name,
            active=active,
            prices=(
                PriceBookPrice(unit_price=Money(amount=Decimal(price), currency="USD")),
                PriceBookPrice(unit_price=Money(amount=Decimal("99"), currency="GBP")),
            ),
            updated_at=NOW,
        ),
    )


async def test_deal_financial_status_written_once_and_verified(
    bottlecrm_client: BottleCrmClient,
) -> None:
    crm = bottlecrm_client
    sink = BottleCrmSink(crm)
    deal_id = await crm.create_deal(DealInput(name="Invoiced deal"))

    result = await sink.apply(financial_status(deal_id))
    assert (result.outcome, result.entity, result.ids) == (
        Outcome.UPDATED,
        EntityKind.QUOTE,
        ExternalIds(crm_id=deal_id, erp_id="SO-0042"),
    )
    fields = (await crm.get_deal(deal_id)).custom_fields
    assert fields == {
        "erp_order_number": "SO-0042",
        "erp_order_state": "processing",
        "erp_invoice_status": "partially_paid",
        "erp_invoice_numbers": "INV-1, CM-1 (credit)",
        "erp_invoiced_total": 1000.0,
        "erp_amount_due": 300.0,
        "erp_last_payment_date": "2026-11-20",
    }

    assert (await sink.apply(financial_status(deal_id))).outcome is Outcome.UNCHANGED
    paid = await sink.apply(financial_status(deal_id, outstanding="0.00"))
    assert paid.outcome is Outcome.UPDATED
    assert (await crm.get_deal(deal_id)).custom_fields["erp_amount_due"] == 0


async def test_sync_status_is_set_and_cleared(bottlecrm_client: BottleCrmClient) -> None:
    crm = bottlecrm_client
    sink = BottleCrmSink(crm)
    deal_id = await crm.create_deal(DealInput(name="Held deal"))

    await sink.apply(sync_status(deal_id, SyncStatus.REJECTED, "price of W-1 is below list"))
    fields = (await crm.get_deal(deal_id)).custom_fields
    assert fields == {
        "q2c_sync_status": "rejected",
        "q2c_sync_reason": "price of W-1 is below list",
    }
    await sink.apply(sync_status(deal_id, SyncStatus.SYNCED, ""))
    assert (await crm.get_deal(deal_id)).custom_fields == {"q2c_sync_status": "synced"}


async def test_account_balance(bottlecrm_client: BottleCrmClient) -> None:
    crm = bottlecrm_client
    sink = BottleCrmSink(crm)
    account_id = await crm.create_account(AccountInput(name="Owing Ltd"))
    command = UpdateAccountBalance(
        idempotency_key=idempotency_key("balance", account_id),
        target_system="bottlecrm",
        issued_at=NOW,
        account=ExternalIds(crm_id=account_id, erp_id="C-0009"),
        outstanding=eur("450.25"),
        overdue=eur("120.00"),
        as_of=NOW,
        last_payment_date=date(2026, 11, 2),
    )
    assert (await sink.apply(command)).outcome is Outcome.UPDATED
    assert (await crm.get_account(account_id)).custom_fields == {
        "erp_customer_code": "C-0009",
        "erp_outstanding_balance": 450.25,
        "erp_overdue_balance": 120.0,
        "erp_last_payment_date": "2026-11-02",
    }
    assert (await sink.apply(command)).outcome is Outcome.UNCHANGED


async def test_items_upserted_by_sku(bottlecrm_client: BottleCrmClient) -> None:
    crm = bottlecrm_client
    sink = BottleCrmSink(crm, currency="USD")

    created = await sink.apply(upsert_item("W-1", "12.50"))
    assert created.outcome is Outcome.CREATED
    assert created.ids is not None
    product_id = created.ids.crm_id
    assert product_id is not None
    assert created.ids.erp_id == "product-W-1"

    assert (await sink.apply(upsert_item("W-1", "12.50"))).outcome is Outcome.UNCHANGED
    repriced = await sink.apply(upsert_item("W-1", "13.00", name="Widget v2"))
    assert repriced.outcome is Outcome.UPDATED
    assert repriced.ids == created.ids
    product = await crm.get_product(product_id)
    assert (product.name, product.price, product.currency, product.is_active) == (
        "Widget v2",
        Decimal("13.00"),
        "USD",
        True,
    )
    retired = await sink.apply(upsert_item("W-1", "13.00", name="Widget v2", active=False))
    assert retired.outcome is Outcome.UPDATED
    assert (await crm.get_product(product_id)).is_active is False
    assert [p.id async for p in crm.products()] == [product_id]


async def test_commands_it_cannot_apply_are_skippable(bottlecrm_client: BottleCrmClient) -> None:
    sink = BottleCrmSink(bottlecrm_client)
    missing = "00000000-0000-4000-8000-000000000000"
    with pytest.raises(ConnectorError) as gone:
        await sink.apply(sync_status(missing, SyncStatus.WAITING, "customer not approved"))
    assert (gone.value.kind, gone.value.status) == (ErrorKind.SKIPPABLE, 404)

    no_crm_id = financial_status("x").model_copy(update={"deal": ExternalIds(erp_id="SO-1")})
    with pytest.raises(ConnectorError, match="no BottleCRM id") as unknown:
        await sink.apply(no_crm_id)
    assert unknown.value.kind is ErrorKind.SKIPPABLE

    not_for_crm = ReportSyncStatus.model_validate(
        sync_status(missing, SyncStatus.WAITING, "").model_dump() | {"entity": EntityKind.INVOICE}
    )
    with pytest.raises(ConnectorError, match="no sync status on a invoice"):
        await sink.apply(not_for_crm)


async def test_sink_runner_publishes_results_and_dead_letters(
    bottlecrm_client: BottleCrmClient, kafka_bootstrap: str
) -> None:
    crm = bottlecrm_client
    deal_id = await crm.create_deal(DealInput(name="Runner deal"))
    topics = Topics(prefix=f"test-{uuid.uuid4().hex[:10]}")
    await create_q2c_topics(kafka_bootstrap, topics, "bottlecrm")
    kwargs = {"bootstrap_servers": kafka_bootstrap}
    commands = [
        sync_status(deal_id, SyncStatus.PENDING_APPROVAL, "discount needs approval"),
        sync_status(deal_id, SyncStatus.PENDING_APPROVAL, "discount needs approval"),  # again
        sync_status("00000000-0000-4000-8000-000000000000", SyncStatus.SYNCED, ""),
    ]
    producer = AIOKafkaProducer(**kwargs)
    await producer.start()
    for command in commands:
        await producer.send_and_wait(
            topics.commands("bottlecrm"), key=b"deal", value=CODEC.encode(command)
        )
    await producer.stop()

    publisher = Publisher(kwargs, topics)
    await publisher.start()
    runner = SinkRunner(BottleCrmSink(crm), publisher, kwargs)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    consumer = AIOKafkaConsumer(
        topics.results("bottlecrm"),
        topics.dead_letter,
        **kwargs,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    results: list[CommandResult] = []
    letters: list[DeadLetter] = []
    try:
        async with asyncio.timeout(60):
            while len(results) < 3 or not letters:
                for tp, records in (await consumer.getmany(timeout_ms=300)).items():
                    for record in records:
                        if tp.topic == topics.dead_letter:
                            letters.append(CODEC.decode_as(record.value or b"", DeadLetter))
                        else:
                            results.append(CODEC.decode_as(record.value or b"", CommandResult))
    finally:
        stop.set()
        await task
        await consumer.stop()
        await publisher.stop()

    assert [r.outcome for r in results] == [Outcome.UPDATED, Outcome.UNCHANGED, Outcome.FAILED]
    assert (await crm.get_deal(deal_id)).custom_fields == {
        "q2c_sync_status": "pending_approval",
        "q2c_sync_reason": "discount needs approval",
    }
    assert len(letters) == 1
    assert "does not exist" in letters[0].reason


def upsert_customer(customer: Customer) -> UpsertCustomer:
    return UpsertCustomer(
        idempotency_key=idempotency_key("customer", customer.model_dump_json()),
        target_system="bottlecrm",
        issued_at=NOW,
        customer=customer,
    )


async def test_customers_updated_by_crm_id_or_created_with_their_erp_code(
    bottlecrm_client: BottleCrmClient,
) -> None:
    crm = bottlecrm_client
    sink = BottleCrmSink(crm)
    account_id = await crm.create_account(AccountInput(name="Owned Ltd", phone="+4420 0000"))

    # The ERP owns the address and approval: an overwrite brings the address back to the
    # CRM; what BottleCRM has no field for (approval, payment terms) is left out.
    owner_view = Customer(
        ids=ExternalIds(crm_id=account_id, erp_id="C-100"),
        name="Owned Ltd",
        phone="+4420 0000",
        approved=True,
        payment_terms="30 days",
        billing_address=Address(street="1 Main St", city="Leeds", country="GB"),
        updated_at=NOW,
    )
    updated = await sink.apply(upsert_customer(owner_view))
    assert (updated.outcome, updated.ids) == (
        Outcome.UPDATED,
        ExternalIds(crm_id=account_id, erp_id="C-100"),
    )
    account = await crm.get_account(account_id)
    assert (account.address_line, account.city, account.country) == ("1 Main St", "Leeds", "GB")
    assert account.custom_fields["erp_customer_code"] == "C-100"
    assert (await sink.apply(upsert_customer(owner_view))).outcome is Outcome.UNCHANGED

    # A customer made in the ERP first: created once, found again by its ERP code.
    erp_first = Customer(
        ids=ExternalIds(erp_id="C-200"), name="ERP First GmbH", currency="EUR", updated_at=NOW
    )
    created = await sink.apply(upsert_customer(erp_first))
    assert created.outcome is Outcome.CREATED
    assert created.ids is not None
    again = await sink.apply(upsert_customer(erp_first))
    assert (again.outcome, again.ids) == (Outcome.UNCHANGED, created.ids)
    renamed = erp_first.model_copy(update={"name": "ERP First AG"})
    assert (await sink.apply(upsert_customer(renamed))).ids == created.ids
    names = sorted([a.name async for a in crm.accounts()])
    assert names == ["ERP First AG", "Owned Ltd"]


async def test_contacts_found_by_email(bottlecrm_client: BottleCrmClient) -> None:
    crm = bottlecrm_client
    sink = BottleCrmSink(crm)
    account_id = await crm.create_account(AccountInput(name="People Ltd"))
    person = Contact(
        ids=ExternalIds(erp_id="P-1"),
        customer=ExternalIds(crm_id=account_id),
        first_name="Alan",
        last_name="Turing",
        email="alan@people.example",
        updated_at=NOW,
    )

    def command(contact: Contact) -> UpsertContact:
        return UpsertContact(
            idempotency_key=idempotency_key("contact", contact.model_dump_json()),
            target_system="bottlecrm",
            issued_at=NOW,
            contact=contact,
        )

    created = await sink.apply(command(person))
    assert created.outcome is Outcome.CREATED
    assert created.ids is not None
    assert (await sink.apply(command(person))).outcome is Outcome.UNCHANGED
    promoted = await sink.apply(command(person.model_copy(update={"title": "Head of Research"})))
    assert (promoted.outcome, promoted.ids) == (Outcome.UPDATED, created.ids)
    (stored,) = [c async for c in crm.contacts()]
    assert (stored.title, stored.account, stored.email) == (
        "Head of Research",
        account_id,
        "alan@people.example",
    )
