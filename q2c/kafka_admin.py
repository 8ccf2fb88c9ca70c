"""Topic administration shared by connectors and streams."""

from __future__ import annotations

import contextlib
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import TopicAlreadyExistsError


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
