"""Topic administration shared by connectors and streams."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import TopicAlreadyExistsError, UnknownTopicOrPartitionError, for_code

from q2c.core.settings import Settings
from q2c.core.topic_catalog import TopicSpec, config_changes, q2c_topics

log = logging.getLogger(__name__)

# DescribeConfigs' config_source for a value set on the topic itself (not a default).
_DYNAMIC_TOPIC_CONFIG = 1
_PROPAGATION_SECONDS = 30.0


@dataclass
class EnsuredTopics:
    """What :func:`ensure_q2c_topics` did, topic by topic."""

    created: list[str] = field(default_factory=list)
    altered: dict[str, dict[str, str]] = field(default_factory=dict)
    unchanged: list[str] = field(default_factory=list)
    fewer_partitions: dict[str, int] = field(default_factory=dict)


async def ensure_q2c_topics(settings: Settings, systems: Iterable[str]) -> EnsuredTopics:
    """Create every topic q2c uses for ``systems`` (see :mod:`q2c.core.topic_catalog`) and give
    existing ones the catalog's configs where theirs differ. Idempotent: running it again
    changes nothing. Partition counts of existing topics are never changed (that would move
    keys to other partitions and break their order); fewer than configured is reported."""
    specs = q2c_topics(settings.kafka, systems)
    done = EnsuredTopics()
    admin = AIOKafkaAdminClient(**settings.kafka.client_kwargs())
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [s for s in specs if s.name not in existing]
        if missing:
            done.created = await _create(admin, missing)
        # Those that existed, and those another process created meanwhile.
        present = [s for s in specs if s.name not in done.created]
        if present:
            await _align(admin, present, done)
    finally:
        await admin.close()
    for name, partitions in done.fewer_partitions.items():
        log.warning("topic %s has %d partitions, fewer than configured", name, partitions)
    return done


async def _create(admin: AIOKafkaAdminClient, specs: list[TopicSpec]) -> list[str]:
    """Create ``specs``; the names created (one created meanwhile by another process is not)."""
    response = await admin.create_topics(
        [
            NewTopic(s.name, s.partitions, s.replication, topic_configs=dict(s.configs))
            for s in specs
        ]
    )
    created = []
    for name, code, message in response.topic_errors:
        if code == 0:
            created.append(name)
        elif code != TopicAlreadyExistsError.errno:
            raise for_code(code)(f"cannot create topic {name}: {message}")
    return created


async def _align(admin: AIOKafkaAdminClient, specs: list[TopicSpec], done: EnsuredTopics) -> None:
    pending = {s.name: s for s in specs}
    # A topic another process has just created may not have reached the broker that
    # answers yet: ask again for those until they show up.
    deadline = time.monotonic() + _PROPAGATION_SECONDS
    while True:
        described, unknown = await _topic_configs(admin, list(pending))
        for name, (current, own) in described.items():
            changes = config_changes(pending.pop(name), current)
            if not changes:
                done.unchanged.append(name)
                continue
            # AlterConfigs replaces every value set on the topic: keep the ones set before.
            await _alter(admin, name, {**own, **changes})
            done.altered[name] = changes
        if not unknown:
            break
        if time.monotonic() > deadline:
            raise UnknownTopicOrPartitionError(f"no broker describes the topics {unknown}")
        await asyncio.sleep(0.2)
    for description in await admin.describe_topics([s.name for s in specs]):
        partitions = len(description.get("partitions") or [])
        wanted = next(s.partitions for s in specs if s.name == description["topic"])
        if 0 < partitions < wanted:
            done.fewer_partitions[description["topic"]] = partitions


async def _topic_configs(
    admin: AIOKafkaAdminClient, names: list[str]
) -> tuple[dict[str, tuple[dict[str, str], dict[str, str]]], list[str]]:
    """Per topic, (every config value, the values set on the topic itself); and the topics
    the broker does not know yet."""
    described: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
    unknown: list[str] = []
    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
    )
    for response in responses:
        for resource in response.to_object()["resources"]:
            name = resource["resource_name"]
            if resource["error_code"] == UnknownTopicOrPartitionError.errno:
                unknown.append(name)
                continue
            if resource["error_code"]:
                raise for_code(resource["error_code"])(
                    f"cannot read the configs of topic {name}: {resource['error_message']}"
                )
            entries = resource["config_entries"]
            described[name] = (
                {e["config_names"]: e["config_value"] for e in entries},
                {
                    e["config_names"]: e["config_value"]
                    for e in entries
                    if e["config_source"] == _DYNAMIC_TOPIC_CONFIG
                },
            )
    return described, unknown


async def _alter(admin: AIOKafkaAdminClient, name: str, configs: dict[str, str]) -> None:
    (response, *_) = await admin.alter_configs(
        [ConfigResource(ConfigResourceType.TOPIC, name, configs=configs)]
    )
    for resource in response.to_object()["resources"]:
        if resource["error_code"]:
            raise for_code(resource["error_code"])(
                f"cannot change the configs of topic {name}: {resource['error_message']}"
            )


async def ensure_compacted(
    client_kwargs: dict[str, Any], *topics: str, replication: int = 1
) -> None:
    """Create ``topics`` as single-partition compacted topics unless they exist."""
    admin = AIOKafkaAdminClient(**client_kwargs)
    await admin.start()
    try:
        for topic in topics:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(
                    [NewTopic(topic, 1, replication, topic_configs={"cleanup.policy": "compact"})]
                )
    finally:
        await admin.close()


async def ensure_topics(
    client_kwargs: dict[str, Any], topics: dict[str, int], replication: int = 1
) -> None:
    """Create each topic with its partition count unless it exists (existing ones are kept)."""
    admin = AIOKafkaAdminClient(**client_kwargs)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [
            NewTopic(name, partitions, replication)
            for name, partitions in topics.items()
            if name not in existing
        ]
        if missing:
            with contextlib.suppress(TopicAlreadyExistsError):
                await admin.create_topics(missing)
    finally:
        await admin.close()


async def partitions_of(client_kwargs: dict[str, Any], topic: str) -> list[int]:
    """The partition ids of ``topic`` (empty when it does not exist)."""
    admin = AIOKafkaAdminClient(**client_kwargs)
    await admin.start()
    try:
        (description,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    if description.get("error_code"):
        return []
    return sorted(int(p["partition"]) for p in description["partitions"])


async def group_lags(client_kwargs: dict[str, Any], prefix: str) -> dict[str, dict[str, int]]:
    """For every consumer group whose name starts with ``prefix``: messages not yet
    processed, per topic (end offset minus committed offset, summed over partitions)."""
    from aiokafka import AIOKafkaConsumer

    admin = AIOKafkaAdminClient(**client_kwargs)
    await admin.start()
    consumer = AIOKafkaConsumer(**client_kwargs, enable_auto_commit=False)
    await consumer.start()
    lags: dict[str, dict[str, int]] = {}
    try:
        groups = sorted(g[0] for g in await admin.list_consumer_groups() if g[0].startswith(prefix))
        for group in groups:
            committed = await admin.list_consumer_group_offsets(group)
            if not committed:
                continue
            ends = await consumer.end_offsets(list(committed))
            per_topic: dict[str, int] = {}
            for tp, meta in committed.items():
                behind = max(0, ends.get(tp, 0) - meta.offset) if meta.offset >= 0 else 0
                per_topic[tp.topic] = per_topic.get(tp.topic, 0) + behind
            lags[group] = per_topic
    finally:
        await consumer.stop()
        await admin.close()
    return lags
