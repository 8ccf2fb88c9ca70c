"""The overview's sync figures on a real broker: results the sinks published on both results
topics within the last day are counted and their latency shown; a result the broker stamped
before that is not read at all."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from aiokafka import AIOKafkaProducer
from pydantic import SecretStr

from q2c.console.routes import install
from q2c.console.service import Console
from q2c.core.settings import KafkaSettings, Settings
from q2c.core.topics import Topics
from schemas import CODEC
from schemas.commands import CommandResult, Outcome
from schemas.entities import EntityKind
from streams.config import SyncConfig
from streams.web_guard import admin_guard
from tests.plugins.kafka import create_q2c_topics

pytestmark = pytest.mark.integration

TOKEN = secrets.token_urlsafe(24)
BEARER = {"Authorization": f"Bearer {TOKEN}"}


def _result(
    n: int, system: str, done: datetime, outcome: Outcome, latency: float | None
) -> CommandResult:
    return CommandResult(
        idempotency_key=f"result-{n}",
        command="upsert_customer",
        target_system=system,
        entity=EntityKind.CUSTOMER,
        outcome=outcome,
        completed_at=done,
        source_ts=None if latency is None else done - timedelta(seconds=latency),
    )


async def test_the_overview_shows_error_rate_and_latency_of_the_last_hour_and_day(
    kafka_bootstrap: str,
) -> None:
    topics = await create_q2c_topics(
        kafka_bootstrap, Topics(f"sync{uuid.uuid4().hex[:8]}"), "bottlecrm", "tryton"
    )
    now = datetime.now(UTC)
    two_days_ago = int((now - timedelta(days=2)).timestamp() * 1000)
    erp, crm = topics.results("tryton"), topics.results("bottlecrm")
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        # Stamped two days ago by its producer: before the day read, so never counted,
        # though it claims to have completed a minute ago.
        stale = _result(0, "tryton", now - timedelta(minutes=1), Outcome.FAILED, 900.0)
        await producer.send_and_wait(
            erp, CODEC.encode(stale), key=b"customer:0", timestamp_ms=two_days_ago
        )
        sent = [
            (erp, _result(1, "tryton", now - timedelta(minutes=2), Outcome.CREATED, 4.0)),
            (erp, _result(2, "tryton", now - timedelta(minutes=3), Outcome.FAILED, None)),
            (crm, _result(3, "bottlecrm", now - timedelta(minutes=4), Outcome.UPDATED, 8.0)),
            (crm, _result(4, "bottlecrm", now - timedelta(hours=5), Outcome.FAILED, 60.0)),
        ]
        for n, (topic, result) in enumerate(sent, 1):
            await producer.send_and_wait(topic, CODEC.encode(result), key=f"customer:{n}".encode())
    finally:
        await producer.stop()

    kafka = KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=topics.prefix)
    app = web.Application(middlewares=[admin_guard(SecretStr(TOKEN))])
    install(app, Console(Settings(kafka=kafka), SyncConfig()), SecretStr(TOKEN))
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        page = await (await client.get("/q2c/console/", headers=BEARER)).text()
    finally:
        await client.close()
    # Window, results, failed, error rate, p50, p95.
    assert (
        "<td>Last hour</td><td>3</td><td>1</td><td>33.3%</td><td>4.0 s</td><td>8.0 s</td>" in page
    )
    assert (
        "<td>Last day</td><td>4</td><td>2</td><td>50.0%</td><td>8.0 s</td><td>60.0 s</td>" in page
    )
