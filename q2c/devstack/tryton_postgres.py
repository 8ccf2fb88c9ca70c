"""Tryton on PostgreSQL: a pristine cluster built once, and databases copied from it.

SQLite serves one writer at a time: under a concurrent load (several sinks, the chaos bench)
Tryton answers 503 while the file is locked, and concurrent creates collide on their sequence
numbers ("The code on party must be unique"). On PostgreSQL neither happens. The cost is the
first start: the pristine cluster is built once per Tryton install and calendar year, like
the SQLite file (:func:`ensure_pristine`), and kept under the cache folder.

* The pristine cluster holds the database ``q2c_pristine``, with the modules activated and
  the company set up (the same steps as SQLite's, :func:`q2c.devstack.tryton.set_up_database`).
* A stack or a test session copies the stopped pristine cluster's files (a second or two)
  and starts its copy on a free loopback port (:func:`start_cluster`).
* Each Tryton database in it is ``CREATE DATABASE ... TEMPLATE q2c_pristine``
  (:class:`PostgresStore`), so resetting a database between tests stays cheap.
"""

from __future__ import annotations

import datetime as dt
import secrets
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from q2c.core.settings import Settings
from q2c.devstack import procs, tryton
from q2c.devstack.component import Component, Entry, StackFiles
from q2c.devstack.errors import DevStackError
from q2c.devstack.postgres import PostgresCluster, cluster_home, entry, from_entry

TEMPLATE = "q2c_pristine"
KIND = "postgresql"


@dataclass(frozen=True)
class PostgresStore:
    """Tryton's databases in a running cluster, each a copy of the template database."""

    cluster: PostgresCluster
    template: str = TEMPLATE
    kind: str = KIND

    def config_lines(self) -> list[str]:
        return [f"uri = {self.cluster.uri.get_secret_value()}"]

    def exists(self, database: str) -> bool:
        return database in self.cluster.databases()

    def restore(self, pristine: tryton.Pristine, database: str) -> None:
        if database == self.template:
            raise DevStackError(f"the database {database} is the template; choose another name")
        # FILE_COPY copies the template's files (PostgreSQL 15's default, WAL_LOG, writes
        # every page to the WAL and takes twice as long for Tryton's 40 MB).
        self.cluster.sql(
            f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE);\n'
            f'CREATE DATABASE "{database}" TEMPLATE "{self.template}" STRATEGY FILE_COPY;\n'
        )


def pristine_cluster(pristine: tryton.Pristine) -> PostgresCluster:
    """The stopped pristine cluster kept in ``pristine``'s folder (copied, never started)."""
    return PostgresCluster(pristine.folder / "cluster")


def ensure_pristine(install: tryton.TrytonInstall, today: dt.date | None = None) -> tryton.Pristine:
    """The pristine cluster for ``install``, made on first use (about a minute and a half)."""
    return tryton.cached_pristine(install, "pg-pristine", _build_pristine, today)


def _build_pristine(install: tryton.TrytonInstall, folder: Path) -> None:
    kept = PostgresCluster(folder / "cluster")
    live = PostgresCluster(cluster_home(kept.home))
    try:
        live.init(SecretStr(secrets.token_urlsafe(24)))
        try:
            live.start()
            live.sql(f'CREATE DATABASE "{TEMPLATE}";')
            tryton.set_up_database(install, folder, PostgresStore(live), TEMPLATE)
        finally:
            live.stop()
        if live.home != kept.home:
            kept.copy_from(live)
    finally:
        if live.home != kept.home:  # built outside the staging folder: not kept there
            shutil.rmtree(live.home, ignore_errors=True)


def start_cluster(pristine: tryton.Pristine, preferred: Path, port: int = 0) -> PostgresCluster:
    """A running cluster in ``preferred`` (or where :func:`cluster_home` puts it): the
    existing one, or a copy of the pristine cluster with a superuser password of its own."""
    cluster = PostgresCluster(cluster_home(preferred), port=port)
    fresh = not cluster.exists
    if fresh:
        cluster.copy_from(pristine_cluster(pristine))
    cluster.start()
    if fresh:
        cluster.set_password(SecretStr(secrets.token_urlsafe(24)))
    return cluster


def remove_cluster(cluster: PostgresCluster) -> None:
    """Stop the cluster and delete its files."""
    cluster.stop()
    shutil.rmtree(cluster.home, ignore_errors=True)


class PostgresComponent(Component):
    """The stack's PostgreSQL cluster for Tryton (`q2c dev up --tryton-db postgresql`)."""

    name = "postgres"

    def wanted(self, settings: Settings) -> bool:
        return settings.dev.tryton_db == KIND

    def start(self, settings: Settings, files: StackFiles, stack: dict[str, Entry]) -> Entry:
        install = tryton.ensure_install(settings.dev.cache_dir)
        pristine = ensure_pristine(install)
        previous = int(stack.get(self.name, {}).get("port") or 0)
        port = previous if previous and procs.port_is_free(previous) else 0
        return entry(start_cluster(pristine, files.state_dir / "postgres", port))

    def healthy(self, recorded: Entry) -> bool:
        cluster = from_entry(recorded)
        return cluster.postmaster_pid() is not None and cluster.answers()

    def stop(self, recorded: Entry) -> None:
        from_entry(recorded).stop()

    def describe(self, recorded: Entry) -> Iterator[str]:
        yield (
            f"PostgreSQL {recorded['version']}  127.0.0.1:{recorded['port']}  (Tryton's database)"
        )
        yield f"            (data: {recorded['home']}; log: {recorded['log']})"


def start_stack_entry(
    cache_dir: Path, state_dir: Path, cluster_entry: Mapping[str, Any] | None
) -> dict[str, Any]:
    """Start the stack's Tryton on the stack's cluster; what stack.json records."""
    if cluster_entry is None:
        raise DevStackError("Tryton on PostgreSQL needs the stack's cluster: start `postgres`")
    install = tryton.ensure_install(cache_dir)
    server = tryton.start_stack_server(
        cache_dir,
        state_dir / "tryton-postgresql",
        store=PostgresStore(from_entry(cluster_entry)),
        pristine=ensure_pristine(install),
    )
    return tryton.stack_entry(server)
