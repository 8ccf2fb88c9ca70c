"""The real Kafka broker under the integration tests: one per test session, unique topics
per test. The jars come from Maven Central through the same code as `q2c dev up`. Like
production clusters, it creates no topic on first use: tests create theirs (``topic_factory``
or :func:`q2c.core.kafka_admin.ensure_q2c_topics`).

A second broker, with a SASL_SSL listener only, serves the tests of Kafka security.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from connectors import registry
from q2c.core.kafka_admin import ensure_q2c_topics
from q2c.core.settings import KafkaSettings, Settings
from q2c.core.topics import Topics
from q2c.devstack.kafka import BrokerSecurity, KafkaBroker, ensure_jars

TopicFactory = Callable[..., Awaitable[str]]


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    settings = Settings()
    libs = ensure_jars(settings.dev.cache_dir, settings.dev.kafka_version)
    broker = KafkaBroker(libs=libs, data_dir=Path(tmp_path_factory.mktemp("kafka")))
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="module")
def kafka_sasl_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """A broker whose only client listener is SASL_SSL (SCRAM-SHA-512), with a certificate
    signed by a CA of its own; ``client_env()`` holds what q2c needs to log in."""
    settings = Settings()
    libs = ensure_jars(settings.dev.cache_dir, settings.dev.kafka_version)
    broker = KafkaBroker(
        libs=libs, data_dir=Path(tmp_path_factory.mktemp("kafka-sasl")), security=BrokerSecurity()
    )
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture(scope="session")
def kafka_bootstrap(kafka_broker: KafkaBroker) -> str:
    return kafka_broker.bootstrap


@pytest.fixture
async def topic_factory(kafka_bootstrap: str) -> AsyncIterator[TopicFactory]:
    """Creates topics with names unique to the test: ``await topic_factory("orders")``."""
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()

    async def create(
        name: str = "t", partitions: int = 1, config: dict[str, str] | None = None
    ) -> str:
        topic = f"test-{name}-{uuid.uuid4().hex[:10]}"
        await admin.create_topics(
            [
                NewTopic(
                    topic,
                    num_partitions=partitions,
                    replication_factor=1,
                    topic_configs=config or {},
                )
            ]
        )
        return topic

    try:
        yield create
    finally:
        await admin.close()


SYSTEMS: tuple[str, ...] = tuple(registry.systems())
"""Every system q2c has a connector for (from the connector specs)."""


async def create_q2c_topics(bootstrap: str, topics: Topics, *systems: str) -> Topics:
    """Every topic of the installation ``topics`` names, for ``systems``, as `q2c topics
    ensure` creates them (one partition each: tests read partition 0)."""
    kafka = KafkaSettings(bootstrap=bootstrap, topic_prefix=topics.prefix, partitions=1)
    await ensure_q2c_topics(Settings(kafka=kafka), systems)
    return topics
