"""The real BottleCRM server under the integration tests: one per test session, a fresh org
per test.

Isolation is by org, not by database: every BottleCRM record, custom-field definition,
token and webhook belongs to one org, and the API never shows another org's data. A new org
(with its token and q2c's custom fields) costs a few HTTP calls, a fraction of a second,
where copying the pristine database and restarting the server costs seconds per test. Tests
that need a pristine server (none so far) can call ``bottlecrm.restart_fresh()``.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from connectors.bottlecrm import BottleCrmClient
from q2c.core.settings import Settings
from q2c.devstack.bottlecrm import (
    BottleCrmServer,
    OrgAccess,
    ensure_install,
    ensure_pristine,
    provision_org,
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Installs BottleCRM and migrates its pristine database (minutes, once per machine)
    before any test runs, so that time does not count against the first test's timeout."""
    if config.getoption("collectonly"):
        return
    if not any("bottlecrm" in getattr(item, "fixturenames", ()) for item in items):
        return
    install = ensure_install(Settings().dev.cache_dir)
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and not install.pristine.exists():
        reporter.write_line("BottleCRM: migrating a pristine database (minutes, once per machine)")
    ensure_pristine(install)


@pytest.fixture(scope="session")
def bottlecrm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BottleCrmServer]:
    """The session's BottleCRM server (installed and migrated on first use, then cached)."""
    install = ensure_install(Settings().dev.cache_dir)
    ensure_pristine(install)
    server = BottleCrmServer(install=install, data_dir=Path(tmp_path_factory.mktemp("bottlecrm")))
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
async def bottlecrm_org(bottlecrm: BottleCrmServer) -> OrgAccess:
    """A new, empty org for this test, with a token, a JWT and q2c's custom fields."""
    assert bottlecrm.user_jwt is not None
    return await provision_org(bottlecrm.url, bottlecrm.user_jwt, f"test-{uuid.uuid4().hex[:10]}")


@pytest.fixture
async def bottlecrm_client(bottlecrm_org: OrgAccess) -> AsyncIterator[BottleCrmClient]:
    """A client for this test's org."""
    async with BottleCrmClient(bottlecrm_org.settings()) as client:
        yield client
