"""The real Tryton server under the integration tests: one ``trytond`` per test session,
its database put back to the pristine copy before each test that asks for ``tryton_db``.

Installing Tryton and making the pristine database go through the same code as
`q2c dev up` (cached under the q2c cache folder, so only the first session pays).
The reset stops the server, copies the pristine SQLite file and starts it again on the
same port: about 1.3 s, and it also clears every in-memory cache of the server, which a
copy under a running server would not.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from connectors.tryton import TrytonClient, TrytonSettings
from q2c.devstack import procs
from q2c.devstack.tryton import Pristine, TrytonServer, ensure_install, ensure_pristine
from q2c.settings import Settings


@dataclass
class TrytonPeer:
    """The session's Tryton server and the pristine database it is reset to."""

    server: TrytonServer
    pristine: Pristine
    dirty: bool = False
    reset_seconds: list[float] = field(default_factory=list)

    @property
    def records(self) -> dict[str, Any]:
        """Ids made by the company set-up (company, accounts, payment term, unit, ...)."""
        return self.pristine.records

    def settings(self, **overrides: Any) -> TrytonSettings:
        values: dict[str, Any] = {
            "url": self.server.base_url,
            "database": self.server.database,
            "user": self.server.user,
            "password": self.server.password,
        }
        values.update(overrides)
        return TrytonSettings(**values)

    def reset(self) -> None:
        """Back to the pristine database (server restarted, same port when free)."""
        started = time.monotonic()
        self.server.stop()
        self.server.restore(self.pristine)
        if not procs.port_is_free(self.server.port):
            self.server.port = 0
        self.server.start()
        self.reset_seconds.append(time.monotonic() - started)
        self.dirty = False


@pytest.fixture(scope="session")
def tryton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrytonPeer]:
    install = ensure_install(Settings().dev.cache_dir)
    pristine = ensure_pristine(install)
    server = TrytonServer(
        install=install,
        data_dir=Path(tmp_path_factory.mktemp("tryton")),
        password=pristine.password,
    )
    server.restore(pristine)
    server.start()
    peer = TrytonPeer(server=server, pristine=pristine)
    try:
        yield peer
    finally:
        server.stop()


@pytest.fixture
def tryton_db(tryton: TrytonPeer) -> TrytonPeer:
    """The Tryton server with a pristine database for this test."""
    if tryton.dirty:
        tryton.reset()
    tryton.dirty = True
    return tryton


@pytest.fixture
async def tryton_client(tryton_db: TrytonPeer) -> AsyncIterator[TrytonClient]:
    """A logged-in client of the pristine database, as the admin user."""
    async with TrytonClient(tryton_db.settings()) as client:
        yield client
