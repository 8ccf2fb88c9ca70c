"""Every test here runs once per registered system (``connectors.registry.systems()``), so
a new system is covered by registering it; see README.md for the checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, MutableMapping
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from typing import Any

import pytest

from connectors.base.runtime import ConnectorParts
from connectors.base.spec import ConnectorSpec
from connectors.registry import SPECS, spec, systems
from q2c.core.settings import Settings
from schemas import RawChange
from tests.conformance.adapter import Adapter, Live, adapter_for, required_commands


@dataclass(frozen=True)
class Sample:
    stream: str
    document: Traversable

    @property
    def name(self) -> str:
        return f"{self.stream}/{self.document.name}"


def samples_of(system: str) -> list[Sample]:
    """The sample documents the system's package ships: ``samples/<stream>/*.json``."""
    package = SPECS[system].rpartition(".")[0]
    folder = files(package) / "samples"
    if not folder.is_dir():
        return []
    found = [
        Sample(stream.name, document)
        for stream in folder.iterdir()
        if stream.is_dir()
        for document in stream.iterdir()
        if document.name.endswith(".json")
    ]
    return sorted(found, key=lambda sample: sample.name)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    names = metafunc.fixturenames
    if "system" not in names:
        return
    if "command_subject" in names:
        pairs = [(s, c) for s in systems() for c in required_commands(spec(s).role)]
        metafunc.parametrize(
            ("system", "command_subject"), pairs, ids=[f"{s}-{c}" for s, c in pairs]
        )
    elif "sample" in names:
        found = [(s, doc) for s in systems() for doc in samples_of(s)]
        metafunc.parametrize(
            ("system", "sample"),
            found,
            ids=[f"{s}-{sample.name}" for s, sample in found],
        )
    else:
        metafunc.parametrize("system", systems())


@pytest.fixture
def connector_spec(system: str) -> ConnectorSpec[Any]:
    return spec(system)


@pytest.fixture
def adapter(system: str) -> Adapter:
    return adapter_for(system)


@pytest.fixture
def peer(adapter: Adapter, request: pytest.FixtureRequest) -> Any:
    """A clean peer of the system for this test, from the fixtures of tests/plugins."""
    return request.getfixturevalue(adapter.peer_fixture)


@pytest.fixture
async def live(adapter: Adapter, peer: Any) -> AsyncIterator[Live]:
    access = await adapter.live(peer)
    try:
        yield access
    finally:
        await access.close()


@pytest.fixture
async def built(connector_spec: ConnectorSpec[Any], live: Live) -> AsyncIterator[ConnectorParts]:
    """The connector as `q2c connector run` builds it, against the test peer."""
    parts = await connector_spec.build(Settings(), live.defaults)
    try:
        yield parts
    finally:
        if parts.close is not None:
            await parts.close()


async def read_all(parts: ConnectorParts, cursors: MutableMapping[str, str]) -> list[RawChange]:
    """Every stream read until it has nothing more ready, from ``cursors`` (updated)."""
    changes: list[RawChange] = []
    for stream in parts.streams:
        while True:
            batch = await stream.read(cursors.get(stream.cursor_key))
            changes.extend(batch.changes)
            if batch.cursor is not None:
                cursors[stream.cursor_key] = batch.cursor
            if not batch.more:
                break
    return changes
