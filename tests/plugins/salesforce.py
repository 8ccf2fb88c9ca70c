"""The local Salesforce server under the tests: a new org per test.

The server (``q2c.localserver.salesforce``) runs in the test's own event loop, on loopback
ports of its own, with its SQLite store in the test's temporary directory: a fresh org costs
a fraction of a second, so nothing is shared between tests. Its ``control`` injects faults
(5xx, delays, a spent allowance, expired sessions). ``salesforce_defaults`` is what the
local stack records for the connector (``SPEC.recorded``), and the org has q2c's custom
fields (the connector's own set-up ran on it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from connectors.salesforce.spec import SPEC
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
