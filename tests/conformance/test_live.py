"""The connector against its real test peer: cursors survive a restart, a record read
twice has the same fingerprint, and every command of the system's role applied twice
changes nothing the second time."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from connectors.base.cursors import CursorStore
from connectors.base.runtime import ConnectorParts
from connectors.base.spec import ConnectorSpec
from q2c.core.settings import Settings
from schemas import Outcome, RawChange
from schemas.changes import EntityChange
from tests.conformance.adapter import Live
from tests.conformance.conftest import read_all

pytestmark = pytest.mark.integration


def keys(changes: list[RawChange]) -> set[tuple[str, str]]:
    return {(c.object, c.record_id) for c in changes}


def states(changes: list[RawChange]) -> set[tuple[str, str, str]]:
    return {(c.object, c.record_id, c.fingerprint) for c in changes}


def entities(changes: Sequence[EntityChange]) -> list[dict[str, Any] | None]:
    """The canonical data, but for when it was seen (a scan stamps a record with that)."""
    return [c.data.model_dump(exclude={"updated_at"}) if c.data else None for c in changes]


@dataclass
class SourceRun:
    """One run of the connector's source: its cursors loaded from Kafka at the start and
    stored after each read, as the source runner does once a batch is acknowledged."""

    parts: ConnectorParts
    store: CursorStore
    cursors: dict[str, str] = field(default_factory=dict)

    async def read(self) -> list[RawChange]:
        changes = await read_all(self.parts, self.cursors)
        for key, cursor in self.cursors.items():
            await self.store.save(key, cursor)
        return changes


@asynccontextmanager
async def source_run(
    connector_spec: ConnectorSpec[Any], live: Live, topic: str, client: dict[str, Any]
) -> AsyncIterator[SourceRun]:
    store = CursorStore(topic, client, owner=f"{topic}.{connector_spec.name}")
    parts = await connector_spec.build(Settings(), live.defaults)
    try:
        await store.start()
        stored = {s.cursor_key: store.get(s.cursor_key) for s in parts.streams}
        yield SourceRun(parts, store, {k: c for k, c in stored.items() if c is not None})
    finally:
        await store.stop()
        if parts.close is not None:
            await parts.close()


async def test_cursors_survive_a_restart(
    connector_spec: ConnectorSpec[Any], live: Live, kafka_bootstrap: str
) -> None:
    topic = f"q2c-conformance-cursors-{uuid.uuid4().hex[:10]}"
    client: dict[str, Any] = {"bootstrap_servers": kafka_bootstrap}
    before = await live.make_record("Made before the stop")
    async with source_run(connector_spec, live, topic, client) as run:
        assert run.cursors == {}, "a new cursor topic holds no cursor"
        first = await run.read()
    assert before in keys(first)

    async with source_run(connector_spec, live, topic, client) as run:
        assert set(run.cursors) == {s.cursor_key for s in run.parts.streams}
        assert await run.read() == [], "the restarted source re-emitted changes"
        after = await live.make_record("Made after the restart")
        assert keys(await run.read()) == {after}


async def test_a_record_read_twice_has_the_same_fingerprint(
    built: ConnectorParts, live: Live
) -> None:
    made = await live.make_record("Read twice")
    first = await read_all(built, {})
    again = await read_all(built, {})
    assert made in keys(first)
    assert states(again) == states(first)


async def test_map_reads_a_record_as_the_source_publishes_it(
    connector_spec: ConnectorSpec[Any], built: ConnectorParts, live: Live
) -> None:
    made = await live.make_record("Mapped as published")
    published = {(c.object, c.record_id): c for c in await read_all(built, {})}
    stream, document = await live.document(*made)
    (read,) = connector_spec.documents[stream].read(document).changes
    assert (read.object, read.record_id, read.fingerprint) == (*made, published[made].fingerprint)
    mapper = connector_spec.mapper()
    assert entities(mapper.canonical(read)) == entities(mapper.canonical(published[made]))


async def test_a_command_applied_twice_changes_nothing_the_second_time(
    built: ConnectorParts, live: Live, command_subject: str
) -> None:
    assert built.sink is not None, "the connector has no sink"
    command = await live.command(command_subject, built)
    assert command.schema_subject == command_subject
    first = await built.sink.apply(command)
    assert first.outcome in (Outcome.CREATED, Outcome.UPDATED, Outcome.UNCHANGED)

    cursors: dict[str, str] = {}
    applied = states(await read_all(built, cursors))
    again = await built.sink.apply(command)
    assert (again.outcome, again.ids) == (Outcome.UNCHANGED, first.ids)
    changed = states(await read_all(built, cursors)) - applied
    assert not changed, f"the second {command_subject} changed {sorted(changed)}"
