"""normalize: raw change events of one system → canonical entity changes.

A record that cannot be decoded or mapped goes to the dead-letter topic with the reason
(whatever the pure mapping raised: a record is never worth stopping the normalizer for);
when it came from the CRM, the CRM record is also told why it did not sync (a
``report_sync_status`` command on the CRM's own command topic). Offsets are committed only
after what a record produced was acknowledged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar

from aiokafka import ConsumerRecord

from connectors.base.consume import ConsumingRunner
from connectors.base.mapping import Mapper, MappingError
from connectors.base.publish import Publisher
from q2c.core import metrics
from q2c.core.tracing import span_from_headers, with_trace_headers
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
from schemas.keys import key_of_change

log = logging.getLogger(__name__)
_MAX_STATUS = 500


def change_key(change: EntityChange) -> bytes:
    """The record the change concerns: the sync reads it in place, without re-keying it."""
    return key_of_change(change).encode()


class Normalizer(ConsumingRunner):
    max_records: ClassVar[int] = 200

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
        self._normalized = metrics.CHANGES_NORMALIZED.labels(mapper.system)
        super().__init__(
            self.topics.raw(mapper.system),
            client_kwargs,
            group_id or f"{self.topics.prefix}-normalize-{mapper.system}",
        )

    @property
    def stage(self) -> str:
        return f"normalize.{self.mapper.system}"

    async def handle(self, record: ConsumerRecord[bytes, bytes]) -> None:
        """Map one raw record and publish its changes; a record that cannot be read or
        mapped is dead-lettered. Its changes are sent without waiting for each: the batch
        they are part of is committed once all are acknowledged (a failed send raises, with
        nothing committed past the batch before it)."""
        origin = MessageOrigin.of(record)
        result = normalize(self.mapper, record.value)
        if result.raw is None:
            await self.publisher.reject(
                stage=self.stage,
                error=result.error or DecodeError(result.reason),
                payload=record.value,
                key=record.key,
                origin=origin,
            )
            return
        raw = result.raw
        with span_from_headers(
            f"normalize {raw.system}",
            record.headers,
            {"q2c.object": raw.object, "q2c.record_id": raw.record_id},
        ):
            if result.error is not None:
                await self.publisher.reject(
                    stage=self.stage,
                    error=result.error,
                    payload=record.value,
                    key=record.key,
                    origin=origin,
                    reason=f"{raw.object} {raw.record_id}: {result.reason}",
                )
                await self._report_to_crm(raw, result.reason)
                return
            headers = with_trace_headers()
            for key, value in result.changes:
                self.awaiting(
                    await self.publisher.enqueue_encoded(self.topics.changes, key, value, headers)
                )
        self._normalized.inc()

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


@dataclass(frozen=True)
class Normalized:
    """What one raw record becomes: its changes, encoded with their keys, or why not.

    ``raw`` is None when the record is not a raw change at all."""

    raw: RawChange | None
    changes: list[tuple[bytes, bytes]] = field(default_factory=list)
    error: Exception | None = None
    reason: str = ""


def normalize(mapper: Mapper, value: bytes | None) -> Normalized:
    """Decode and map one raw record. Pure: never raises, whatever the bytes."""
    try:
        raw = CODEC.decode_as(value or b"", RawChange)
    except DecodeError as exc:
        return Normalized(None, error=exc, reason=str(exc))
    try:
        changes = [(change_key(c), CODEC.encode(c)) for c in mapper.canonical(raw)]
    except MappingError as exc:
        return Normalized(raw, error=exc, reason=exc.reason)
    except Exception as exc:  # e.g. EncodeError: a change that cannot be written as JSON
        text = str(exc)[:500]
        return Normalized(raw, error=exc, reason=f"{type(exc).__name__}: {text}")
    return Normalized(raw, changes)
