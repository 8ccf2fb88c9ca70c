"""Source cursors, stored in a compacted Kafka topic.

A cursor is written only after the broker acknowledged every event it covers, so a source
restarted at any moment resumes at or before the last change it published: it may publish a
change twice (absorbed downstream by fingerprint), never skip one.

One source per system owns its cursors. Given an ``owner``, the store writes them in Kafka
transactions under that transactional id: a second source started for the same system
fences the first (Kafka bumps the id's epoch), so the first cannot store another cursor and
stops, and the second reads the cursors only after that (committed writes only). Two
sources may briefly publish the same changes, never advance one cursor both.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import InvalidProducerEpoch, ProducerFenced

from connectors.base.errors import ConnectorError, ErrorKind
from q2c.kafka_admin import ensure_compacted


class CursorsTakenOver(ConnectorError):
    """Another source started with the same owner: this one must stop."""

    def __init__(self, owner: str) -> None:
        super().__init__(
            ErrorKind.FATAL, f"another source took over the cursors of {owner}; stopping"
        )


class CursorStore:
    """Cursors keyed by ``system/stream``; ``load`` reads the topic to its end."""

    def __init__(self, topic: str, client_kwargs: dict[str, Any], owner: str | None = None) -> None:
        self.topic = topic
        self.owner = owner
        self._client_kwargs = client_kwargs
        self._cursors: dict[str, str] = {}
        self._producer: AIOKafkaProducer | None = None

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

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def load(self) -> dict[str, str]:
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
                        if record.key is None:
                            continue
                        key = record.key.decode()
                        if record.value is None:
                            self._cursors.pop(key, None)
                        else:
                            self._cursors[key] = orjson.loads(record.value)["cursor"]
        finally:
            await consumer.stop()
        return dict(self._cursors)

    def get(self, key: str) -> str | None:
        return self._cursors.get(key)

    async def save(self, key: str, cursor: str) -> None:
        """Store ``cursor``; returns once the broker acknowledged it."""
        if self._producer is None:
            raise RuntimeError("CursorStore.start() was not called")
        if self._cursors.get(key) == cursor:
            return
        value = orjson.dumps({"cursor": cursor, "saved_at": datetime.now(UTC).isoformat()})
        if self.owner is None:
            await self._producer.send_and_wait(self.topic, key=key.encode(), value=value)
        else:
            try:
                async with self._producer.transaction():
                    await self._producer.send(self.topic, key=key.encode(), value=value)
            except (ProducerFenced, InvalidProducerEpoch) as exc:
                raise CursorsTakenOver(self.owner) from exc
        self._cursors[key] = cursor
