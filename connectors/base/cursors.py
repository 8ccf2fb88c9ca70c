"""Source cursors, stored in a compacted Kafka topic.

A cursor is written only after the broker acknowledged every event it covers, so a source
restarted at any moment resumes at or before the last change it published: it may publish a
change twice (absorbed downstream by fingerprint), never skip one.

A cursor record that cannot be read (not JSON, no ``cursor`` text, a key that is not UTF-8)
counts as no cursor: the stream starts over with a snapshot, whose repeats are absorbed the
same way. When it is the record in force for one of this system's streams, it is
dead-lettered with the reason, once per load.

One source per system owns its cursors. Given an ``owner``, the store writes them in Kafka
transactions under that transactional id: a second source started for the same system
fences the first (Kafka bumps the id's epoch), so the first cannot store another cursor and
stops, and the second reads the cursors only after that (committed writes only). Two
sources may briefly publish the same changes, never advance one cursor both. (A source
killed inside its transaction hides the cursors written after it from readers until Kafka
aborts it, within the transaction timeout; a source starting then resumes from an earlier
cursor: it repeats changes, never skips one.)
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.errors import InvalidProducerEpoch, ProducerFenced

from connectors.base.errors import ConnectorError, ErrorKind
from connectors.base.publish import Publisher
from q2c.core.kafka_admin import ensure_compacted
from schemas import DecodeError, MessageOrigin
from schemas.codec import not_json

log = logging.getLogger(__name__)


def read_cursor(record: ConsumerRecord[bytes, bytes]) -> tuple[str, str | None]:
    """The key and cursor of a record (None: a tombstone); DecodeError when unreadable."""
    if record.key is None:
        raise DecodeError("a cursor record without a key")
    try:
        key = record.key.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError(f"a cursor key of {len(record.key)} bytes that are not UTF-8") from None
    if record.value is None:
        return key, None
    try:
        value = orjson.loads(record.value)
    except orjson.JSONDecodeError as exc:
        raise DecodeError(f"cursor {key[:200]!r}: {not_json(record.value, exc).reason}") from None
    cursor = value.get("cursor") if isinstance(value, dict) else None
    if not isinstance(cursor, str):
        raise DecodeError(f"cursor {key[:200]!r} has no 'cursor' text", path="cursor")
    return key, cursor


class CursorsTakenOver(ConnectorError):
    """Another source started with the same owner: this one must stop."""

    def __init__(self, owner: str) -> None:
        super().__init__(
            ErrorKind.FATAL, f"another source took over the cursors of {owner}; stopping"
        )


class CursorStore:
    """Cursors keyed by ``system/stream``; ``load`` reads the topic to its end."""

    def __init__(
        self,
        topic: str,
        client_kwargs: dict[str, Any],
        publisher: Publisher | None = None,
        system: str | None = None,
        owner: str | None = None,
    ) -> None:
        self.topic = topic
        self.owner = owner
        self._client_kwargs = client_kwargs
        self._publisher = publisher
        self._system = system
        self._unreadable: dict[bytes | None, tuple[ConsumerRecord[bytes, bytes], DecodeError]] = {}
        self._cursors: dict[str, str] = {}
        self._producer: AIOKafkaProducer | None = None
        self._saving = asyncio.Lock()

    async def start(self) -> None:
        await ensure_compacted(self._client_kwargs, self.topic)
        self._producer = AIOKafkaProducer(
            **self._client_kwargs,
            acks="all",
            enable_idempotence=True,
            transactional_id=self.owner,
        )
        await self._producer.start()  # with an owner, this fences any earlier one
        await self.load()
        await self._reject_unreadable()

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def load(self) -> dict[str, str]:
        """Read the topic to its end; the cursors in force, by key."""
        self._unreadable = {}
        consumer = AIOKafkaConsumer(
            **self._client_kwargs,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            isolation_level="read_committed",
        )
        await consumer.start()
        try:
            partitions = consumer.partitions_for_topic(self.topic) or {0}
            tps = [TopicPartition(self.topic, p) for p in partitions]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            while [tp for tp in tps if await consumer.position(tp) < ends[tp]]:
                batch = await consumer.getmany(*tps, timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        self._unreadable.pop(record.key, None)
                        try:
                            key, cursor = read_cursor(record)
                        except DecodeError as exc:
                            self._unreadable[record.key] = (record, exc)
                            if record.key is not None:
                                self._cursors.pop(record.key.decode("utf-8", "replace"), None)
                            continue
                        if cursor is None:
                            self._cursors.pop(key, None)
                        else:
                            self._cursors[key] = cursor
        finally:
            await consumer.stop()
        return dict(self._cursors)

    def unreadable(self) -> list[tuple[ConsumerRecord[bytes, bytes], DecodeError]]:
        """The records in force for their key that could not be read, at the last load."""
        return list(self._unreadable.values())

    async def _reject_unreadable(self) -> None:
        for record, error in self.unreadable():
            owner = (record.key or b"").split(b"/", 1)[0].decode("utf-8", "replace")
            if self._publisher is None or owner != self._system:
                log.warning("cursor record ignored, %s: %s", MessageOrigin.of(record), error)
                continue
            await self._publisher.reject(
                stage=f"cursors.{self._system}",
                error=error,
                payload=record.value,
                key=record.key,
                origin=MessageOrigin.of(record),
            )

    def get(self, key: str) -> str | None:
        return self._cursors.get(key)

    async def save(self, key: str, cursor: str) -> None:
        """Store ``cursor``; returns once the broker acknowledged it."""
        if self._producer is None:
            raise RuntimeError("CursorStore.start() was not called")
        if self._cursors.get(key) == cursor:
            return
        value = orjson.dumps({"cursor": cursor, "saved_at": datetime.now(UTC).isoformat()})
        async with self._saving:  # one transaction at a time on the producer
            await self._save(key, value)
        self._cursors[key] = cursor

    async def _save(self, key: str, value: bytes) -> None:
        assert self._producer is not None
        if self.owner is None:
            await self._producer.send_and_wait(self.topic, key=key.encode(), value=value)
        else:
            try:
                async with self._producer.transaction():
                    await self._producer.send(self.topic, key=key.encode(), value=value)
            except (ProducerFenced, InvalidProducerEpoch) as exc:
                raise CursorsTakenOver(self.owner) from exc
