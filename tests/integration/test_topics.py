"""`q2c topics ensure` on the real broker: creates every topic with its configs, corrects the
configs of existing topics, keeps what an operator set besides, and is idempotent."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from click.testing import CliRunner

from q2c.cli import cli
from q2c.core.kafka_admin import ensure_q2c_topics
from q2c.core.settings import KafkaSettings, Settings
from q2c.core.topic_catalog import DAY_MS, q2c_topics
from tests.plugins.kafka import TopicFactory

pytestmark = pytest.mark.integration


async def _configs(bootstrap: str, topic: str) -> dict[str, str]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic)]
        )
    finally:
        await admin.close()
    (resource,) = response.to_object()["resources"]
    return {e["config_names"]: e["config_value"] for e in resource["config_entries"]}


async def _alter(bootstrap: str, topic: str, configs: dict[str, str]) -> None:
    """Set ``configs`` and wait until the broker describes them (they reach it after the
    controller answered)."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.alter_configs([ConfigResource(ConfigResourceType.TOPIC, topic, configs)])
    finally:
        await admin.close()
    async with asyncio.timeout(30):
        while True:
            if configs.items() <= (await _configs(bootstrap, topic)).items():
                return
            await asyncio.sleep(0.1)


async def _partitions(bootstrap: str, topic: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return len(description["partitions"])


async def test_topics_are_created_with_their_configs_and_corrected_later(
    kafka_bootstrap: str,
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    settings = Settings(kafka=KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=prefix))
    first = await ensure_q2c_topics(settings, ["tryton"])
    expected = {spec.name for spec in q2c_topics(settings.kafka, ["tryton"])}
    assert set(first.created) == expected
    assert await _partitions(kafka_bootstrap, f"{prefix}.changes") == 6
    assert await _partitions(kafka_bootstrap, f"{prefix}.cursors") == 1
    audit = await _configs(kafka_bootstrap, f"{prefix}.audit")
    assert audit["retention.ms"] == str(365 * DAY_MS)
    assert audit["cleanup.policy"] == "compact,delete"
    assert (await _configs(kafka_bootstrap, f"{prefix}.ref.items"))["cleanup.policy"] == "compact"

    # Someone shortened the dead letters' retention and tuned a setting q2c does not manage
    # (an alter that replaced the topic's own configs: its cleanup policy went too).
    dead = f"{prefix}.dead-letter"
    await _alter(kafka_bootstrap, dead, {"retention.ms": "60000", "segment.bytes": "10485760"})
    second = await ensure_q2c_topics(settings, ["tryton"])
    assert second.created == []
    assert second.altered == {
        dead: {
            "cleanup.policy": "compact,delete",
            "retention.ms": str(30 * DAY_MS),
            "min.compaction.lag.ms": str(72 * 60 * 60 * 1000),
        }
    }
    configs = await _configs(kafka_bootstrap, dead)
    assert configs["retention.ms"] == str(30 * DAY_MS)
    assert configs["segment.bytes"] == "10485760"

    third = await ensure_q2c_topics(settings, ["tryton"])
    assert (third.created, third.altered) == ([], {})
    assert set(third.unchanged) == expected


def test_the_cli_creates_the_topics_of_the_named_systems(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("Q2C_KAFKA__BOOTSTRAP", kafka_bootstrap)
    monkeypatch.setenv("Q2C_KAFKA__TOPIC_PREFIX", prefix)
    monkeypatch.setenv("Q2C_KAFKA__AUDIT_RETENTION_DAYS", "10")
    result = CliRunner().invoke(cli, ["topics", "ensure", "--system", "acme"])
    assert result.exit_code == 0, result.output
    assert f"created   {prefix}.raw.acme" in result.output
    assert f"created   {prefix}.commands.acme" in result.output
    assert result.output.splitlines()[-1] == "topics: 12 created, 0 altered, 0 unchanged"

    monkeypatch.setenv("Q2C_KAFKA__AUDIT_RETENTION_DAYS", "20")
    again = CliRunner().invoke(cli, ["topics", "ensure", "--system", "acme"])
    assert again.exit_code == 0, again.output
    assert f"altered   {prefix}.audit: retention.ms={20 * DAY_MS}" in again.output
    assert again.output.splitlines()[-1] == "topics: 0 created, 1 altered, 11 unchanged"


async def test_an_existing_topic_keeps_its_partitions_and_is_reported(
    kafka_bootstrap: str, topic_factory: TopicFactory
) -> None:
    del topic_factory  # the names below are the catalog's, made by hand to predate it
    prefix = f"t{uuid.uuid4().hex[:8]}"
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(f"{prefix}.control", 2, 1, topic_configs={"retention.ms": "3600000"})]
        )
    finally:
        await admin.close()
    settings = Settings(kafka=KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=prefix))
    done = await ensure_q2c_topics(settings, [])
    assert f"{prefix}.control" not in done.created
    assert done.fewer_partitions == {f"{prefix}.control": 2}
    assert await _partitions(kafka_bootstrap, f"{prefix}.control") == 2
    assert done.altered[f"{prefix}.control"]["retention.ms"] == str(7 * DAY_MS)


async def test_processes_starting_together_ensure_the_same_topics(kafka_bootstrap: str) -> None:
    prefix = f"t{uuid.uuid4().hex[:8]}"
    settings = Settings(kafka=KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=prefix))
    runs = await asyncio.gather(*(ensure_q2c_topics(settings, ["tryton"]) for _ in range(3)))
    expected = {spec.name for spec in q2c_topics(settings.kafka, ["tryton"])}
    created = [name for run in runs for name in run.created]
    assert sorted(created) == sorted(expected)  # each topic created once, by one of them
    for run in runs:
        assert set(run.created) | set(run.unchanged) | set(run.altered) == expected
