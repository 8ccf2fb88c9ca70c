"""The broker under the tests is a real Apache Kafka: keys, headers, log compaction and
transactions behave as Kafka's do."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

from tests.plugins.kafka import TopicFactory

pytestmark = pytest.mark.integration


async def _read_all(
    bootstrap: str, topic: str, expected: int, *, isolation: str = "read_uncommitted"
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of ``topic`` from the start, waiting until at least ``expected`` arrived
    or the end of the partition is reached with nothing more to come."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        isolation_level=isolation,
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        records: list[ConsumerRecord[bytes, bytes]] = []
        async with asyncio.timeout(30):
            while len(records) < expected or await consumer.position(tp) < end:
                batch = await consumer.getmany(tp, timeout_ms=500)
                records.extend(batch.get(tp, []))
                if not batch and await consumer.position(tp) >= end and len(records) >= expected:
                    break
        return records
    finally:
        await consumer.stop()


async def test_keys_headers_and_order_survive_a_round_trip(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = await topic_factory("roundtrip")
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for i in range(5):
            await producer.send_and_wait(
                topic,
                value=f"v{i}".encode(),
                key=f"deal-{i % 2}".encode(),
                headers=[("traceparent", f"00-{'a' * 32}-{i:016x}-01".encode())],
            )
    finally:
        await producer.stop()

    records = await _read_all(kafka_bootstrap, topic, 5)
    assert [r.value for r in records] == [f"v{i}".encode() for i in range(5)]
    assert [r.key for r in records] == [b"deal-0", b"deal-1", b"deal-0", b"deal-1", b"deal-0"]
    assert dict(records[3].headers)["traceparent"] == f"00-{'a' * 32}-{3:016x}-01".encode()
    assert [r.offset for r in records] == list(range(5))


async def test_compacted_topic_keeps_the_latest_value_per_key(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = await topic_factory(
        "compacted",
        config={
            "cleanup.policy": "compact",
            "segment.ms": "100",
            "min.cleanable.dirty.ratio": "0.01",
            "delete.retention.ms": "100",
        },
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for round_ in range(20):
            for key in (b"cursor-a", b"cursor-b"):
                await producer.send_and_wait(topic, key=key, value=str(round_).encode())
            await asyncio.sleep(0.05)  # let segments roll so the cleaner has work
        await producer.send_and_wait(topic, key=b"cursor-c", value=b"only")
    finally:
        await producer.stop()

    # The log cleaner runs in the background: wait (bounded) until it has compacted.
    latest: dict[bytes, bytes] = {}
    async with asyncio.timeout(60):
        while True:
            records = await _read_all(kafka_bootstrap, topic, 3)
            latest = {r.key: r.value for r in records if r.key is not None and r.value}
            if len(records) < 41:
                break
            await asyncio.sleep(1)
    assert len(records) < 41, "the broker never compacted the topic"
    assert latest == {b"cursor-a": b"19", b"cursor-b": b"19", b"cursor-c": b"only"}


async def test_aborted_transaction_is_invisible_to_read_committed(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = await topic_factory("txn")
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap, transactional_id=f"q2c-test-{uuid.uuid4().hex}"
    )
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send(topic, key=b"k", value=b"committed-1")
            await producer.send(topic, key=b"k", value=b"committed-2")
        await producer.begin_transaction()
        await producer.send(topic, key=b"k", value=b"aborted")
        await producer.abort_transaction()
        async with producer.transaction():
            await producer.send(topic, key=b"k", value=b"committed-3")
    finally:
        await producer.stop()

    committed = await _read_all(kafka_bootstrap, topic, 3, isolation="read_committed")
    assert [r.value for r in committed] == [b"committed-1", b"committed-2", b"committed-3"]
    everything = await _read_all(kafka_bootstrap, topic, 4)
    assert b"aborted" in [r.value for r in everything]
