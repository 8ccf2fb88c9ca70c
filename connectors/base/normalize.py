"""normalize: raw change events of one system → canonical entity changes.

A record that cannot be mapped goes to the dead-letter topic with the reason; when it came
from the CRM, the CRM record is also told why it did not sync (a ``report_sync_status``
command on the CRM's own command topic). Offsets are committed only after what a record
produced was acknowledged.
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
    RawChange,
    ReportSyncStatus,
    SyncStatus,
    idempotency_key,
)
from schemas.changes import EntityChange

log = logging.getLogger(__name__)


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
        try:
            raw = CODEC.decode_as(record.value or b"", RawChange)
        except DecodeError as exc:
            await self.publisher.reject(
                stage=self.stage, error=exc, payload=record.value, key=record.key
            )
            return
        with span_from_headers(
            f"normalize {raw.system}",
            record.headers,
            {"q2c.object": raw.object, "q2c.record_id": raw.record_id},
        ):
            try:
                changes = self.mapper.to_canonical(raw)
            except (MappingError, ValueError) as exc:
                reason = exc.reason if isinstance(exc, MappingError) else str(exc)
                await self.publisher.reject(
                    stage=self.stage,
                    error=exc,
                    payload=record.value,
                    key=record.key,
                    reason=f"{raw.object} {raw.record_id}: {reason}",
                )
                await self._report_to_crm(raw, reason)
                return
            headers = with_trace_headers()
            for change in changes:
                await self.publisher.send(self.topics.changes, change_key(change), change, headers)

    async def _report_to_crm(self, raw: RawChange, reason: str) -> None:
        target = self.mapper.report_target(raw)
        if target is None:
            return
        entity, ids = target
        command = ReportSyncStatus(
            idempotency_key=idempotency_key(
                "report_sync_status", raw.system, raw.record_id, raw.fingerprint
            ),
            target_system=raw.system,
            issued_at=datetime.now(UTC),
            caused_by=raw.fingerprint,
            entity=entity,
            record=ids,
            status=SyncStatus.REJECTED,
            message=f"not synced: {reason}",
        )
        key = f"{entity}/{ids.crm_id or ids.erp_id}".encode()
        await self.publisher.send(
            self.topics.commands(raw.system), key, command, with_trace_headers()
        )
