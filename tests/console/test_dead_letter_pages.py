"""The console's dead-letter pages on a real broker: filtered listing, one letter in full,
retry (the message goes back where it came from) and resolve (name and note kept), each a
POST that redirects to a page saying what happened."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator
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
from q2c.deadletters import RETRY_HEADER, read_resolutions, read_topic
from schemas import CODEC, DeadLetter, MessageOrigin
from schemas.decisions import LetterAction
from streams.config import SyncConfig
from streams.web_guard import admin_guard
from tests.plugins.kafka import create_q2c_topics

pytestmark = pytest.mark.integration

TOKEN = secrets.token_urlsafe(24)
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def desk(
    kafka_bootstrap: str,
) -> AsyncIterator[tuple[TestClient[web.Request, web.Application], Topics]]:
    topics = await create_q2c_topics(
        kafka_bootstrap, Topics(f"letters{uuid.uuid4().hex[:8]}"), "bottlecrm", "tryton"
    )
    now = datetime.now(UTC)
    letters = [
        DeadLetter.of(
            payload=b'{"id": 7, "name": "<i>Acme</i>"}',
            error=ValueError("deal 7: line 1 has no product"),
            stage="normalize.bottlecrm",
            failed_at=now - timedelta(minutes=5),
            origin=MessageOrigin(topic=topics.raw("bottlecrm"), partition=0, offset=17),
            key=b"deal/7",
        ),
        DeadLetter.of(
            payload=b'{"sku": "X-1"}',
            error=RuntimeError("the ERP refused the item: unit missing"),
            stage="sink.tryton",
            failed_at=now - timedelta(minutes=1),
            origin=MessageOrigin(topic=topics.commands("tryton"), partition=0, offset=3),
            key=b"item/X-1",
        ),
    ]
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
    await producer.start()
    try:
        for n, letter in enumerate(letters):
            value, key = CODEC.encode(letter), f"test/{n}".encode()
            await producer.send_and_wait(topics.dead_letter, value, key=key, partition=0)
    finally:
        await producer.stop()
    kafka = KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=topics.prefix)
    app = web.Application(middlewares=[admin_guard(SecretStr(TOKEN))])
    install(app, Console(Settings(kafka=kafka), SyncConfig()), SecretStr(TOKEN))
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    yield client, topics
    await client.close()


async def test_letters_are_filtered_shown_retried_and_resolved(
    desk: tuple[TestClient[web.Request, web.Application], Topics], kafka_bootstrap: str
) -> None:
    client, topics = desk
    listing = await (await client.get("/q2c/console/dead-letters", headers=BEARER)).text()
    # Letters by their links: a letter's id ("0:0") can also be read in a time of day.
    assert "dead-letters/0:0" in listing
    assert "dead-letters/0:1" in listing
    sinks = await client.get("/q2c/console/dead-letters?stage=sink", headers=BEARER)
    text = await sinks.text()
    assert "dead-letters/0:1" in text
    assert "dead-letters/0:0" not in text
    overview = await (await client.get("/q2c/console/", headers=BEARER)).text()
    assert "<td>2</td><td>2</td>" in overview  # last hour, last day

    shown = await (await client.get("/q2c/console/dead-letters/0:0", headers=BEARER)).text()
    assert "deal 7: line 1 has no product" in shown
    assert "&lt;i&gt;Acme&lt;/i&gt;" in shown
    assert "<i>Acme</i>" not in shown

    nameless = await client.post(
        "/q2c/console/dead-letters/0:0/retry",
        data={"actor": " "},
        headers=BEARER,
        allow_redirects=False,
    )
    assert nameless.status == 303
    assert "note=error" in nameless.headers["Location"]
    retried = await client.post(
        "/q2c/console/dead-letters/0:0/retry", data={"actor": "ana"}, headers=BEARER
    )
    assert retried.status == 200  # followed the redirect to the letter's page
    assert str(retried.url.path) == "/q2c/console/dead-letters/0:0"
    assert f"sent again to {topics.raw('bottlecrm')} partition 0" in await retried.text()
    (resent,) = await read_topic({"bootstrap_servers": kafka_bootstrap}, topics.raw("bottlecrm"))
    assert resent.key == b"deal/7"
    assert dict(resent.headers)[RETRY_HEADER] == f"{topics.dead_letter}/0:0".encode()

    resolved = await client.post(
        "/q2c/console/dead-letters/0:1/resolve",
        data={"actor": "bo", "note": "unit added in Tryton"},
        headers=BEARER,
    )
    assert "dead letter 0:1: resolved by bo" in await resolved.text()
    handled = await read_resolutions({"bootstrap_servers": kafka_bootstrap}, topics)
    assert (handled["0:0"].action, handled["0:0"].actor) == (LetterAction.RETRIED, "ana")
    assert (handled["0:1"].action, handled["0:1"].actor, handled["0:1"].note) == (
        LetterAction.RESOLVED,
        "bo",
        "unit added in Tryton",
    )
    still_open = await (await client.get("/q2c/console/dead-letters", headers=BEARER)).text()
    assert "No dead letter matches." in still_open
    everything = await client.get("/q2c/console/dead-letters?all=1", headers=BEARER)
    text = await everything.text()
    assert "retried by ana" in text
    assert "resolved by bo" in text
    missing = await client.get("/q2c/console/dead-letters/0:99", headers=BEARER)
    assert missing.status == 404
