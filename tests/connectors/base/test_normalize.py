"""normalize on the real broker: mapped records become canonical changes; a record that
cannot be mapped goes to the dead-letter topic and its CRM record is told why."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import ClassVar

import pytest
from aiokafka import AIOKafkaConsumer

from connectors.base import Publisher
from connectors.base.mapping import Mapper, MappingError
from connectors.base.normalize import Normalizer
from q2c.core.topics import Topics
from schemas import (
    CODEC,
    Customer,
    DeadLetter,
    EntityKind,
    ExternalIds,
    Operation,
    RawChange,
    ReportSyncStatus,
    SyncStatus,
)
from schemas.changes import EntityChange, SystemRole
from tests.plugins.kafka import create_q2c_topics

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class AccountMapper(Mapper):
    system: ClassVar[str] = "memcrm"
    role: ClassVar[SystemRole] = SystemRole.CRM

    def to_canonical(self, change: RawChange) -> Sequence[EntityChange]:
        name = change.record.get("name")
        if not isinstance(name, str) or not name:
            raise MappingError("the account has no name", field="name")
        ids = ExternalIds(crm_id=change.record_id)
        return [
            EntityChange(
                entity=EntityKind.CUSTOMER,
                ids=ids,
                origin_system=self.system,
                origin_role=self.role,
                operation=change.operation,
                source_ts=change.source_ts,
                fingerprint=change.fingerprint,
                data=Customer(ids=ids, name=name, updated_at=change.source_ts),
            )
        ]

    def report_target(self, change: RawChange) -> tuple[EntityKind, ExternalIds] | None:
        return EntityKind.CUSTOMER, ExternalIds(crm_id=change.record_id)


def raw(record_id: str, record: dict[str, str]) -> RawChange:
    return RawChange.of(
        system="memcrm",
        object="account",
        record_id=record_id,
        operation=Operation.UPDATE,
        source_ts=NOW,
        cursor=record_id,
        record=record,
        observed_at=NOW,
    )


async def read(bootstrap: str, topic: str, n: int) -> list[bytes]:
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    out: list[bytes] = []
    try:
        async with asyncio.timeout(60):
            while len(out) < n:
                for records in (await consumer.getmany(timeout_ms=300)).values():
                    out.extend(r.value for r in records if r.value is not None)
    finally:
        await consumer.stop()
    return out


async def test_records_are_mapped_and_unmappable_ones_are_reported(kafka_bootstrap: str) -> None:
    kwargs = {"bootstrap_servers": kafka_bootstrap}
    topics = Topics(prefix=f"test-{uuid.uuid4().hex[:10]}")
    await create_q2c_topics(kafka_bootstrap, topics, "memcrm")
    publisher = Publisher(kwargs, topics)
    await publisher.start()
    await publisher.publish_changes([raw("a1", {"name": "Acme"}), raw("a2", {"name": ""})])
    stop = asyncio.Event()
    task = asyncio.create_task(Normalizer(AccountMapper(), publisher, kwargs).run(stop))
    try:
        (mapped,) = [
            CODEC.decode_as(v, EntityChange) for v in await read(kafka_bootstrap, topics.changes, 1)
        ]
        (letter,) = [
            CODEC.decode_as(v, DeadLetter)
            for v in await read(kafka_bootstrap, topics.dead_letter, 1)
        ]
        (report,) = [
            CODEC.decode_as(v, ReportSyncStatus)
            for v in await read(kafka_bootstrap, topics.commands("memcrm"), 1)
        ]
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
        await publisher.stop()

    assert isinstance(mapped.data, Customer)
    assert mapped.data.name == "Acme"
    assert mapped.origin_id == "a1"
    assert letter.stage == "normalize.memcrm"
    assert "a2: the account has no name" in letter.reason
    assert report.record == ExternalIds(crm_id="a2")
    assert report.status is SyncStatus.REJECTED
    assert "the account has no name" in report.message
