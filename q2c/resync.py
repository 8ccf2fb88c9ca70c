"""Sending a record through the whole sync again, as its system has it now.

The record is read through its connector's own streams and published to the system's raw
topic like any change the source found. Downstream, a change whose fingerprint was seen
before is dropped as a repeat (the golden record and the deal's order state keep the last
fingerprint), so the resent change carries a fingerprint of its own: the record's
fingerprint combined with a resync marker. The record itself is unchanged, so only what
differs from what q2c already agreed is acted on: a rejected deal is validated again, a
record in step changes nothing.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from connectors.base.publish import Publisher
from connectors.base.runtime import ConnectorParts
from q2c.core.settings import Settings
from q2c.core.topics import Topics
from q2c.reconcile import SystemRead, connect
from q2c.reconcile_report import Repairs
from schemas import Operation, RawChange, SyncStatus, fingerprint
from schemas.changes import SystemRole
from schemas.entities import EntityKind
from streams.rules.reconcile import Resync


class UnknownRecord(LookupError):
    pass


def fresh(change: RawChange, now: datetime) -> RawChange:
    """``change`` observed again ``now``: the same record under a fingerprint never seen."""
    marker = f"resync@{now.isoformat()}"
    operation = Operation.DELETE if change.operation is Operation.DELETE else Operation.UPDATE
    return change.model_copy(
        update={
            "operation": operation,
            "cursor": marker,
            "fingerprint": fingerprint({"record": change.fingerprint, "resync": marker}),
            # As the system has the record now: not older than what q2c folded in before.
            "source_ts": now,
            "observed_at": now,
        }
    )


def object_names(parts: ConnectorParts) -> list[str]:
    return sorted({stream.name for stream in parts.streams})


async def read_records(
    parts: ConnectorParts, obj: str, record_ids: Collection[str]
) -> dict[str, RawChange]:
    """The current state of ``record_ids`` of ``obj``, read through the stream of ``obj``."""
    streams = [stream for stream in parts.streams if stream.name == obj]
    if not streams:
        known = ", ".join(object_names(parts))
        raise UnknownRecord(f"{parts.system} has no {obj!r} records; it has: {known}")
    found: dict[str, RawChange] = {}
    for stream in streams:
        cursor: str | None = None
        while True:
            batch = await stream.read(cursor)
            for change in batch.changes:
                if change.record_id in record_ids and change.operation is not Operation.DELETE:
                    found[change.record_id] = change
            cursor = batch.cursor
            if not batch.more:
                break
    return found


async def publish(
    client_kwargs: dict[str, Any], topics: Topics, changes: Iterable[RawChange]
) -> list[RawChange]:
    """``changes`` as fresh observations on their raw topics, acknowledged."""
    now = datetime.now(UTC)
    sent = [fresh(change, now) for change in changes]
    publisher = Publisher(client_kwargs, topics)
    await publisher.start()
    try:
        await publisher.publish_changes(sent)
    finally:
        await publisher.stop()
    return sent


async def resync_records(
    settings: Settings,
    system: str,
    defaults: Mapping[str, Any],
    obj: str,
    record_ids: Collection[str],
) -> list[RawChange]:
    """Read ``record_ids`` of ``obj`` from ``system`` and send them through the sync."""
    parts = await connect(settings, system, defaults)
    try:
        found = await read_records(parts, obj, record_ids)
    finally:
        if parts.close is not None:
            await parts.close()
    missing = sorted(set(record_ids) - set(found))
    if missing:
        raise UnknownRecord(f"{system} has no {obj} {', '.join(missing)}")
    topics = Topics(settings.kafka.topic_prefix)
    return await publish(settings.kafka.client_kwargs(), topics, found.values())


def sources_of(read: SystemRead, wanted: Iterable[Resync]) -> tuple[list[RawChange], list[Resync]]:
    """The raw changes a read found for ``wanted`` (of its system), and those it did not."""
    found: dict[str, RawChange] = {}
    missing: list[Resync] = []
    for target in wanted:
        raw = read.sources.get((target.entity, target.key))
        if raw is None:
            missing.append(target)
        else:
            found[f"{raw.object}/{raw.record_id}"] = raw
    return list(found.values()), missing


def rejected_deals(crm: SystemRead) -> list[Resync]:
    """The deals the CRM shows as rejected by q2c."""
    return [
        Resync(SystemRole.CRM, EntityKind.QUOTE, deal)
        for deal, mark in sorted(crm.snapshot.marks.items())
        if mark.status == SyncStatus.REJECTED
    ]


async def resend(
    settings: Settings, reads: Mapping[SystemRole, SystemRead], targets: Iterable[Resync]
) -> Repairs:
    """Send ``targets`` through the sync again, from what ``reads`` found of them."""
    changes: list[RawChange] = []
    not_found: list[Resync] = []
    wanted = list(targets)
    for role, read in reads.items():
        found, missing = sources_of(read, [t for t in wanted if t.role is role])
        changes += found
        not_found += missing
    topics = Topics(settings.kafka.topic_prefix)
    sent = await publish(settings.kafka.client_kwargs(), topics, changes) if changes else []
    return Repairs(sent, tuple(not_found))
