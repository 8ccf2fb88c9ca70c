"""The connector consumers on the real broker with poison: a 900 KB message of random bytes,
a command whose fields cannot become a request, an unreadable cursor. Each becomes one
bounded dead letter naming where it was read, and the consumer goes on; a failure of the
world (OSError from the peer) stops the sink with nothing committed."""

from __future__ import annotations

import asyncio
import hashlib
import os
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition

from connectors.base import CursorStore, Publisher, Sink, SinkRunner
from connectors.base.normalize import Normalizer
from q2c.core.topics import Topics
from schemas import (
    CODEC,
    Command,
    CommandResult,
    Customer,
    DeadLetter,
    EntityKind,
    ExternalIds,
    Outcome,
    RawChange,
    ReportSyncStatus,
    SyncStatus,
    UpsertCustomer,
    idempotency_key,
)
from schemas.changes import EntityChange
from tests.connectors.base.test_normalize import AccountMapper, raw
from tests.connectors.base.test_runners import read_topic
from tests.plugins.kafka import create_q2c_topics

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.fixture
async def topics(kafka_bootstrap: str) -> Topics:
    """Topics of their own on the session's broker, created as `q2c topics ensure` does (the
    broker creates none on first use)."""
    prefix = Topics(prefix=f"test-{uuid.uuid4().hex[:10]}")
    return await create_q2c_topics(kafka_bootstrap, prefix, "memcrm", "memory")


async def produce(bootstrap: str, topic: str, records: list[tuple[bytes | None, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in records:
            await producer.send_and_wait(topic, key=key, value=value)
    finally:
        await producer.stop()


async def committed(bootstrap: str, group: str, topic: str) -> int | None:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group)
    await consumer.start()
    try:
        offset: int | None = await consumer.committed(TopicPartition(topic, 0))
        return offset
    finally:
        await consumer.stop()


async def test_the_normalizer_dead_letters_a_900_kb_poison_message_and_goes_on(
    kafka_bootstrap: str, topics: Topics
) -> None:
    kwargs = {"bootstrap_servers": kafka_bootstrap}
    poison = b"\xff" + os.urandom(900_000)
    await produce(
        kafka_bootstrap,
        topics.raw("memcrm"),
        [(b"\xfe\xff", poison), (b"account/a1", CODEC.encode(raw("a1", {"name": "Acme"})))],
    )
    publisher = Publisher(kwargs, topics)
    await publisher.start()
    stop = asyncio.Event()
    task = asyncio.create_task(Normalizer(AccountMapper(), publisher, kwargs).run(stop))
    try:
        (letter,) = [
            CODEC.decode_as(v, DeadLetter)
            for v in await read_topic(kafka_bootstrap, topics.dead_letter, 1)
        ]
        (change,) = await read_topic(kafka_bootstrap, topics.changes, 1)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await publisher.stop()
    assert b"Acme" in change
    assert letter.reason == "not a q2c message: 900001 bytes that are not UTF-8 text"
    assert letter.origin is not None
    assert (letter.origin.topic, letter.origin.partition, letter.origin.offset) == (
        topics.raw("memcrm"),
        0,
        0,
    )
    assert letter.payload_truncated
    assert letter.payload_size == len(poison)
    assert letter.payload_sha256 == hashlib.sha256(poison).hexdigest()
    assert len(CODEC.encode(letter)) < 100_000


class FragileSink(Sink):
    """Reads the customer's ERP id as a number; a name of "offline" fails like a network."""

    system: ClassVar[str] = "memory"

    async def apply(self, command: Command) -> CommandResult:
        assert isinstance(command, UpsertCustomer)
        if command.customer.name == "offline":
            raise ConnectionResetError("connection reset by peer")
        number = int(command.customer.ids.erp_id or "")
        return self.result(
            command, EntityKind.CUSTOMER, Outcome.UNCHANGED, ExternalIds(erp_id=str(number))
        )


def upsert(name: str, erp_id: str) -> bytes:
    return CODEC.encode(
        UpsertCustomer(
            idempotency_key=idempotency_key("upsert_customer", name, erp_id),
            target_system="memory",
            issued_at=NOW,
            customer=Customer(
                ids=ExternalIds(crm_id=name, erp_id=erp_id), name=name, updated_at=NOW
            ),
        )
    )


async def test_the_sink_dead_letters_a_bad_field_and_stops_on_a_network_failure(
    kafka_bootstrap: str, topics: Topics
) -> None:
    kwargs = {"bootstrap_servers": kafka_bootstrap}
    await produce(
        kafka_bootstrap,
        topics.commands("memory"),
        [(b"c", upsert("acme", "not-a-number")), (b"c", upsert("beta", "7"))],
    )
    publisher = Publisher(kwargs, topics)
    await publisher.start()
    group = f"{topics.prefix}-sink"
    runner = SinkRunner(FragileSink(), publisher, kwargs, group_id=group)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        results = [
            CODEC.decode_as(v, CommandResult)
            for v in await read_topic(kafka_bootstrap, topics.results("memory"), 2)
        ]
        (letter,) = [
            CODEC.decode_as(v, DeadLetter)
            for v in await read_topic(kafka_bootstrap, topics.dead_letter, 1)
        ]
        # A failure of the network is not the command's: the runner stops, uncommitted.
        await produce(kafka_bootstrap, topics.commands("memory"), [(b"c", upsert("offline", "8"))])
        with pytest.raises(ConnectionResetError):
            await asyncio.wait_for(task, 60)
    finally:
        stop.set()
        if not task.done():
            await asyncio.wait_for(task, 30)
        await publisher.stop()
    assert [r.outcome for r in results] == [Outcome.FAILED, Outcome.UNCHANGED]
    assert "ValueError: invalid literal for int()" in results[0].message
    assert letter.stage == "sink.memory"
    assert letter.error_class == "ValueError"
    assert letter.origin is not None
    assert letter.origin.offset == 0
    assert await committed(kafka_bootstrap, group, topics.commands("memory")) == 2


async def test_an_unreadable_cursor_counts_as_none_and_is_dead_lettered(
    kafka_bootstrap: str, topics: Topics
) -> None:
    kwargs = {"bootstrap_servers": kafka_bootstrap}
    publisher = Publisher(kwargs, topics)
    await publisher.start()
    first = CursorStore(topics.cursors, kwargs)
    await first.start()
    await first.save("memory/account", "5")
    await first.save("memory/contact", "9")
    await first.save("other/account", "3")
    await first.stop()
    await produce(
        kafka_bootstrap,
        topics.cursors,
        [
            (b"memory/account", b"\x00garbage"),
            (b"other/account", b'{"cursor": 12}'),
            (b"\xff\xfe", b"{}"),
        ],
    )
    store = CursorStore(topics.cursors, kwargs, publisher, "memory")
    try:
        await store.start()
        (letter,) = [
            CODEC.decode_as(v, DeadLetter)
            for v in await read_topic(kafka_bootstrap, topics.dead_letter, 1)
        ]
    finally:
        await store.stop()
        await publisher.stop()
    assert store.get("memory/account") is None  # read again from the start
    assert store.get("memory/contact") == "9"
    assert store.get("other/account") is None
    assert len(store.unreadable()) == 3
    assert letter.stage == "cursors.memory"
    assert letter.key_text == "memory/account"
    assert letter.reason.startswith("cursor 'memory/account': not valid JSON")
    assert letter.origin is not None
    assert letter.origin.topic == topics.cursors


class CarelessMapper(AccountMapper):
    """Reads fields without looking first, as mapping bugs do."""

    def to_canonical(self, change: RawChange) -> Sequence[EntityChange]:
        if Decimal(str(change.record["credit"])) > 0:
            return super().to_canonical(change)
        return ()


async def test_a_crm_record_the_mapper_trips_over_is_reported_to_the_crm(
    kafka_bootstrap: str, topics: Topics
) -> None:
    kwargs = {"bootstrap_servers": kafka_bootstrap}
    publisher = Publisher(kwargs, topics)
    await publisher.start()
    await publisher.publish_changes([raw("a1", {"name": "Acme", "credit": "NaN"})])
    stop = asyncio.Event()
    task = asyncio.create_task(Normalizer(CarelessMapper(), publisher, kwargs).run(stop))
    try:
        (letter,) = [
            CODEC.decode_as(v, DeadLetter)
            for v in await read_topic(kafka_bootstrap, topics.dead_letter, 1)
        ]
        (report,) = [
            CODEC.decode_as(v, ReportSyncStatus)
            for v in await read_topic(kafka_bootstrap, topics.commands("memcrm"), 1)
        ]
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await publisher.stop()
    assert letter.error_class == "MappingError"
    assert "a1: unexpected record shape (InvalidOperation" in letter.reason
    assert letter.origin is not None
    assert letter.origin.topic == topics.raw("memcrm")
    assert report.record == ExternalIds(crm_id="a1")
    assert report.status is SyncStatus.REJECTED
    assert "InvalidOperation" in report.message
