"""`q2c dead-letters` on the real broker: letters listed and shown, one sent again to where it
came from (with its key and a header naming it), another resolved, one without an origin
refused with the reason."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from click.testing import CliRunner, Result

from q2c.cli import cli
from q2c.core.topics import Topics
from q2c.deadletters import RETRY_HEADER
from schemas import CODEC, DeadLetter, DecodeError, MessageOrigin
from tests.plugins.kafka import create_q2c_topics

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def _letters(topics: Topics) -> list[bytes]:
    origin = MessageOrigin(topic=topics.raw("bottlecrm"), partition=0, offset=17)
    mapped = DeadLetter.of(
        payload=b'{"id": 7, "name": "Acme", "lines": []}',
        error=ValueError("deal 7: line 1 has no product"),
        stage="normalize.bottlecrm",
        failed_at=AT,
        origin=origin,
        key=b"deal/7",
    )
    orphan = DeadLetter.of(
        payload=b"\xff\xfe",
        error=DecodeError("not valid JSON"),
        stage="streams.route",
        failed_at=AT.replace(hour=10),
    )
    refused = DeadLetter.of(
        payload=b'{"sku": "X-1"}',
        error=RuntimeError("the ERP refused the item:\nunit missing"),
        stage="sink.tryton",
        failed_at=AT.replace(hour=11),
        origin=MessageOrigin(topic=topics.commands("tryton"), partition=0, offset=3),
        key=b"item/X-1",
    )
    return [CODEC.encode(mapped), CODEC.encode(orphan), CODEC.encode(refused), b"garbage"]


def _run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["dead-letters", *args])


def _rows(result: Result) -> dict[str, str]:
    """The listed letters by id."""
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split()[:5] == ["ID", "WHEN", "(UTC)", "STAGE", "ERROR"]
    return {line.split()[0]: line for line in lines[1:]}


def test_dead_letters_are_listed_shown_retried_and_resolved(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topics = Topics(f"dl{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("Q2C_KAFKA__BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("Q2C_KAFKA__TOPIC_PREFIX", topics.prefix)
    asyncio.run(create_q2c_topics(kafka_bootstrap, topics, "bottlecrm", "tryton"))

    async def publish() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            for n, value in enumerate(_letters(topics)):
                # Keyed, as q2c keys its dead letters: the topic is compacted.
                key = f"test/{n}".encode()
                await producer.send_and_wait(topics.dead_letter, value=value, key=key, partition=0)
        finally:
            await producer.stop()

    asyncio.run(publish())

    listed = _rows(_run("list"))
    assert sorted(listed) == ["0:0", "0:1", "0:2", "0:3"]
    assert "normalize.bottlecrm" in listed["0:0"]
    assert "deal 7: line 1 has no product" in listed["0:0"]
    # A reason is cut to its first line; an unreadable message is listed, not skipped.
    assert listed["0:2"].endswith("the ERP refused the item:")
    assert "not a dead letter record" in listed["0:3"]
    assert sorted(_rows(_run("list", "--stage", "sink"))) == ["0:2"]
    assert sorted(_rows(_run("list", "--reason", "NO PRODUCT"))) == ["0:0"]
    assert sorted(_rows(_run("list", "--since", "2026-11-20T10:45:00"))) == ["0:2", "0:3"]

    shown = _run("show", "0:0")
    assert shown.exit_code == 0, shown.output
    assert f"origin:       {topics.raw('bottlecrm')} partition 0 offset 17" in shown.output
    assert '  "name": "Acme",' in shown.output  # the JSON payload, pretty-printed
    assert "payload (binary, base64):\n//4=" in _run("show", "0:1").output
    missing = _run("show", "0:99")
    assert missing.exit_code == 1
    assert "no dead letter 0:99" in missing.output

    refused = _run("retry", "0:1", "--by", "ops")
    assert refused.exit_code == 1
    assert "no origin" in refused.output
    assert "nowhere to send it again" in refused.output

    retried = _run("retry", "0:0", "--by", "ops")
    assert retried.exit_code == 0, retried.output
    assert f"0:0: sent again to {topics.raw('bottlecrm')}" in retried.output

    async def sent_again() -> tuple[bytes | None, bytes | None, list[tuple[str, bytes]]]:
        consumer = AIOKafkaConsumer(
            topics.raw("bottlecrm"),
            bootstrap_servers=kafka_bootstrap,
            auto_offset_reset="earliest",
        )
        await consumer.start()
        try:
            record = await asyncio.wait_for(consumer.getone(), 30)
        finally:
            await consumer.stop()
        return record.key, record.value, list(record.headers)

    key, value, headers = asyncio.run(sent_again())
    assert key == b"deal/7"
    assert value == b'{"id": 7, "name": "Acme", "lines": []}'
    assert (RETRY_HEADER, f"{topics.dead_letter}/0:0".encode()) in headers

    resolved = _run("resolve", "0:3", "--by", "ops", "--note", "written by a test tool")
    assert resolved.exit_code == 0, resolved.output

    assert sorted(_rows(_run("list"))) == ["0:1", "0:2"]
    every = _rows(_run("list", "--all"))
    assert "retried" in every["0:0"]
    assert "resolved" in every["0:3"]
    assert "open" in every["0:1"]
    show_retried = _run("show", "0:0").output
    assert "state:        retried" in show_retried
    assert "retried by ops at" in show_retried

    # --matching retries every open letter the filters admit and says which it could not.
    matching = _run("retry", "--matching", "--stage", "sink.tryton", "--by", "ops")
    assert matching.exit_code == 0, matching.output
    assert f"0:2: sent again to {topics.commands('tryton')}" in matching.output
    assert sorted(_rows(_run("list"))) == ["0:1"]
    rest = _run("retry", "--matching", "--by", "ops")
    assert rest.exit_code == 1
    assert "0:1: not retried" in rest.output


def test_reading_creates_no_topic_and_resolutions_are_compacted(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    topics = Topics(f"dl{uuid.uuid4().hex[:8]}")
    monkeypatch.setenv("Q2C_KAFKA__BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("Q2C_KAFKA__TOPIC_PREFIX", topics.prefix)
    empty = _run("list", "--all")
    assert empty.exit_code == 0, empty.output
    assert empty.output.strip() == "no dead letter"
    assert "there is no" in _run("show", "0:0").output

    async def existing() -> set[str]:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            return {t for t in await admin.list_topics() if t.startswith(topics.prefix)}
        finally:
            await admin.close()

    assert asyncio.run(existing()) == set()

    async def publish() -> None:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:  # only the dead-letter topic: resolving must make its own, compacted
            await admin.create_topics([NewTopic(topics.dead_letter, 1, 1)])
        finally:
            await admin.close()
        producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(topics.dead_letter, value=_letters(topics)[0])
        finally:
            await producer.stop()

    asyncio.run(publish())
    assert _run("resolve", "0:0", "--by", "ops", "--note", "done").exit_code == 0

    async def cleanup_policy() -> str:
        admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
        await admin.start()
        try:
            (response,) = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, topics.dead_letter_resolutions)]
            )
        finally:
            await admin.close()
        (resource,) = response.resources
        return next(str(c[1]) for c in resource[4] if c[0] == "cleanup.policy")

    assert asyncio.run(cleanup_policy()) == "compact"
