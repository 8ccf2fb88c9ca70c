"""The BottleCRM source on the real BottleCRM server and the real Kafka broker: full scans
with fingerprints (creates, updates, confirmed deletes) and re-fetching webhooks."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from aiokafka import AIOKafkaConsumer

from connectors.base import CursorStore, Publisher, SourceRunner
from connectors.bottlecrm import BottleCrmClient
from connectors.bottlecrm.mapping import BottleCrmMapper
from connectors.bottlecrm.models import (
    AccountInput,
    ContactInput,
    DealInput,
    DealStage,
    LineItemInput,
)
from connectors.bottlecrm.source import (
    AccountStream,
    ContactStream,
    DealStream,
    WebhookReceiver,
    decode_snapshot,
)
from q2c.core.topics import Topics
from q2c.devstack import procs
from schemas import CODEC, Contact, Customer, Operation, Quote, QuoteStatus, RawChange
from tests.plugins.kafka import create_q2c_topics

pytestmark = pytest.mark.integration


class RawTopic:
    """Reads a raw topic from the start, remembering what was read."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )

    async def take(self, n: int) -> list[RawChange]:
        changes: list[RawChange] = []
        async with asyncio.timeout(30):
            while len(changes) < n:
                for records in (await self.consumer.getmany(timeout_ms=200)).values():
                    changes.extend(CODEC.decode_as(r.value or b"", RawChange) for r in records)
        return changes

    async def nothing_more(self) -> bool:
        batches = await self.consumer.getmany(timeout_ms=1500)
        return not any(batches.values())


@pytest.fixture
async def kafka(kafka_bootstrap: str) -> AsyncIterator[tuple[Publisher, CursorStore, RawTopic]]:
    topics = Topics(prefix=f"test-{uuid.uuid4().hex[:10]}")
    await create_q2c_topics(kafka_bootstrap, topics, "bottlecrm")
    kwargs = {"bootstrap_servers": kafka_bootstrap}
    publisher = Publisher(kwargs, topics)
    cursors = CursorStore(topics.cursors, kwargs)
    raw = RawTopic(kafka_bootstrap, topics.raw("bottlecrm"))
    await publisher.start()
    await cursors.start()
    await raw.consumer.start()
    try:
        yield publisher, cursors, raw
    finally:
        await raw.consumer.stop()
        await cursors.stop()
        await publisher.stop()


async def test_scans_publish_creates_updates_and_deletes(
    bottlecrm_client: BottleCrmClient, kafka: tuple[Publisher, CursorStore, RawTopic]
) -> None:
    crm = bottlecrm_client
    publisher, cursors, raw = kafka
    account_id = await crm.create_account(AccountInput(name="Scan Ltd", country="FR"))
    contact_id = await crm.create_contact(
        ContactInput(first_name="Grace", last_name="Hopper", account=account_id)
    )
    deal_id = await crm.create_deal(DealInput(name="Scan deal", account=account_id, currency="EUR"))
    await crm.add_line_item(
        deal_id, LineItemInput(name="Consulting", quantity=Decimal(2), unit_price=Decimal(500))
    )
    streams = [AccountStream(crm), ContactStream(crm), DealStream(crm)]
    runner = SourceRunner(streams, publisher, cursors)

    for stream in streams:
        await runner.poll_once(stream)
    first = {(c.object, c.record_id): c for c in await raw.take(3)}
    assert {key: c.operation for key, c in first.items()} == {
        ("account", account_id): Operation.CREATE,
        ("contact", contact_id): Operation.CREATE,
        ("deal", deal_id): Operation.CREATE,
    }
    assert set(decode_snapshot(cursors.get("bottlecrm/account"))) == {account_id}

    # Mapped the way normalize will: a customer, its contact, a quote with its line.
    mapper = BottleCrmMapper()
    customer = mapper.to_canonical(first["account", account_id])[0].data
    assert isinstance(customer, Customer)
    assert customer.name == "Scan Ltd"
    assert customer.billing_address is not None
    assert customer.billing_address.country == "FR"
    person = mapper.to_canonical(first["contact", contact_id])[0].data
    assert isinstance(person, Contact)
    assert person.customer is not None
    assert person.customer.crm_id == account_id
    quote = mapper.to_canonical(first["deal", deal_id])[0].data
    assert isinstance(quote, Quote)
    assert (quote.currency, quote.total.amount, quote.status) == (
        "EUR",
        Decimal("1000.00"),
        QuoteStatus.DRAFT,
    )
    assert [(line.quantity, line.amount.amount) for line in quote.lines] == [
        (Decimal("2.00"), Decimal("1000.00"))
    ]

    # Nothing changed: a second scan publishes nothing (volatile fields are not changes).
    for stream in streams:
        await runner.poll_once(stream)
    assert await raw.nothing_more()

    # q2c's own write-back is not a change; a person's edits are.
    await crm.write_custom_fields("Opportunity", deal_id, {"erp_order_number": "SO-77"})
    for stream in streams:
        await runner.poll_once(stream)
    assert await raw.nothing_more()

    await crm.update_account(account_id, AccountInput(name="Scan SA"))
    await crm.delete_contact(contact_id)
    await crm.update_deal(deal_id, DealInput(stage=DealStage.NEGOTIATION))
    for stream in streams:
        await runner.poll_once(stream)
    second = {(c.object, c.record_id): c for c in await raw.take(3)}
    assert {key: c.operation for key, c in second.items()} == {
        ("account", account_id): Operation.UPDATE,
        ("contact", contact_id): Operation.DELETE,
        ("deal", deal_id): Operation.UPDATE,
    }
    assert second["account", account_id].record["name"] == "Scan SA"
    assert second["contact", contact_id].record == {}
    deal = second["deal", deal_id].record
    assert deal["stage"] == "NEGOTIATION"
    custom = deal["custom_fields"]
    assert isinstance(custom, dict)
    assert custom["erp_order_number"] == "SO-77"  # the record carries it all the same
    assert await raw.nothing_more()
    assert decode_snapshot(cursors.get("bottlecrm/contact")) == {}


async def test_webhooks_publish_the_refetched_record(
    bottlecrm_client: BottleCrmClient, kafka: tuple[Publisher, CursorStore, RawTopic]
) -> None:
    crm = bottlecrm_client
    publisher, _, raw = kafka
    stop = asyncio.Event()
    # The secret is only known once the endpoint exists, and the endpoint needs the URL:
    # take a port first, then register, then serve with the secret.
    port = procs.free_port()
    endpoint, secret = await crm.register_webhook(
        f"http://127.0.0.1:{port}/bottlecrm/webhook",
        ["account.created", "account.updated", "account.deleted", "deal.updated"],
    )
    receiver = WebhookReceiver(crm, secret, port=port)
    task = asyncio.create_task(receiver.serve(stop, publisher))
    try:
        await asyncio.wait_for(receiver.ready.wait(), 10)
        account_id = await crm.create_account(AccountInput(name="Hook Ltd"))
        (created,) = await raw.take(1)
        assert (created.object, created.record_id, created.operation) == (
            "account",
            account_id,
            Operation.CREATE,
        )
        assert created.record["name"] == "Hook Ltd"
        assert created.cursor.startswith("webhook:")

        # The webhook's record (a detail read) has the fingerprint a scan gives the same state.
        scan = await AccountStream(crm).read(None)
        assert [c.fingerprint for c in scan.changes] == [created.fingerprint]

        deal_id = await crm.create_deal(DealInput(name="Hook deal", account=account_id))
        await crm.write_custom_fields("Opportunity", deal_id, {"erp_order_state": "confirmed"})
        (updated,) = await raw.take(1)
        assert (updated.object, updated.operation) == ("deal", Operation.UPDATE)
        fields = updated.record["custom_fields"]
        assert isinstance(fields, dict)
        assert fields["erp_order_state"] == "confirmed"  # re-fetched: the payload lacks it

        await crm.delete_deal(deal_id)
        await crm.delete_account(account_id)
        (deleted,) = await raw.take(1)
        assert (deleted.record_id, deleted.operation, deleted.record) == (
            account_id,
            Operation.DELETE,
            {},
        )
    finally:
        stop.set()
        await task
        await crm.delete_webhook(endpoint.id)
