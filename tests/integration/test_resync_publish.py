"""What a resync sends, on the real broker: the record read, on its system's raw topic, under
its usual key and a fingerprint of its own; records the read did not find are reported."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer

from connectors.bottlecrm.source import change_of
from q2c.core.settings import Settings
from q2c.core.topics import Topics
from q2c.reconcile import SystemRead
from q2c.resync import resend
from schemas import CODEC, Operation, RawChange
from schemas.changes import SystemRole
from schemas.entities import EntityKind
from streams.rules.reconcile import Resync, Snapshot
from tests.plugins.kafka import create_q2c_topics

pytestmark = pytest.mark.integration

SEEN = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)


async def test_resent_records_reach_the_raw_topic_as_new_changes(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"rs{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("Q2C_KAFKA__BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("Q2C_KAFKA__TOPIC_PREFIX", prefix)
    settings = Settings()
    await create_q2c_topics(kafka_bootstrap, Topics(prefix), "bottlecrm")
    deal = change_of(
        "deal", "d-1", Operation.UPDATE, {"id": "d-1", "name": "Deal"}, SEEN, "scan@t", SEEN
    )
    read = SystemRead(
        "bottlecrm",
        Snapshot(customers=[], items=[], quotes=[], orders=[]),
        {(EntityKind.QUOTE, "d-1"): deal},
    )
    wanted = [
        Resync(SystemRole.CRM, EntityKind.QUOTE, "d-1"),
        Resync(SystemRole.CRM, EntityKind.CUSTOMER, "acc-9"),
    ]

    repairs = await resend(settings, {SystemRole.CRM: read}, wanted)
    assert [c.record_id for c in repairs.sent] == ["d-1"]
    assert list(repairs.not_found) == [wanted[1]]

    consumer = AIOKafkaConsumer(
        f"{prefix}.raw.bottlecrm", bootstrap_servers=kafka_bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        record = await asyncio.wait_for(consumer.getone(), 30)
    finally:
        await consumer.stop()
    assert record.key == b"deal/d-1"
    sent = CODEC.decode_as(record.value or b"", RawChange)
    assert sent.record == deal.record
    assert sent.fingerprint == repairs.sent[0].fingerprint != deal.fingerprint
    assert sent.cursor.startswith("resync@")
