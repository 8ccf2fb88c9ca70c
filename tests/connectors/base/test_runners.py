"""The source and sink runners on the real broker, with an in-memory stream and sink."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from connectors.base import (
    Batch,
    ConnectorError,
    CursorStore,
    ErrorKind,
    Publisher,
    RetryPolicy,
    Sink,
    SinkRunner,
    SourceRunner,
    Stream,
)
from q2c.core.topics import Topics
from q2c.devstack.procs import first_result
from schemas import (
    CODEC,
    Command,
    CommandResult,
    Customer,
    DeadLetter,
    EntityKind,
    ExternalIds,
    Operation,
    Outcome,
    RawChange,
    UpsertCustomer,
    idempotency_key,
)
from tests.plugins.kafka import create_q2c_topics

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class ListStream(Stream):
    """Records in a list; the cursor is the index of the next one."""

    system: ClassVar[str] = "memory"
    name: ClassVar[str] = "account"

    def __init__(self, records: list[dict[str, str]], page: int = 2) -> None:
        self.records = records
        self.page = page

    async def read(self, cursor: str | None) -> Batch:
        start = int(cursor or 0)
        chunk = self.records[start : start + self.page]
        changes = [
            RawChange.of(
                system=self.system,
                object=self.name,
                record_id=record["id"],
                operation=Operation.CREATE,
                source_ts=NOW,
                cursor=str(start + i + 1),
                record=record,
                observed_at=NOW,
            )
            for i, record in enumerate(chunk)
        ]
        end = start + len(chunk)
        return Batch(changes, str(end), more=end < len(self.records))


async def read_topic(bootstrap: str, topic: str, n: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    values: list[bytes] = []
    try:
        async with asyncio.timeout(60):
            while len(values) < n:
                for records in (await consumer.getmany(timeout_ms=300)).values():
                    values.extend(r.value for r in records if r.value is not None)
    finally:
        await consumer.stop()
    return values


@pytest.fixture
async def topics(kafka_bootstrap: str) -> Topics:
    return await create_q2c_topics(
        kafka_bootstrap, Topics(prefix=f"test-{uuid.uuid4().hex[:10]}"), "memory"
    )


async def test_source_publishes_every_change_and_resumes_from_its_cursor(
    kafka_bootstrap: str, topics: Topics
) -> None:
    kwargs = {"bootstrap_servers": kafka_bootstrap}
    records = [{"id": f"acc-{i}", "name": f"Account {i}"} for i in range(5)]
    publisher = Publisher(kwargs, topics)
    cursors = CursorStore(topics.cursors, kwargs)
    await publisher.start()
    await cursors.start()
    try:
        runner = SourceRunner([ListStream(records)], publisher, cursors, poll_interval=0.1)
        stop = asyncio.Event()
        task = asyncio.create_task(runner.run(stop))
        first = await read_topic(kafka_bootstrap, topics.raw("memory"), 5)
        stop.set()
        await asyncio.wait_for(task, 30)
    finally:
        await cursors.stop()

    changes = [CODEC.decode_as(v, RawChange) for v in first]
    assert [c.record_id for c in changes] == [f"acc-{i}" for i in range(5)]
    assert len({c.fingerprint for c in changes}) == 5

    # A new process: the cursor comes back from the compacted topic; only new records flow.
    records += [{"id": "acc-5", "name": "Account 5"}]
    cursors = CursorStore(topics.cursors, kwargs)
    await cursors.start()
    try:
        assert cursors.get("memory/account") == "5"
        assert (
            await SourceRunner([ListStream(records)], publisher, cursors).poll_once(
                ListStream(records)
            )
            is False
        )
        assert cursors.get("memory/account") == "6"
    finally:
        await cursors.stop()
        await publisher.stop()
    everything = [
        CODEC.decode_as(v, RawChange)
        for v in await read_topic(kafka_bootstrap, topics.raw("memory"), 6)
    ]
    assert [c.record_id for c in everything] == [f"acc-{i}" for i in range(6)]


class DictSink(Sink):
    """Customers by CRM id; fails as scripted per customer name."""

    system: ClassVar[str] = "memory"

    def __init__(self, failures: dict[str, list[ErrorKind]]) -> None:
        self.records: dict[str, Customer] = {}
        self.failures = failures
        self.calls = 0

    async def apply(self, command: Command) -> CommandResult:
        assert isinstance(command, UpsertCustomer)
        self.calls += 1
        customer = command.customer
        script = self.failures.get(customer.name, [])
        if script:
            kind = script.pop(0)
            raise ConnectorError(kind, f"scripted {kind} failure", system=self.system)
        crm_id = customer.ids.crm_id or ""
        outcome = Outcome.UNCHANGED if self.records.get(crm_id) == customer else Outcome.CREATED
        self.records[crm_id] = customer
        return CommandResult(
            idempotency_key=command.idempotency_key,
            command=command.schema_subject,
            target_system=self.system,
            entity=EntityKind.CUSTOMER,
            outcome=outcome,
            ids=ExternalIds(crm_id=crm_id, erp_id=f"erp-{crm_id}"),
            completed_at=NOW,
        )


def upsert(crm_id: str, name: str) -> UpsertCustomer:
    return UpsertCustomer(
        idempotency_key=idempotency_key("upsert_customer", crm_id, name),
        target_system="memory",
        issued_at=NOW,
        customer=Customer(ids=ExternalIds(crm_id=crm_id), name=name, updated_at=NOW),
    )


async def test_sink_retries_transient_failures_absorbs_duplicates_and_dead_letters_rejects(
    kafka_bootstrap: str, topics: Topics
) -> None:
    kwargs = {"bootstrap_servers": kafka_bootstrap}
    producer = AIOKafkaProducer(**kwargs)
    await producer.start()
    commands: Sequence[bytes] = [
        CODEC.encode(upsert("A", "Acme")),
        CODEC.encode(upsert("A", "Acme")),  # a duplicate delivery
        CODEC.encode(upsert("B", "Bad Co")),
        b"{not json",
    ]
    for value in commands:
        await producer.send_and_wait(topics.commands("memory"), key=b"k", value=value)
    await producer.stop()

    sink = DictSink(
        {"Acme": [ErrorKind.RETRIABLE, ErrorKind.RETRIABLE], "Bad Co": [ErrorKind.SKIPPABLE]}
    )
    publisher = Publisher(kwargs, topics)
    await publisher.start()
    group = f"{topics.prefix}-sink"
    runner = SinkRunner(
        sink, publisher, kwargs, group_id=group, retry=RetryPolicy(base_delay=0.01, max_delay=0.05)
    )
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        results = [
            CODEC.decode_as(v, CommandResult)
            for v in await read_topic(kafka_bootstrap, topics.results("memory"), 3)
        ]
        letters = [
            CODEC.decode_as(v, DeadLetter)
            for v in await read_topic(kafka_bootstrap, topics.dead_letter, 2)
        ]
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await publisher.stop()

    assert [r.outcome for r in results] == [Outcome.CREATED, Outcome.UNCHANGED, Outcome.FAILED]
    assert list(sink.records) == ["A"]
    assert sink.calls == 5  # 2 retries + success, the duplicate, the rejection
    assert "scripted skippable failure" in results[2].message
    by_stage = {letter.stage: letter for letter in letters}
    assert "scripted skippable failure" in by_stage["sink.memory"].reason
    assert by_stage["sink.memory"].payload() == commands[2]
    assert by_stage["sink.memory.decode"].payload() == b"{not json"

    # Every command is committed: a restarted sink has nothing left to do.
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap, group_id=group)
    await consumer.start()
    try:
        tp = TopicPartition(topics.commands("memory"), 0)
        assert await consumer.committed(tp) == 4
    finally:
        await consumer.stop()


class FollowingStream(ListStream):
    """A stream that waits for its records itself, as an event subscription's fetch does:
    each read hands on what arrived and waits a little when nothing did."""

    name: ClassVar[str] = "contact"
    follows: ClassVar[bool] = True

    def __init__(self, records: list[dict[str, str]]) -> None:
        super().__init__(records, page=1)
        self.reads = 0

    async def read(self, cursor: str | None) -> Batch:
        self.reads += 1
        batch = await super().read(cursor)
        if not batch.changes:
            await asyncio.sleep(0.05)  # an empty fetch waits for events
        return batch


async def test_a_following_stream_is_read_as_it_answers_while_polled_ones_wait(
    kafka_bootstrap: str, topics: Topics
) -> None:
    kwargs = {"bootstrap_servers": kafka_bootstrap}
    publisher = Publisher(kwargs, topics)
    cursors = CursorStore(topics.cursors, kwargs)
    await publisher.start()
    await cursors.start()
    polled = ListStream([{"id": "acc-0", "name": "Polled"}])
    following = FollowingStream([])
    # An hour between polls: only the following stream's own pace brings its records.
    runner = SourceRunner([polled, following], publisher, cursors, poll_interval=3600)
    stop = asyncio.Event()
    task = asyncio.create_task(runner.run(stop))
    try:
        await read_topic(kafka_bootstrap, topics.raw("memory"), 1)
        following.records += [{"id": f"con-{i}", "name": f"Contact {i}"} for i in range(3)]
        values = await read_topic(kafka_bootstrap, topics.raw("memory"), 4)
        ids = {CODEC.decode_as(v, RawChange).record_id for v in values}
        assert ids == {"acc-0", "con-0", "con-1", "con-2"}

        async def stored() -> bool | None:  # the cursor is stored after the publish
            return True if cursors.get("memory/contact") == "3" else None

        await first_result(stored, 30, interval=0.05)
        assert following.reads > 3
        assert cursors.get("memory/account") == "1"
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await cursors.stop()
        await publisher.stop()
