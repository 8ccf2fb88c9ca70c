"""The local NetSuite server under the integration tests: a fresh account per test.

Each test gets its own server process (``python -m q2c.localserver.netsuite``, started
the way `q2c dev up --erp netsuite` starts it) on a free loopback port, with its state in
the test's temporary directory: a new account costs about a second, so nothing is shared
and nothing needs resetting.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from connectors.netsuite.settings import NetSuiteSettings
from q2c.devstack import netsuite, procs


@dataclass
class NetSuitePeer:
    """One local NetSuite account: its recorded credentials and its control endpoints."""

    entry: dict[str, Any]

    @property
    def base_url(self) -> str:
        return str(self.entry["base_url"])

    @property
    def recorded(self) -> dict[str, Any]:
        """What the dev stack records for the connector's settings."""
        return {k: v for k, v in self.entry.items() if k not in ("pid", "log", "data_dir")}

    def settings(self, **overrides: Any) -> NetSuiteSettings:
        fields = set(NetSuiteSettings.model_fields)
        values = {k: v for k, v in self.recorded.items() if k in fields}
        values.update(overrides)
        return NetSuiteSettings.model_validate(values)

    async def control(self, path: str, body: Mapping[str, Any] | None = None) -> Any:
        """Call a local-only ``/_local/…`` endpoint (not NetSuite API)."""
        headers = {"Authorization": f"Bearer {self.entry['control_token']}"}
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                "GET" if body is None and path == "stats" else "POST",
                f"{self.base_url}/_local/{path}",
                json=body,
                headers=headers,
            ) as reply,
        ):
            reply.raise_for_status()
            return await reply.json()

    def stop(self) -> None:
        procs.stop_pid(int(self.entry["pid"]), grace=10.0)


def start_peer(state_dir: Path) -> NetSuitePeer:
    return NetSuitePeer(netsuite.start_stack_entry(state_dir, state_dir / "netsuite.log"))


@pytest.fixture
def netsuite_peer(tmp_path: Path) -> Iterator[NetSuitePeer]:
    """A fresh local NetSuite account for one test."""
    peer = start_peer(tmp_path)
    try:
        yield peer
    finally:
        peer.stop()
