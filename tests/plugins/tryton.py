"""The real Tryton server under the integration tests, with a pristine database per test.

Installing Tryton and making the pristine database go through the same code as
`q2c dev up` (cached under the q2c cache folder, so only the first session pays).

A reset stops a server, copies the pristine SQLite file over its database and starts it
again (on the same port unless another process took it meanwhile): about 1.3 s on an idle
machine, and it also empties every in-memory cache of the server, which copying under a
running server would not. To keep that off the tests' clock, the session runs two servers
that take turns: while a test uses one, the other is being reset in a background thread.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr

from connectors.tryton import TrytonClient, TrytonSettings
from q2c.core.settings import Settings
from q2c.devstack.tryton import Pristine, TrytonServer, ensure_install
from tests.plugins.tryton_databases import session_databases

SERVERS = 2


@dataclass
class TrytonPeer:
    """One Tryton server and the pristine database it is reset to."""

    server: TrytonServer
    pristine: Pristine
    reset_seconds: list[float] = field(default_factory=list)

    @property
    def records(self) -> dict[str, Any]:
        """Ids made by the company set-up (company, accounts, payment term, unit, ...)."""
        return self.pristine.records

    def settings(self, **overrides: Any) -> TrytonSettings:
        return self.server.settings(**overrides)

    def start(self) -> None:
        self.server.restore(self.pristine)
        self.server.start()

    def reset(self) -> None:
        """Back to the pristine database (server restarted, same port when free)."""
        started = time.monotonic()
        self.server.stop()
        self.start()
        self.reset_seconds.append(time.monotonic() - started)


class TrytonPool:
    """Servers taking turns: ``acquire`` hands out a clean one, ``release`` resets it in
    the background."""

    def __init__(self, peers: list[TrytonPeer]) -> None:
        self.peers = peers
        self._executor = ThreadPoolExecutor(max_workers=len(peers), thread_name_prefix="tryton")
        self._queue: deque[tuple[TrytonPeer, Future[None]]] = deque(
            (peer, self._executor.submit(peer.start)) for peer in peers
        )
        self.wait_seconds: list[float] = []

    def acquire(self) -> TrytonPeer:
        peer, ready = self._queue.popleft()
        started = time.monotonic()
        ready.result()  # raises the reset's DevStackError, with the server log
        self.wait_seconds.append(time.monotonic() - started)
        return peer

    def release(self, peer: TrytonPeer) -> None:
        self._queue.append((peer, self._executor.submit(peer.reset)))

    @property
    def reset_seconds(self) -> list[float]:
        return [s for peer in self.peers for s in peer.reset_seconds]

    def close(self) -> None:
        self._executor.shutdown(wait=True)
        for peer in self.peers:
            peer.server.stop()


@pytest.fixture(scope="session")
def tryton(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TrytonPool]:
    """The session's Tryton servers (on SQLite, or PostgreSQL: ``Q2C_TEST_TRYTON_DB``)."""
    install = ensure_install(Settings().dev.cache_dir)
    folder = tmp_path_factory.mktemp("tryton-databases")
    with session_databases(install, folder, SERVERS) as (pristine, databases):
        peers = [
            TrytonPeer(
                TrytonServer(
                    install=install,
                    data_dir=Path(tmp_path_factory.mktemp(f"tryton{n}")),
                    password=pristine.password,
                    database=database,
                    store=store,
                ),
                pristine,
            )
            for n, (database, store) in enumerate(databases)
        ]
        pool = TrytonPool(peers)
        try:
            yield pool
        finally:
            pool.close()


@pytest.fixture
def tryton_db(tryton: TrytonPool) -> Iterator[TrytonPeer]:
    """A Tryton server with a pristine database, for this test alone."""
    peer = tryton.acquire()
    try:
        yield peer
    finally:
        tryton.release(peer)


@pytest.fixture
async def tryton_client(tryton_db: TrytonPeer) -> AsyncIterator[TrytonClient]:
    """A logged-in client of the pristine database, as the admin user."""
    async with TrytonClient(tryton_db.settings()) as client:
        yield client


async def company_name(entry: dict[str, Any]) -> str:
    """The name of the company set up in the Tryton server a stack entry records."""
    settings = TrytonSettings(
        url=entry["url"],
        database=entry["database"],
        user=entry["user"],
        password=SecretStr(entry["password"]),
    )
    async with TrytonClient(settings) as client:
        (company,) = await client.search_read("company.company", [], ["party.name"])
    return str(company["party."]["name"])
