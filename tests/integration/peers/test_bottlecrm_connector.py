"""The whole BottleCRM connector as `q2c connector run bottlecrm` runs it, on the real
BottleCRM server and the real Kafka broker: webhook and scan → raw → normalize → canonical
changes, and commands → the sink → results."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from connectors.base.runtime import run_connector
from connectors.bottlecrm import BottleCrmClient
from connectors.bottlecrm.models import AccountInput, DealInput
from connectors.bottlecrm.spec import SPEC
from q2c.core.settings import Settings
from q2c.core.topics import Topics
from q2c.devstack import procs
from q2c.devstack.bottlecrm import OrgAccess
from schemas import (
    CODEC,
    CommandResult,
    Customer,
    EntityKind,
    ExternalIds,
    Operation,
    Outcome,
    ReportSyncStatus,
    SyncStatus,
    idempotency_key,
)
from schemas.changes import EntityChange
from tests.plugins.kafka import create_q2c_topics

pytestmark = pytest.mark.integration


async def test_connector_end_to_end(
    bottlecrm_org: OrgAccess,
    bottlecrm_client: BottleCrmClient,
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    crm = bottlecrm_client
    existing = await crm.create_account(AccountInput(name="Before Ltd"))
    port = procs.free_port()
    _, secret = await crm.register_webhook(
        f"http://127.0.0.1:{port}/bottlecrm/webhook", ["account.created", "account.updated"]
    )
    monkeypatch.setenv("Q2C_BOTTLECRM__WEBHOOK_PORT", str(port))
    monkeypatch.setenv("Q2C_BOTTLECRM__SCAN_INTERVAL", "300")  # one scan, at start
    recorded = {
        "url": bottlecrm_org.url,
        "token": bottlecrm_org.token.get_secret_value(),
        "webhook_secret": secret.get_secret_value(),
    }
    parts = await SPEC.build(Settings(), recorded)
    topics = Topics(prefix=f"test-{uuid.uuid4().hex[:10]}")
    await create_q2c_topics(kafka_bootstrap, topics, "bottlecrm")
    kwargs = {"bootstrap_servers": kafka_bootstrap}
    stop = asyncio.Event()
    running = asyncio.create_task(run_connector(parts, kwargs, topics, stop))
    changes = AIOKafkaConsumer(
        topics.changes, **kwargs, auto_offset_reset="earliest", enable_auto_commit=False
    )
    results = AIOKafkaConsumer(topics.results("bottlecrm"), **kwargs, auto_offset_reset="earliest")
    await changes.start()
    await results.start()

    async def customers(n: int) -> dict[str, EntityChange]:
        seen: dict[str, EntityChange] = {}
        async with asyncio.timeout(60):
            while len(seen) < n:
                for records in (await changes.getmany(timeout_ms=300)).values():
                    for record in records:
                        change = CODEC.decode_as(record.value or b"", EntityChange)
                        if isinstance(change.data, Customer):
                            seen[change.data.name] = change
        return seen

    try:
        # The first scan finds the account made before the connector started.
        scanned = await customers(1)
        assert scanned["Before Ltd"].ids == ExternalIds(crm_id=existing)

        # A new account arrives through the webhook, long before the next scan.
        created = await crm.create_account(AccountInput(name="Live Ltd"))
        live = (await customers(1))["Live Ltd"]
        assert (live.ids.crm_id, live.operation, live.origin_system) == (
            created,
            Operation.CREATE,
            "bottlecrm",
        )

        # A command addressed to BottleCRM is applied and its result published.
        deal_id = await crm.create_deal(DealInput(name="Live deal", account=created))
        command = ReportSyncStatus(
            idempotency_key=idempotency_key("e2e", deal_id),
            target_system="bottlecrm",
            issued_at=datetime.now(UTC),
            entity=EntityKind.QUOTE,
            record=ExternalIds(crm_id=deal_id),
            status=SyncStatus.WAITING,
            message="waiting for the customer to be approved",
        )
        producer = AIOKafkaProducer(**kwargs)
        await producer.start()
        await producer.send_and_wait(
            topics.commands("bottlecrm"), key=deal_id.encode(), value=CODEC.encode(command)
        )
        await producer.stop()
        async with asyncio.timeout(60):
            batch = await results.getone()
        result = CODEC.decode_as(batch.value or b"", CommandResult)
        assert (result.idempotency_key, result.outcome) == (
            command.idempotency_key,
            Outcome.UPDATED,
        )
        assert (await crm.get_deal(deal_id)).custom_fields["q2c_sync_status"] == "waiting"
    finally:
        stop.set()
        await asyncio.wait_for(running, 60)
        await changes.stop()
        await results.stop()
