"""A fresh local Salesforce org per test (its own state directory and ports), an HTTP
client, and a session obtained through the JWT bearer flow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from q2c.localserver.salesforce.server import LocalSalesforce, running
from tests.localserver.salesforce.org import Org, jwt_login


@pytest.fixture
async def salesforce(tmp_path: Path) -> AsyncIterator[LocalSalesforce]:
    async with running(tmp_path / "salesforce") as server:
        yield server


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def org(salesforce: LocalSalesforce, http: aiohttp.ClientSession) -> Org:
    """A logged-in REST client of the test's org."""
    reply = await jwt_login(http, salesforce.credentials)
    return Org(http, salesforce, str(reply["access_token"]), str(reply["instance_url"]))
