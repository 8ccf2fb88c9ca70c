"""Where the test session's Tryton servers keep their databases: ``Q2C_TEST_TRYTON_DB``.

``sqlite`` (the default): each server copies the pristine SQLite file into its own folder.
``postgresql``: the session runs one PostgreSQL cluster, a copy of the pristine cluster
(q2c.devstack.tryton_postgres), and each server has its own database in it, made again from
the pristine template at every reset.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from q2c.devstack import tryton_postgres
from q2c.devstack.tryton import DATABASE, DatabaseStore, Pristine, TrytonInstall, ensure_pristine

BACKEND = os.environ.get("Q2C_TEST_TRYTON_DB", "sqlite")

Databases = list[tuple[str, DatabaseStore | None]]


@contextlib.contextmanager
def session_databases(
    install: TrytonInstall, folder: Path, servers: int
) -> Iterator[tuple[Pristine, Databases]]:
    """The pristine database and, per server, its database name and store (None: SQLite in
    the server's own folder)."""
    if BACKEND == "sqlite":
        yield ensure_pristine(install), [(DATABASE, None)] * servers
        return
    if BACKEND != tryton_postgres.KIND:
        raise pytest.UsageError(f"Q2C_TEST_TRYTON_DB must be sqlite or postgresql, not {BACKEND}")
    pristine = tryton_postgres.ensure_pristine(install)
    cluster = tryton_postgres.start_cluster(pristine, folder)
    try:
        store = tryton_postgres.PostgresStore(cluster)
        yield pristine, [(f"{DATABASE}{n}", store) for n in range(servers)]
    finally:
        tryton_postgres.remove_cluster(cluster)
