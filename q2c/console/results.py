"""The sinks' results, read off their results topics from a point in time on: what the
overview's error rate and latency are computed from.

Reading starts at the first offset whose broker timestamp is at or after ``since`` (found
with ``offsets_for_times``), so a day's figures never read a topic from its beginning."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from aiokafka import ConsumerRecord, TopicPartition

from q2c.deadletters import _POLL_MS, _consumer, _exists
from q2c.kafka_admin import partitions_of
from schemas import CODEC, DecodeError
from schemas.commands import CommandResult


async def read_since(
    client_kwargs: dict[str, Any], topic: str, since: datetime
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every message ``topic`` holds now that the broker stamped at or after ``since``
    (empty if the topic does not exist)."""
    if not await _exists(client_kwargs, topic):
        return []
    partitions = [TopicPartition(topic, p) for p in await partitions_of(client_kwargs, topic)]
    consumer = await _consumer(client_kwargs)
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        starts = await consumer.offsets_for_times(
            {tp: int(since.timestamp() * 1000) for tp in partitions}
        )
        pending: set[TopicPartition] = set()
        for tp in partitions:
            start = starts.get(tp)
            if start is not None and start.offset < ends[tp]:
                consumer.seek(tp, start.offset)
                pending.add(tp)
        found: list[ConsumerRecord[bytes, bytes]] = []
        while pending:
            batches = await consumer.getmany(*pending, timeout_ms=_POLL_MS)
            for tp, records in batches.items():
                found += [r for r in records if r.offset < ends[tp]]
            for tp in list(pending):
                if await consumer.position(tp) >= ends[tp]:
                    pending.discard(tp)
        return found
    finally:
        await consumer.stop()


def command_results(records: Iterable[ConsumerRecord[bytes, bytes]]) -> list[CommandResult]:
    """The results among ``records``; anything unreadable is the dead-letter pages' business,
    not a figure's."""
    found: list[CommandResult] = []
    for record in records:
        try:
            found.append(CODEC.decode_as(record.value or b"", CommandResult))
        except DecodeError:
            continue
    return found


async def read_results(
    client_kwargs: dict[str, Any], topics: Iterable[str], since: datetime
) -> list[CommandResult]:
    found: list[CommandResult] = []
    for topic in topics:
        found += command_results(await read_since(client_kwargs, topic, since))
    return found
