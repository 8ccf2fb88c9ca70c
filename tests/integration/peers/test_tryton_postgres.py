"""Tryton on PostgreSQL: the cluster the project starts itself, a real round trip through the
connector's client, concurrent writers, and `q2c dev up --tryton-db postgresql`.

One cluster and one server serve the module's client tests; the stack test runs its own.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import stat
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from connectors.tryton import TrytonClient, TrytonSettings
from q2c.core import metrics
from q2c.core.settings import DevSettings, Settings
from q2c.devstack import procs, stack, tryton_postgres
from q2c.devstack.errors import DevStackError
from q2c.devstack.postgres import PostgresCluster, account, cluster_home
from q2c.devstack.tryton import Pristine, TrytonServer, ensure_install
from tests.plugins.tryton import company_name

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def pristine() -> Pristine:
    return tryton_postgres.ensure_pristine(ensure_install(Settings().dev.cache_dir))


@pytest.fixture(scope="module")
def cluster(
    pristine: Pristine, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[PostgresCluster]:
    running = tryton_postgres.start_cluster(pristine, tmp_path_factory.mktemp("postgres"))
    try:
        yield running
    finally:
        tryton_postgres.remove_cluster(running)


@pytest.fixture(scope="module")
def server(
    pristine: Pristine, cluster: PostgresCluster, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[TrytonServer]:
    running = TrytonServer(
        install=ensure_install(Settings().dev.cache_dir),
        data_dir=tmp_path_factory.mktemp("tryton-pg"),
        password=pristine.password,
        store=tryton_postgres.PostgresStore(cluster),
    )
    running.restore(pristine)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
async def client(server: TrytonServer) -> AsyncIterator[TrytonClient]:
    settings = TrytonSettings(
        url=server.base_url, database=server.database, user=server.user, password=server.password
    )
    async with TrytonClient(settings) as connected:
        yield connected


def test_the_cluster_listens_on_loopback_and_keeps_its_password_private(
    cluster: PostgresCluster, pristine: Pristine
) -> None:
    assert cluster.answers()
    assert cluster.sql("SHOW listen_addresses;").strip() == "127.0.0.1"
    assert cluster.sql("SHOW unix_socket_directories;").strip() == str(cluster.socket_dir)
    assert stat.S_IMODE(os.stat(cluster.password_file).st_mode) == 0o600
    # The copy's superuser password is its own, not the cached pristine cluster's.
    kept = tryton_postgres.pristine_cluster(pristine)
    assert kept.password.get_secret_value() != cluster.password.get_secret_value()
    # Root's clusters run as the postgres account; anyone else's as themselves.
    owner = account()
    pid = cluster.postmaster_pid()
    assert pid is not None
    assert Path(f"/proc/{pid}").stat().st_uid == owner.uid != 0


async def test_a_party_round_trips_through_the_connector_client(client: TrytonClient) -> None:
    (party_id,) = await client.create(
        "party.party", [{"name": "Postgres Customer", "identifiers": []}]
    )
    (party,) = await client.read("party.party", [party_id], ["name", "code"])
    assert party["name"] == "Postgres Customer"
    assert party["code"]
    found = await client.search("party.party", [("name", "=", "Postgres Customer")])
    assert found == [party_id]


def _tryton_errors() -> float:
    total = 0.0
    for family in metrics.API_ERRORS.collect():
        for sample in family.samples:
            if sample.name.endswith("_total") and sample.labels.get("system") == "tryton":
                total += sample.value
    return total


async def test_concurrent_writers_are_not_refused(client: TrytonClient) -> None:
    """The reason to use PostgreSQL: on SQLite most of these creates fail ("The code on
    party must be unique": their sequence numbers collide) or are answered 503; PostgreSQL
    takes them all at once."""
    before = _tryton_errors()
    names = [f"Concurrent {n}" for n in range(16)]

    async def make(name: str) -> list[int]:
        return await client.create("party.party", [{"name": name}])

    created = await asyncio.gather(*(make(name) for name in names))
    rows = await client.search_read("party.party", [("name", "in", names)], ["name", "code"])
    assert sorted(r["name"] for r in rows) == sorted(names)
    assert len({r["code"] for r in rows}) == len(names)
    assert len({i for ids in created for i in ids}) == len(names)
    assert _tryton_errors() == before


def test_a_reset_database_is_pristine_again(
    server: TrytonServer, pristine: Pristine, cluster: PostgresCluster
) -> None:
    other = TrytonServer(
        install=server.install,
        data_dir=server.data_dir.parent / "tryton-pg-other",
        password=pristine.password,
        database="q2c_other",
        store=tryton_postgres.PostgresStore(cluster),
    )
    other.restore(pristine)
    other.restore(pristine)  # again over an existing database: dropped and copied anew
    query = "SELECT count(*) FROM party_party WHERE name = 'Q2C Sales Desk';"
    count = cluster.sql(query, "q2c_other")
    assert count.strip() == "1"
    with pytest.raises(DevStackError, match="is the template"):
        tryton_postgres.PostgresStore(cluster).restore(pristine, tryton_postgres.TEMPLATE)


def test_a_cluster_that_was_never_made_fails_in_one_line(tmp_path: Path) -> None:
    missing = PostgresCluster(tmp_path / "nothing")
    with pytest.raises(DevStackError) as raised:
        missing.start()
    assert "no PostgreSQL cluster" in str(raised.value)
    assert "\n" not in str(raised.value)


def test_dev_up_runs_tryton_on_the_stacks_own_cluster(tmp_path: Path) -> None:
    settings = Settings(dev=DevSettings(state_dir=tmp_path / "state", tryton_db="postgresql"))
    components = [stack.PostgresComponent(), stack.TrytonComponent()]
    home = cluster_home(settings.dev.state_dir / "postgres")
    lines: list[str] = []
    stack.up(settings, lines.append, components=components)
    files = stack.StackFiles(settings.dev.state_dir)
    try:
        recorded = files.load()
        cluster, erp = recorded["postgres"], recorded["tryton"]
        assert erp["db"] == "postgresql"
        assert procs.pid_alive(int(cluster["pid"]))
        assert asyncio.run(company_name(erp)) == "Q2C Local Company"
        status = stack.describe(settings)
        assert any(line.startswith("[  up] PostgreSQL ") for line in status)
        assert any(
            line.startswith("[  up] Tryton 8.2") and "(postgresql)" in line for line in status
        )
        # trytond's config holds the cluster's password: private to its owner.
        config = Path(erp["data_dir"]) / "trytond.conf"
        assert stat.S_IMODE(os.stat(config).st_mode) == 0o600
    finally:
        stack.down(settings, lines.append)
        shutil.rmtree(home, ignore_errors=True)  # `down` keeps a stack's data; a test's goes
    assert not procs.pid_alive(int(cluster["pid"]))
    assert f"postgres: stopping (pid {cluster['pid']})" in lines
