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
