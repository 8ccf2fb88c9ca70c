"""An event-stream source on the real broker: its replay position is the cursor stored in
Kafka (transactionally, under the source's owner id), so a new process resumes after it;
an expired position falls back to a re-snapshot by polling. The channel is the in-process
fake of the strategy's unit tests; the broker is real."""

from __future__ import annotations

import uuid

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from connectors.base import CursorStore, Publisher, SourceRunner
from connectors.base.tracking import EventCursor, Preset
from q2c.core.topics import Topics
from schemas import CODEC, RawChange
from tests.connectors.base.tracking.channel import FakeChannel, ThingEvents, thing
from tests.connectors.base.tracking.memory import SYSTEM, Table, at
from tests.plugins.kafka import create_q2c_topics

pytestmark = pytest.mark.integration


async def run_until_idle(stream: ThingEvents, bootstrap: str, topics: Topics) -> str | None:
    """One source process: load the cursors, poll until the stream is idle, stop."""
    kwargs = {"bootstrap_servers": bootstrap}
    publisher = Publisher(kwargs, topics)
    cursors = CursorStore(topics.cursors, kwargs, owner=f"{topics.prefix}-{SYSTEM}-source")
    await publisher.start()
    await cursors.start()
    try:
        runner = SourceRunner([stream], publisher, cursors)
        while await runner.poll_once(stream):
            pass
        return cursors.get(stream.cursor_key)
    finally:
        await cursors.stop()
        await publisher.stop()


async def raw_changes(bootstrap: str, topic: str) -> list[RawChange]:
    """Every change on ``topic`` (read up to its end offset: all were acknowledged)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        changes: list[RawChange] = []
        while await consumer.position(tp) < end:
            for records in (await consumer.getmany(tp, timeout_ms=500)).values():
                changes += [CODEC.decode_as(r.value or b"", RawChange) for r in records]
        return changes
    finally:
        await consumer.stop()


async def test_the_replay_position_lives_in_kafka_and_survives_a_restart(
    kafka_bootstrap: str,
) -> None:
    topics = await create_q2c_topics(
        kafka_bootstrap, Topics(prefix=f"test-{uuid.uuid4().hex[:10]}"), SYSTEM
    )
    channel, table = FakeChannel(), Table()
    table.write(1, at(1), v=1)
    thing(channel, 1, 1)

    # First process: the snapshot by polling, then the subscription from the tip.
    first = await run_until_idle(ThingEvents(channel, table), kafka_bootstrap, topics)
    assert EventCursor.decode(first).position == "1"

    # Second process: only what came after the stored position.
    thing(channel, 2, 10)
    thing(channel, 3, 11)
    second = await run_until_idle(ThingEvents(channel, table), kafka_bootstrap, topics)
    assert EventCursor.decode(second).position == "3"
    # The first process subscribed from the tip, polled from before its snapshot once the
    # channel answered, then went on after the position it reached; the second resumed there.
    assert channel.subscribed == [Preset.LATEST, "1", "1"]

    # Third process, after the channel dropped what it never read: re-snapshot by polling
    # from the last known time, then resubscribe from the tip and go on after it.
    table.write(4, at(20), v=4)
    thing(channel, 4, 20)
    channel.expire(keep_from=5)
    third = await run_until_idle(ThingEvents(channel, table), kafka_bootstrap, topics)
    assert EventCursor.decode(third) == EventCursor("4", at(11))
    assert channel.subscribed[3:] == ["3", Preset.LATEST, "4"]

    published = await raw_changes(kafka_bootstrap, topics.raw(SYSTEM))
    # The re-snapshot reaches back the polling overlap window: thing 1 is repeated, with
    # the fingerprint it had (dropped downstream); nothing is missed.
    assert [c.record_id for c in published] == ["1", "2", "3", "1", "4"]
    assert published[0].fingerprint == published[3].fingerprint
