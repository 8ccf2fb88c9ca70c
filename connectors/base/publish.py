"""Writing to Kafka from connectors: change events, results and dead letters.

Every send waits for the broker's acknowledgement (acks=all, idempotent producer) before
the caller moves a cursor or commits an offset past what was sent. A send that fails is an
infrastructure failure: it raises, and nothing is committed past it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaProducer

from q2c.core import metrics
from q2c.core.topics import Topics
from q2c.core.tracing import Headers, tracer, with_trace_headers
from schemas import CODEC, Contract, DeadLetter, MessageOrigin, RawChange
from schemas.keys import identity_key
from schemas.records import DEFAULT_MAX_PAYLOAD_BYTES

log = logging.getLogger(__name__)


def change_key(change: RawChange) -> bytes:
    """Changes of one record share a key, so they stay in order on one partition."""
    return f"{change.object}/{change.record_id}".encode()


class Publisher:
    """One acknowledged producer for a connector."""

    def __init__(
        self,
        client_kwargs: dict[str, Any],
        topics: Topics,
        max_dead_letter_payload: int = DEFAULT_MAX_PAYLOAD_BYTES,
    ) -> None:
        self.topics = topics
        self.max_dead_letter_payload = max_dead_letter_payload
        self._producer = AIOKafkaProducer(
            **client_kwargs, acks="all", enable_idempotence=True, linger_ms=5
        )

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(
        self, topic: str, key: bytes | None, message: Contract, headers: Headers | None = None
    ) -> None:
        await self.send_encoded(topic, key, CODEC.encode(message), headers)

    async def send_encoded(
        self, topic: str, key: bytes | None, value: bytes, headers: Headers | None = None
    ) -> None:
        await (await self.enqueue_encoded(topic, key, value, headers))

    async def enqueue_encoded(
        self, topic: str, key: bytes | None, value: bytes, headers: Headers | None = None
    ) -> asyncio.Future[Any]:
        """Send without waiting for the broker: the acknowledgement, for the caller to await
        before it commits past what it sent. Messages go out in the order they are enqueued."""
        ack: asyncio.Future[Any] = await self._producer.send(
            topic, key=key, value=value, headers=headers or []
        )
        return ack

    async def publish_changes(self, changes: Sequence[RawChange]) -> None:
        """Publish ``changes`` to their system's raw topic; returns when all are acknowledged.

        Each change starts its own trace: the poll is the first hop of the change's journey.
        """
        pending: list[asyncio.Future[Any]] = []
        for change in changes:
            with tracer.start_as_current_span(
                f"poll {change.system}",
                attributes={
                    "q2c.system": change.system,
                    "q2c.object": change.object,
                    "q2c.record_id": change.record_id,
                    "q2c.operation": str(change.operation),
                },
            ):
                pending.append(
                    await self._producer.send(
                        self.topics.raw(change.system),
                        key=change_key(change),
                        value=CODEC.encode(change),
                        headers=with_trace_headers(),
                    )
                )
        if pending:
            await asyncio.gather(*pending)
        _count_published(changes)

    async def dead_letter(self, letter: DeadLetter) -> None:
        log.warning(
            "dead letter from %s: %s", letter.stage, letter.reason, extra={"stage": letter.stage}
        )
        value = CODEC.encode(letter)
        key = identity_key(letter.stage, value).encode()
        await self.send_encoded(self.topics.dead_letter, key, value, with_trace_headers())
        metrics.DEAD_LETTERS.labels(letter.stage, letter.error_class).inc()

    async def reject(
        self,
        *,
        stage: str,
        error: BaseException,
        payload: bytes | None,
        origin: MessageOrigin | None,
        key: bytes | None = None,
        reason: str | None = None,
        attempts: int = 1,
    ) -> None:
        """Send what could not be processed to the dead-letter topic with the reason and
        where it was read."""
        await self.dead_letter(
            DeadLetter.of(
                payload=payload,
                error=error,
                stage=stage,
                failed_at=datetime.now(UTC),
                origin=origin,
                key=key,
                reason=reason,
                attempts=attempts,
                max_payload_bytes=self.max_dead_letter_payload,
            )
        )


_newest_seen: dict[tuple[str, str], float] = {}


def _count_published(changes: Sequence[RawChange]) -> None:
    """Acknowledged changes per stream, and the newest source time each stream has seen."""
    counts: dict[tuple[str, str], int] = {}
    newest: dict[tuple[str, str], float] = {}
    for change in changes:
        stream = (change.system, change.object)
        counts[stream] = counts.get(stream, 0) + 1
        newest[stream] = max(newest.get(stream, 0.0), change.source_ts.timestamp())
    for stream, count in counts.items():
        metrics.CHANGES_PUBLISHED.labels(*stream).inc(count)
        # A batch repeated after a restart, or a late record, must not turn the clock back.
        if newest[stream] > _newest_seen.get(stream, 0.0):
            _newest_seen[stream] = newest[stream]
            metrics.SOURCE_NEWEST_CHANGE.labels(*stream).set(newest[stream])
