"""Replay: move a consumer group back to a time or an offset so it processes again.

Every stage is idempotent (fingerprints, natural-key look-ups in sinks), so reprocessing is
safe. The group must have no running members: stop the workers or connector first (Kafka
refuses to move the offsets of an active group).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import OffsetAndMetadata

from q2c.core.kafka_admin import partitions_of


@dataclass(frozen=True)
class Move:
    partition: TopicPartition
    before: int | None
    after: int


async def _group_is_empty(client_kwargs: dict[str, Any], group: str) -> bool:
    admin = AIOKafkaAdminClient(**client_kwargs)
    await admin.start()
    try:
        (description,) = await admin.describe_consumer_groups([group])
    finally:
        await admin.close()
    members = getattr(description, "members", None)
    if members is None and isinstance(description, tuple):
        members = description[5] if len(description) > 5 else []
    return not members


async def plan_and_move(
    client_kwargs: dict[str, Any],
    group: str,
    topic: str,
    *,
    since: datetime | None = None,
    offset: int | None = None,
    apply: bool = False,
) -> list[Move]:
    """Where each partition of ``topic`` would restart (at ``since`` or at ``offset``);
    committed for ``group`` when ``apply``."""
    if (since is None) == (offset is None):
        raise ValueError("give exactly one of a time or an offset")
    if apply and not await _group_is_empty(client_kwargs, group):
        raise RuntimeError(f"consumer group {group!r} has running members; stop them first")
    consumer = AIOKafkaConsumer(**client_kwargs, group_id=group, enable_auto_commit=False)
    await consumer.start()
    try:
        partitions = await partitions_of(client_kwargs, topic)
        if not partitions:
            raise ValueError(f"topic {topic!r} does not exist")
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        targets: dict[TopicPartition, int] = {}
        if since is not None:
            found = await consumer.offsets_for_times(
                {tp: int(since.timestamp() * 1000) for tp in tps}
            )
            for tp in tps:
                hit = found.get(tp)
                targets[tp] = hit.offset if hit is not None else ends[tp]
        else:
            starts = await consumer.beginning_offsets(tps)
            for tp in tps:
                targets[tp] = min(max(offset or 0, starts[tp]), ends[tp])
        moves = [Move(tp, await consumer.committed(tp), targets[tp]) for tp in tps]
        if apply:
            await consumer.commit({tp: OffsetAndMetadata(targets[tp], "q2c replay") for tp in tps})
        return moves
    finally:
        await consumer.stop()
