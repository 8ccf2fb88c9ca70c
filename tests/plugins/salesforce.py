"""The local Salesforce server under the tests: a new org per test.

The server (``q2c.localserver.salesforce``) runs in the test's own event loop, on loopback
ports of its own, with its SQLite store in the test's temporary directory: a fresh org costs
a fraction of a second, so nothing is shared between tests. Its ``control`` injects faults
(5xx, delays, a spent allowance, expired sessions). ``salesforce_defaults`` is what the
local stack records for the connector (``SPEC.recorded``), and the org has q2c's custom
fields (the connector's own set-up ran on it).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from connectors.salesforce.spec import SPEC
from q2c.devstack import salesforce as devstack
from q2c.devstack.procs import stop_pid
from q2c.localserver.salesforce.server import running


def defaults_of(credentials: Mapping[str, Any]) -> dict[str, Any]:
    """The connector's settings from what the server wrote on start."""
    return {key: credentials[key] for key in SPEC.recorded if credentials.get(key)}


@pytest.fixture
async def salesforce_bare(tmp_path: Path) -> AsyncIterator[Any]:
    """A new org as the server starts it (q2c's custom fields not created yet)."""
    async with running(tmp_path / "salesforce") as server:
        yield server


@pytest.fixture
async def salesforce_org(salesforce_bare: Any) -> Any:
    """A new org with q2c's custom fields, set up by the connector itself."""
    config = SPEC.configured(defaults_of(salesforce_bare.credentials))
    await SPEC.set_up(config)
    return salesforce_bare


@pytest.fixture
def salesforce_defaults(salesforce_org: Any) -> dict[str, Any]:
    return defaults_of(salesforce_org.credentials)


@dataclass
class SalesforceProcess:
    """The local server as its own process (`python -m q2c.localserver.salesforce`, as
    `q2c dev up` starts it), with q2c's custom fields set up."""

    entry: dict[str, Any]

    @property
    def defaults(self) -> dict[str, Any]:
        return {key: self.entry[key] for key in SPEC.recorded if self.entry.get(key)}

    async def control(self, path: str, body: Mapping[str, Any]) -> Any:
        """POST to one of the server's ``/_local/`` control endpoints."""
        headers = {"Authorization": f"Bearer {self.entry['control_token']}"}
        url = f"{self.entry['instance_url']}/_local/{path}"
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json=dict(body), headers=headers) as reply,
        ):
            reply.raise_for_status()
            return await reply.json()


@pytest.fixture
async def salesforce_process(tmp_path: Path) -> AsyncIterator[SalesforceProcess]:
    entry = await asyncio.to_thread(
        devstack.start, tmp_path / "salesforce-server", tmp_path / "salesforce-server.log"
    )
    try:
        server = SalesforceProcess(entry)
        await SPEC.set_up(SPEC.configured(server.defaults))
        yield server
    finally:
        await asyncio.to_thread(stop_pid, int(entry["pid"]), 10.0)
