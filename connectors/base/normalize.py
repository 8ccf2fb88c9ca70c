"""normalize: raw change events of one system → canonical entity changes.

A record that cannot be decoded or mapped goes to the dead-letter topic with the reason
(whatever the pure mapping raised: a record is never worth stopping the normalizer for);
when it came from the CRM, the CRM record is also told why it did not sync (a
``report_sync_status`` command on the CRM's own command topic). Offsets are committed only
after what a record produced was acknowledged.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition

from connectors.base.mapping import Mapper, MappingError
from connectors.base.publish import Publisher
from q2c.tracing import span_from_headers, with_trace_headers
from schemas import (
    CODEC,
    DecodeError,
    MessageOrigin,
    RawChange,
    ReportSyncStatus,
    SyncStatus,
    idempotency_key,
)
from schemas.changes import EntityChange

log = logging.getLogger(__name__)
_MAX_STATUS = 500


def change_key(change: EntityChange) -> bytes:
    return f"{change.entity}/{change.origin_system}/{change.origin_id}".encode()


class Normalizer:
    def __init__(
        self,
        mapper: Mapper,
        publisher: Publisher,
        client_kwargs: dict[str, Any],
        group_id: str | None = None,
    ) -> None:
        self.mapper = mapper
        self.publisher = publisher
        self.topics = publisher.topics
        self._consumer = AIOKafkaConsumer(
            self.topics.raw(mapper.system),
            **client_kwargs,
            group_id=group_id or f"{self.topics.prefix}-normalize-{mapper.system}",
            enable_auto_commit=False,
            auto_offset_reset="earliest",
        )

    @property
    def stage(self) -> str:
        return f"normalize.{self.mapper.system}"

    async def run(self, stop: asyncio.Event) -> None:
        await self._consumer.start()
        try:
            while not stop.is_set():
                batches = await self._consumer.getmany(timeout_ms=500, max_records=200)
                for tp, records in batches.items():
                    for record in records:
                        await self.handle(record)
                    last = records[-1].offset + 1
                    await self._consumer.commit({TopicPartition(tp.topic, tp.partition): last})
        finally:
            await self._consumer.stop()

    async def handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Map one raw record and publish its changes. Decoding and mapping are pure: any
        exception they raise is a property of the record (dead letter, move on); a failed
        send is not, and raises with nothing committed."""
        origin = MessageOrigin.of(record)
        try:
            raw = CODEC.decode_as(record.value or b"", RawChange)
        except DecodeError as exc:
            await self.publisher.reject(
                stage=self.stage, error=exc, payload=record.value, key=record.key, origin=origin
            )
            return
        with span_from_headers(
            f"normalize {raw.system}",
            record.headers,
            {"q2c.object": raw.object, "q2c.record_id": raw.record_id},
        ):
            try:
                changes = [
                    (change_key(change), CODEC.encode(change))
                    for change in self.mapper.to_canonical(raw)
                ]
            except Exception as exc:  # pure code: what it raises is the record's fault
                reason = mapping_reason(exc)
                await self.publisher.reject(
                    stage=self.stage,
                    error=exc,
                    payload=record.value,
                    key=record.key,
                    origin=origin,
                    reason=f"{raw.object} {raw.record_id}: {reason}",
                )
                await self._report_to_crm(raw, reason)
                return
            headers = with_trace_headers()
            for key, value in changes:
                await self.publisher.send_encoded(self.topics.changes, key, value, headers)

    async def _report_to_crm(self, raw: RawChange, reason: str) -> None:
        try:
            command = self._sync_status(raw, reason)
        except Exception as exc:  # the dead letter already says why
            log.warning(
                "%s: no sync status for %s %s: %s", self.stage, raw.object, raw.record_id, exc
            )
            return
        if command is None:
            return
        key = f"{command.entity}/{command.record.crm_id or command.record.erp_id}".encode()
        await self.publisher.send(
            self.topics.commands(raw.system), key, command, with_trace_headers()
        )

    def _sync_status(self, raw: RawChange, reason: str) -> ReportSyncStatus | None:
        """The command telling the CRM record why it did not sync (None: not a CRM record)."""
        target = self.mapper.report_target(raw)
        if target is None:
            return None
        entity, ids = target
        return ReportSyncStatus(
            idempotency_key=idempotency_key(
                "report_sync_status", raw.system, raw.record_id, raw.fingerprint
            ),
            target_system=raw.system,
            issued_at=datetime.now(UTC),
            caused_by=raw.fingerprint,
            entity=entity,
            record=ids,
            status=SyncStatus.REJECTED,
            message=f"not synced: {reason}"[:_MAX_STATUS],
        )


def mapping_reason(exc: Exception) -> str:
    """A mapping failure in words: a MappingError says it itself; anything else the
    mapper tripped over is named with its class (``InvalidOperation``, ``KeyError``)."""
    if isinstance(exc, MappingError):
        return exc.reason
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
