"""The consume-handle-commit loop the normalizer and the sink runner share.

A record's offset is committed only after :meth:`ConsumingRunner.handle` returned for it and
everything it produced (changes, a result, a dead letter) was acknowledged: either ``handle``
awaited each acknowledgement, or it handed them over (:meth:`ConsumingRunner.awaiting`) and
the sends of a fetched batch are acknowledged together, before the batch is committed.
Whatever ``handle`` raises stops the loop with nothing committed past the record: a record
that cannot be handled is the handler's to dead-letter, so what reaches the loop is a
failure of the world (Kafka, the network, the peer) and the record is redone on restart.

A tombstone (a record without a value) is no message: the topics consumed are compacted,
and an erasure leaves tombstones there for the log cleaner. It is passed over.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from typing import Any, ClassVar

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition


class ConsumingRunner(ABC):
    """Consumes one topic in a consumer group with manual commits."""

    max_records: ClassVar[int] = 200
    """Records fetched at a time."""
    commit_each: ClassVar[bool] = False
    """Commit after every record (slow handlers: less redone after a crash) rather than
    after each fetched batch of a partition."""

    def __init__(
        self, topic: str, client_kwargs: dict[str, Any], group_id: str, **options: Any
    ) -> None:
        self._consumer = AIOKafkaConsumer(
            topic,
            **client_kwargs,
            group_id=group_id,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            **options,
        )
        self._unacknowledged: list[asyncio.Future[Any]] = []

    @abstractmethod
    async def handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Handle one record; return once what it produced was acknowledged, or handed
        over to :meth:`awaiting`."""

    def awaiting(self, acknowledgement: asyncio.Future[Any]) -> None:
        """A send's acknowledgement the current record's offset waits for."""
        self._unacknowledged.append(acknowledgement)

    async def _acknowledged(self) -> None:
        """Wait for every acknowledgement handed over (a failed send raises)."""
        pending, self._unacknowledged = self._unacknowledged, []
        if pending:
            await asyncio.gather(*pending)

    async def run(self, stop: asyncio.Event) -> None:
        await self._consumer.start()
        try:
            while not stop.is_set():
                batches = await self._consumer.getmany(timeout_ms=500, max_records=self.max_records)
                for tp, records in batches.items():
                    partition = TopicPartition(tp.topic, tp.partition)
                    for record in records:
                        if record.value is not None:
                            await self.handle(record)
                        if self.commit_each:
                            await self._acknowledged()
                            await self._consumer.commit({partition: record.offset + 1})
                    if not self.commit_each:
                        await self._acknowledged()
                        await self._consumer.commit({partition: records[-1].offset + 1})
        finally:
            await self._consumer.stop()
