"""The erasure's work on the topics, against the real broker (no worker, no peers): the
records of one customer get tombstones or redacted copies under their own keys, another
customer's records are left alone, the worker is sent one erase_record per record, and
asking again finds nothing left to do."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaProducer
from pydantic import SecretStr

from q2c.console.erasure_api import erase_route
from q2c.core.settings import KafkaSettings, Settings, WorkerSettings
from q2c.core.topics import Topics
from schemas import CODEC, DeadLetter, MessageOrigin
from schemas.changes import EntityChange, SystemRole
from schemas.decisions import EraseRecord
from schemas.entities import Customer, EntityKind, ExternalIds
from schemas.envelope import Operation
from streams.config import SyncConfig
from streams.erasure import UnknownCustomer, erase_customer, read_whole
from streams.rules.erasure import REDACTED
from streams.web_guard import admin_guard
from tests.plugins.kafka import create_q2c_topics

pytestmark = pytest.mark.integration

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)


def _customer(crm_id: str, erp_id: str, name: str, email: str) -> Customer:
    return Customer(
        ids=ExternalIds(crm_id=crm_id, erp_id=erp_id), name=name, email=email, updated_at=NOW
    )


def _change(customer: Customer) -> EntityChange:
    return EntityChange(
        entity=EntityKind.CUSTOMER,
        ids=customer.ids,
        origin_system="bottlecrm",
        origin_role=SystemRole.CRM,
        operation=Operation.UPDATE,
        source_ts=NOW,
        fingerprint="f" * 16,
        data=customer,
    )


async def test_a_customers_records_are_tombstoned_or_redacted_and_no_one_elses(
    kafka_bootstrap: str,
) -> None:
    topics = await create_q2c_topics(
        kafka_bootstrap, Topics(f"er{uuid.uuid4().hex[:8]}"), "bottlecrm", "tryton"
    )
    settings = Settings(
        kafka=KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=topics.prefix, partitions=1),
        worker=WorkerSettings(app_id=f"{topics.prefix}-app"),
    )
    gone = _customer("acc-1", "11", "Erasmus Gone Ltd", "erasmus@gone.example")
    kept = _customer("acc-2", "12", "Kept Forever Ltd", "kept@forever.example")
    raw_gone = b'{"object": "account", "record": {"name": "Erasmus Gone Ltd"}}'
    letter = DeadLetter.of(
        payload=CODEC.encode(_change(gone)),
        error=ValueError("bad"),
        stage="streams.sync",
        failed_at=NOW,
        origin=MessageOrigin(topic=topics.changes, partition=0, offset=0),
        reason="email erasmus@gone.example is refused",
    )
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for c in (gone, kept):
            await producer.send_and_wait(
                topics.reference("customers"), CODEC.encode(c), key=str(c.ids.crm_id).encode()
            )
            await producer.send_and_wait(
                topics.changes, CODEC.encode(_change(c)), key=f"customer:{c.ids.crm_id}".encode()
            )
        await producer.send_and_wait(topics.raw("bottlecrm"), raw_gone, key=b"account/acc-1")
        await producer.send_and_wait(
            topics.dead_letter, CODEC.encode(letter), key=b"streams.sync/abc"
        )
    finally:
        await producer.stop()

    report = await erase_customer(
        settings, SyncConfig(), ExternalIds(crm_id="acc-1"), "dpo", [SystemRole.CRM]
    )
    assert report.customer == gone.ids
    assert report.records == ["customer:acc-1", "customer:erp:11", "ledger:11"]
    assert report.tombstoned == {
        topics.changes: 1,
        topics.reference("customers"): 1,
        topics.raw("bottlecrm"): 1,
    }
    assert report.redacted == {topics.dead_letter: 1}

    control = [
        CODEC.decode_as(r.value or b"", EraseRecord)
        for r in await read_whole(settings.kafka.client_kwargs(), [topics.control])
    ]
    assert [(e.key, e.anonymise) for e in control] == [
        ("customer:acc-1", [SystemRole.CRM]),
        ("customer:erp:11", [SystemRole.CRM]),
        ("ledger:11", []),
    ]
    records = await read_whole(
        settings.kafka.client_kwargs(),
        [
            topics.changes,
            topics.reference("customers"),
            topics.raw("bottlecrm"),
            topics.dead_letter,
        ],
    )
    last = {(r.topic, r.key): r.value for r in records}
    assert last[(topics.changes, b"customer:acc-1")] is None
    assert last[(topics.reference("customers"), b"acc-1")] is None
    assert last[(topics.raw("bottlecrm"), b"account/acc-1")] is None
    assert last[(topics.changes, b"customer:acc-2")] is not None  # another customer's
    redacted = CODEC.decode_as(last[(topics.dead_letter, b"streams.sync/abc")] or b"", DeadLetter)
    assert (redacted.payload_text, redacted.origin) == (REDACTED, letter.origin)
    assert redacted.reason == f"email {REDACTED} is refused"

    # Asked again: everything of the customer's already ends in a tombstone or a copy.
    again = await erase_customer(settings, SyncConfig(), ExternalIds(crm_id="acc-1"), "dpo", [])
    assert (again.tombstoned, again.redacted) == ({}, {})
    with pytest.raises(UnknownCustomer):
        await erase_customer(settings, SyncConfig(), ExternalIds(crm_id="nobody"), "dpo", [])

    # The same through the admin API.
    app = web.Application(middlewares=[admin_guard(SecretStr("t"))])
    app.router.add_routes([erase_route(settings, SyncConfig())])
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        bearer = {"Authorization": "Bearer t"}
        reply = await client.post("/admin/erase/customer/11?system=erp", headers=bearer)
        assert reply.status == 200
        body = await reply.json()
        assert body["customer"] == {"crm_id": "acc-1", "erp_id": "11"}
        assert (body["tombstoned"], body["redacted"]) == ({}, {})
        unknown = await client.post("/admin/erase/customer/nobody", headers=bearer)
        assert unknown.status == 404
        assert (await unknown.json())["error"] == "q2c holds no record of customer CRM nobody"
    finally:
        await client.close()
