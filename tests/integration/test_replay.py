"""`q2c replay` moves a consumer group back to a time or an offset on the real broker;
`q2c approve` puts a decision on the control topic."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from click.testing import CliRunner

from q2c.cli import cli
from q2c.core.topics import Topics
from q2c.replay import plan_and_move
from schemas import CODEC
from schemas.decisions import DealApproval
from tests.plugins.kafka import TopicFactory, create_q2c_topics

pytestmark = pytest.mark.integration


async def test_a_group_moves_back_to_a_time_only_when_applied(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    topic = await topic_factory("replay")
    kwargs = {"bootstrap_servers": kafka_bootstrap}
    producer = AIOKafkaProducer(**kwargs)
    await producer.start()
    stamps = []
    for i in range(5):
        stamp = 1_700_000_000_000 + i * 60_000
        stamps.append(stamp)
        await producer.send_and_wait(topic, value=f"m{i}".encode(), timestamp_ms=stamp)
    await producer.stop()

    group = f"g-{uuid.uuid4().hex[:8]}"
    consumer = AIOKafkaConsumer(
        topic, **kwargs, group_id=group, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    seen = 0
    async with asyncio.timeout(30):
        while seen < 5:
            batch = await consumer.getmany(timeout_ms=300)
            seen += sum(len(r) for r in batch.values())
    await consumer.commit()
    await consumer.stop()

    since = datetime.fromtimestamp(stamps[2] / 1000, UTC)
    (planned,) = await plan_and_move(kwargs, group, topic, since=since)
    assert (planned.before, planned.after) == (5, 2)
    (applied,) = await plan_and_move(kwargs, group, topic, since=since, apply=True)
    assert applied.after == 2
    (again,) = await plan_and_move(kwargs, group, topic, offset=0)
    assert again.before == 2

    check = AIOKafkaConsumer(**kwargs, group_id=group)
    await check.start()
    try:
        assert await check.committed(TopicPartition(topic, 0)) == 2
    finally:
        await check.stop()


def test_approve_puts_the_decision_on_the_control_topic(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch, tmp_path: object
) -> None:
    prefix = f"test{uuid.uuid4().hex[:8]}"
    asyncio.run(create_q2c_topics(kafka_bootstrap, Topics(prefix)))
    monkeypatch.setenv("Q2C_KAFKA__BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("Q2C_KAFKA__TOPIC_PREFIX", prefix)
    outcome = CliRunner().invoke(
        cli, ["approve", "deal-7", "--by", "cfo@example.com", "--reason", "strategic"]
    )
    assert outcome.exit_code == 0, outcome.output

    async def read() -> tuple[bytes, DealApproval]:
        consumer = AIOKafkaConsumer(
            f"{prefix}.control", bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            record = await asyncio.wait_for(consumer.getone(), 30)
        finally:
            await consumer.stop()
        return record.key or b"", CODEC.decode_as(record.value or b"", DealApproval)

    key, decision = asyncio.run(read())
    assert key == b"deal:deal-7"
    assert decision.approved
    assert (decision.actor, decision.reason) == ("cfo@example.com", "strategic")


def test_status_shows_how_far_behind_each_group_is(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"st{uuid.uuid4().hex[:8]}"
    topic = f"{prefix}.changes"

    async def setup() -> None:
        await create_q2c_topics(kafka_bootstrap, Topics(prefix))
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap)
        await producer.start()
        for i in range(3):
            await producer.send_and_wait(topic, value=f"m{i}".encode(), key=b"k")
        await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka_bootstrap,
            group_id=f"{prefix}-normalize-memory",
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        record = await asyncio.wait_for(consumer.getone(), 30)
        await consumer.commit({TopicPartition(topic, record.partition): record.offset + 1})
        await consumer.stop()

    asyncio.run(setup())
    monkeypatch.setenv("Q2C_KAFKA__BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("Q2C_KAFKA__TOPIC_PREFIX", prefix)
    shown = CliRunner().invoke(cli, ["status"])
    assert shown.exit_code == 0, shown.output
    (line,) = [ln for ln in shown.output.splitlines() if f"{prefix}-normalize-memory" in ln]
    assert line.split()[-2:] == [topic, "2"]
