"""The dead-letter topic from the command line: read the letters, send one again, mark one
resolved.

A retry publishes the letter's original payload, with its original key, to the topic it was
first read from (its ``origin``), with a ``q2c-retry-of`` header naming the letter, so the
retried message can be traced back. Each retry and resolution is recorded on a compacted
topic keyed by the letter's id; the letters themselves are never rewritten.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from q2c.core.kafka_admin import ensure_compacted, partitions_of
from q2c.core.topics import Topics
from q2c.deadletter_views import Letter, letter_id, parse_id, retry_refusal
from schemas import CODEC, DeadLetter, DecodeError, MessageOrigin
from schemas.decisions import DeadLetterResolution, LetterAction

RETRY_HEADER = "q2c-retry-of"
_POLL_MS = 500


class LetterNotFound(LookupError):
    pass


class RetryRefused(ValueError):
    pass


def _letter(record: ConsumerRecord[bytes, bytes]) -> Letter:
    written = datetime.fromtimestamp(record.timestamp / 1000, UTC)
    ident = letter_id(record.partition, record.offset)
    try:
        decoded = CODEC.decode_as(record.value or b"", DeadLetter)
    except DecodeError as exc:
        return Letter(ident, written, None, unreadable=f"not a dead letter record: {exc}")
    return Letter(ident, written, decoded)


async def _exists(client_kwargs: dict[str, Any], topic: str) -> bool:
    """Whether ``topic`` exists, asked without naming it: a broker that creates topics on
    first mention would otherwise create it, and a resolutions topic made so would not be
    compacted."""
    admin = AIOKafkaAdminClient(**client_kwargs)
    await admin.start()
    try:
        return topic in await admin.list_topics()
    finally:
        await admin.close()


async def _consumer(client_kwargs: dict[str, Any]) -> AIOKafkaConsumer:
    consumer = AIOKafkaConsumer(
        **client_kwargs, group_id=None, enable_auto_commit=False, auto_offset_reset="earliest"
    )
    await consumer.start()
    return consumer


async def read_topic(
    client_kwargs: dict[str, Any], topic: str, since: datetime | None = None
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every message ``topic`` holds now, partition by partition (empty if it does not
    exist); with ``since``, only those the broker stamped at or after it (found with
    ``offsets_for_times``, so a recent window never reads a topic from its beginning).
    Messages written while reading are left for the next read."""
    if not await _exists(client_kwargs, topic):
        return []
    partitions = [TopicPartition(topic, p) for p in await partitions_of(client_kwargs, topic)]
    consumer = await _consumer(client_kwargs)
    try:
        consumer.assign(partitions)
        ends = await consumer.end_offsets(partitions)
        if since is None:
            await consumer.seek_to_beginning(*partitions)
        else:
            starts = await consumer.offsets_for_times(
                {tp: int(since.timestamp() * 1000) for tp in partitions}
            )
            for tp in partitions:
                start = starts.get(tp)
                consumer.seek(tp, ends[tp] if start is None else start.offset)
        pending = {tp for tp in partitions if ends[tp] > await consumer.position(tp)}
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


async def read_letters(client_kwargs: dict[str, Any], topics: Topics) -> list[Letter]:
    return [_letter(r) for r in await read_topic(client_kwargs, topics.dead_letter)]


async def read_letter(client_kwargs: dict[str, Any], topics: Topics, ident: str) -> Letter:
    """The dead letter at ``ident`` (``partition:offset``), read by position."""
    partition, offset = parse_id(ident)
    if not await _exists(client_kwargs, topics.dead_letter):
        raise LetterNotFound(f"no dead letter {ident}: there is no {topics.dead_letter} topic")
    if partition not in await partitions_of(client_kwargs, topics.dead_letter):
        raise LetterNotFound(f"no dead letter {ident}: {topics.dead_letter} has no such partition")
    tp = TopicPartition(topics.dead_letter, partition)
    consumer = await _consumer(client_kwargs)
    try:
        consumer.assign([tp])
        first = (await consumer.beginning_offsets([tp]))[tp]
        end = (await consumer.end_offsets([tp]))[tp]
        if not first <= offset < end:
            raise LetterNotFound(
                f"no dead letter {ident}: partition {partition} holds offsets {first} to {end - 1}"
            )
        consumer.seek(tp, offset)
        while await consumer.position(tp) < end:
            batches = await consumer.getmany(tp, timeout_ms=_POLL_MS, max_records=1)
            for record in batches.get(tp, []):
                if record.offset == offset:
                    return _letter(record)
                if record.offset > offset:
                    break
            else:
                continue
            break
        # A transaction marker, not a message, stands at that offset.
        raise LetterNotFound(f"no dead letter {ident}")
    finally:
        await consumer.stop()


async def read_resolutions(
    client_kwargs: dict[str, Any], topics: Topics
) -> dict[str, DeadLetterResolution]:
    """The latest resolution of each letter that has one."""
    found: dict[str, DeadLetterResolution] = {}
    for record in await read_topic(client_kwargs, topics.dead_letter_resolutions):
        key = (record.key or b"").decode()
        if record.value is None:
            found.pop(key, None)  # a tombstone: the letter is open again
            continue
        try:
            resolution = CODEC.decode_as(record.value, DeadLetterResolution)
        except DecodeError:
            continue  # not ours to interpret; the letter stays open
        found[resolution.letter_id] = resolution
    return found


class LetterDesk:
    """Sends letters again and records what operators did, over one producer."""

    def __init__(self, client_kwargs: dict[str, Any], topics: Topics) -> None:
        self.client_kwargs = client_kwargs
        self.topics = topics
        self._producer = AIOKafkaProducer(**client_kwargs, acks="all", enable_idempotence=True)

    async def __aenter__(self) -> LetterDesk:
        await ensure_compacted(self.client_kwargs, self.topics.dead_letter_resolutions)
        await self._producer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._producer.stop()

    async def record(self, resolution: DeadLetterResolution) -> None:
        await self._producer.send_and_wait(
            self.topics.dead_letter_resolutions,
            key=resolution.letter_id.encode(),
            value=CODEC.encode(resolution),
        )

    async def resolve(self, letter: Letter, actor: str, note: str) -> DeadLetterResolution:
        resolution = DeadLetterResolution(
            letter_id=letter.id,
            action=LetterAction.RESOLVED,
            actor=actor,
            note=note,
            at=datetime.now(UTC),
        )
        await self.record(resolution)
        return resolution

    async def retry(self, letter: Letter, actor: str) -> MessageOrigin:
        """Publish ``letter``'s message again where it came from; where it went."""
        refusal = retry_refusal(letter)
        record = letter.record
        if refusal is not None or record is None or record.origin is None:
            raise RetryRefused(refusal or f"dead letter {letter.id} cannot be retried")
        # A message that had no key (a letter from before q2c's topics were compacted) is
        # sent under its letter's id: a compacted topic refuses records without a key.
        key = (record.key_text if record.key_text is not None else letter.id).encode()
        trace = f"{self.topics.dead_letter}/{letter.id}".encode()
        sent = await self._producer.send_and_wait(
            record.origin.topic,
            key=key,
            value=record.payload(),
            headers=[(RETRY_HEADER, trace)],
        )
        where = MessageOrigin(topic=sent.topic, partition=sent.partition, offset=sent.offset)
        await self.record(
            DeadLetterResolution(
                letter_id=letter.id,
                action=LetterAction.RETRIED,
                actor=actor,
                note=f"sent again to {where.topic} partition {where.partition} "
                f"offset {where.offset}",
                at=datetime.now(UTC),
            )
        )
        return where
