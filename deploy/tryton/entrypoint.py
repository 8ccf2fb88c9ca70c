"""Start Tryton for docker-compose.yml: the first time, create the database, activate the
modules and set the company up (the same script as the local stack); then serve.

Settings: TRYTON_DATABASE (its name), TRYTON_PASSWORD (the admin's), TRYTON_DB_URI
(postgresql://user:password@host:5432/). Each step is skipped when its result is there, so
a container stopped half-way finishes the set-up at its next start.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time

import psycopg
from psycopg import sql

MODULES = [
    "sale",
    "sale_opportunity",
    "account_invoice",
    "account_payment",
    "account_statement",
    "account_product",
    "stock_lot",
    "product_attribute",
    "sale_subscription",
    "account_credit_limit",
    "sale_credit_limit",
]


def _connect(uri: str, database: str) -> psycopg.Connection[tuple[object, ...]]:
    deadline = time.monotonic() + 120
    while True:  # PostgreSQL may still be starting
        try:
            return psycopg.connect(uri + database, autocommit=True)
        except psycopg.OperationalError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _one(uri: str, database: str, query: str) -> object:
    with _connect(uri, database) as conn:
        try:
            row = conn.execute(query).fetchone()
        except psycopg.errors.UndefinedTable:
            return None
    return row[0] if row else None


def main() -> None:
    uri = os.environ["TRYTON_DB_URI"]
    database = os.environ.get("TRYTON_DATABASE", "tryton")
    config = os.path.join(tempfile.gettempdir(), "trytond.conf")
    with open(config, "w") as handle:
        handle.write(f"[database]\nuri = {uri}\nlist = False\n\n[web]\nlisten = 0.0.0.0:8000\n")

    with _connect(uri, "postgres") as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [database])
        if found.fetchone() is None:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    activated = "SELECT state FROM ir_module WHERE name = 'sale_opportunity'"
    if _one(uri, database, activated) != "activated":
        with tempfile.NamedTemporaryFile("w", delete=False) as password:
            password.write(os.environ["TRYTON_PASSWORD"])
        admin = ["trytond-admin", "-c", config, "-d", database, "--email", "admin@example.com"]
        subprocess.run(
            [*admin, "--activate-dependencies", "-u", *MODULES],
            env=dict(os.environ, TRYTONPASSFILE=password.name),
            check=True,
        )
        os.unlink(password.name)
    if not _one(uri, database, "SELECT count(*) FROM company_company"):
        setup = [sys.executable, "/opt/tryton/tryton_setup.py", config, database]
        subprocess.run(setup, check=True, stdout=subprocess.DEVNULL)
    os.execvp("trytond", ["trytond", "-c", config, "-d", database])  # noqa: S606 - no shell


if __name__ == "__main__":
    main()
