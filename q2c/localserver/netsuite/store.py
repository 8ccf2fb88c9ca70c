"""The account's data in SQLite, one table per SuiteQL table (``customer``, ``contact``, ``item``,
``transaction``, ``transactionline``, ``nexttransactionlinelink`` with the
``previoustransactionlinelink`` view, ``deletedrecord``, ``subsidiary``, ``currency``,
``term``) so that SuiteQL runs on it directly, plus the server's own tables (async jobs,
idempotency keys, issued OAuth 2.0 tokens).

Every date and datetime is kept as UTC text ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` (a date is its
midnight in the account's time zone), so that comparisons in SQL order them correctly and
SuiteQL can render them in the account's time zone. ``lastmodifieddate`` is strictly
increasing across writes."""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

STORE_FILE = "netsuite.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS subsidiary (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, currency INTEGER NOT NULL,
    isinactive TEXT NOT NULL DEFAULT 'F', lastmodifieddate TEXT
);
CREATE TABLE IF NOT EXISTS currency (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, symbol TEXT NOT NULL,
    exchangerate TEXT NOT NULL, isbasecurrency TEXT NOT NULL DEFAULT 'F',
    isinactive TEXT NOT NULL DEFAULT 'F', lastmodifieddate TEXT
);
CREATE TABLE IF NOT EXISTS term (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, daysuntilnetdue INTEGER NOT NULL,
    isinactive TEXT NOT NULL DEFAULT 'F', lastmodifieddate TEXT
);
CREATE TABLE IF NOT EXISTS customer (
    id INTEGER PRIMARY KEY, entityid TEXT, companyname TEXT, email TEXT, phone TEXT, url TEXT,
    externalid TEXT UNIQUE, subsidiary INTEGER, currency INTEGER, terms INTEGER,
    creditlimit TEXT, creditholdoverride TEXT NOT NULL DEFAULT 'AUTO',
    isinactive TEXT NOT NULL DEFAULT 'F', isperson TEXT NOT NULL DEFAULT 'F',
    comments TEXT, datecreated TEXT NOT NULL, lastmodifieddate TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS contact (
    id INTEGER PRIMARY KEY, entityid TEXT, firstname TEXT, lastname TEXT, title TEXT,
    email TEXT, phone TEXT, company INTEGER, subsidiary INTEGER, externalid TEXT UNIQUE,
    isinactive TEXT NOT NULL DEFAULT 'F', datecreated TEXT NOT NULL,
    lastmodifieddate TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS item (
    id INTEGER PRIMARY KEY, itemid TEXT NOT NULL, displayname TEXT, description TEXT,
    salesdescription TEXT,
    itemtype TEXT NOT NULL, baseprice TEXT, externalid TEXT UNIQUE, subsidiary INTEGER,
    isinactive TEXT NOT NULL DEFAULT 'F', createddate TEXT NOT NULL,
    lastmodifieddate TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS pricelevel (
    id INTEGER PRIMARY KEY, name TEXT NOT NULL, isinactive TEXT NOT NULL DEFAULT 'F'
);
CREATE TABLE IF NOT EXISTS pricing (
    item INTEGER NOT NULL, pricelevel INTEGER NOT NULL, currency INTEGER NOT NULL,
    quantity TEXT NOT NULL DEFAULT '0', unitprice TEXT NOT NULL,
    PRIMARY KEY (item, pricelevel, currency, quantity)
);
CREATE TABLE IF NOT EXISTS "transaction" (
    id INTEGER PRIMARY KEY, tranid TEXT NOT NULL, type TEXT NOT NULL, recordtype TEXT NOT NULL,
    entity INTEGER NOT NULL, trandate TEXT NOT NULL, duedate TEXT, status TEXT NOT NULL,
    currency INTEGER NOT NULL, exchangerate TEXT NOT NULL, subsidiary INTEGER NOT NULL,
    terms INTEGER, memo TEXT, otherrefnum TEXT, externalid TEXT,
    foreigntotal TEXT NOT NULL DEFAULT '0', foreignamountunpaid TEXT,
    foreignamountpaid TEXT, foreignpaymentamountused TEXT, foreignpaymentamountunused TEXT,
    createddate TEXT NOT NULL, lastmodifieddate TEXT NOT NULL,
    UNIQUE (recordtype, externalid)
);
CREATE TABLE IF NOT EXISTS transactionline (
    uniquekey INTEGER PRIMARY KEY, "transaction" INTEGER NOT NULL, id INTEGER NOT NULL,
    linesequencenumber INTEGER NOT NULL, mainline TEXT NOT NULL, taxline TEXT NOT NULL DEFAULT 'F',
    item INTEGER, quantity TEXT, rate TEXT, foreignamount TEXT, netamount TEXT, memo TEXT,
    subsidiary INTEGER, entity INTEGER, createdfrom INTEGER, linelastmodifieddate TEXT,
    UNIQUE ("transaction", id)
);
CREATE TABLE IF NOT EXISTS nexttransactionlinelink (
    id INTEGER PRIMARY KEY, linktype TEXT NOT NULL,
    previousdoc INTEGER NOT NULL, previousline INTEGER NOT NULL, previoustype TEXT NOT NULL,
    nextdoc INTEGER NOT NULL, nextline INTEGER NOT NULL, nexttype TEXT NOT NULL,
    foreignamount TEXT, linkdate TEXT NOT NULL, lastmodifieddate TEXT NOT NULL
);
CREATE VIEW IF NOT EXISTS previoustransactionlinelink AS SELECT * FROM nexttransactionlinelink;
CREATE TABLE IF NOT EXISTS deletedrecord (
    id INTEGER PRIMARY KEY, recordid INTEGER NOT NULL, recordtypename TEXT NOT NULL,
    type TEXT NOT NULL, name TEXT, externalid TEXT, deleteddate TEXT NOT NULL,
    context TEXT NOT NULL DEFAULT 'REST Web Services'
);
CREATE TABLE IF NOT EXISTS ns_job (
    id INTEGER PRIMARY KEY, idempotency_key TEXT UNIQUE, method TEXT NOT NULL,
    path TEXT NOT NULL, progress TEXT NOT NULL, start_time TEXT, end_time TEXT,
    result_status INTEGER, result_headers TEXT, result_body TEXT
);
CREATE TABLE IF NOT EXISTS ns_token (
    token TEXT PRIMARY KEY, client_id TEXT NOT NULL, expires_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ns_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


def to_internal(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def from_internal(value: str) -> dt.datetime:
    return dt.datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.UTC)


def is_internal(value: object) -> bool:
    return (
        isinstance(value, str)
        and len(value) == 27
        and value[10] == "T"
        and value.endswith("Z")
        and value[4] == "-"
    )


class Store:
    """The SQLite database of one account. Calls are synchronous and short; the server runs
    them on its event loop, one at a time."""

    def __init__(self, state_dir: Path, time_zone: str) -> None:
        self.path = state_dir / STORE_FILE
        self.zone = ZoneInfo(time_zone)
        self.conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.executescript(_SCHEMA)
        self._last_stamp = ""
        self._seed()

    def close(self) -> None:
        self.conn.close()

    # time -------------------------------------------------------------------------------

    def stamp(self) -> str:
        """Now, later than every stamp before it (``lastmodifieddate`` moves on each write)."""
        moment = dt.datetime.now(dt.UTC)
        value = to_internal(moment)
        if value <= self._last_stamp:
            value = to_internal(from_internal(self._last_stamp) + dt.timedelta(microseconds=1))
        self._last_stamp = value
        return value

    def local_date(self, value: str) -> dt.date:
        return from_internal(value).astimezone(self.zone).date()

    def date_to_internal(self, day: dt.date) -> str:
        return to_internal(dt.datetime.combine(day, dt.time(), tzinfo=self.zone))

    def today(self) -> str:
        return self.date_to_internal(dt.datetime.now(self.zone).date())

    # sql --------------------------------------------------------------------------------

    def rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return list(self.conn.execute(sql, params).fetchall())

    def row(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        row: sqlite3.Row | None = self.conn.execute(sql, params).fetchone()
        return row

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> int:
        cursor = self.conn.execute(sql, params)
        return int(cursor.lastrowid or 0)

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    def meta(self, key: str) -> str | None:
        row = self.row("SELECT value FROM ns_meta WHERE key = ?", (key,))
        return None if row is None else str(row["value"])

    def set_meta(self, key: str, value: str) -> None:
        self.execute(
            "INSERT INTO ns_meta (key, value) VALUES (?, ?)"
            " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )

    def _seed(self) -> None:
        if self.meta("seeded") == "1":
            return
        now = self.stamp()
        with self.transaction():
            for row in ((1, "US Dollar", "USD", "1.0", "T"), (2, "Euro", "EUR", "1.08", "F")):
                self.execute(
                    "INSERT INTO currency (id, name, symbol, exchangerate, isbasecurrency,"
                    " lastmodifieddate) VALUES (?, ?, ?, ?, ?, ?)",
                    (*row, now),
                )
            self.execute(
                "INSERT INTO currency (id, name, symbol, exchangerate, lastmodifieddate)"
                " VALUES (3, 'British pound', 'GBP', '1.27', ?)",
                (now,),
            )
            self.execute(
                "INSERT INTO subsidiary (id, name, currency, lastmodifieddate)"
                " VALUES (1, 'Parent Company', 1, ?), (2, 'Europe', 2, ?)",
                (now, now),
            )
            for term in ((1, "Net 15", 15), (2, "Net 30", 30), (3, "Net 60", 60)):
                self.execute(
                    "INSERT INTO term (id, name, daysuntilnetdue, lastmodifieddate)"
                    " VALUES (?, ?, ?, ?)",
                    (*term, now),
                )
            self.execute(
                "INSERT INTO term (id, name, daysuntilnetdue, lastmodifieddate)"
                " VALUES (4, 'Due on receipt', 0, ?)",
                (now,),
            )
            self.execute(
                "INSERT INTO pricelevel (id, name) VALUES (1, 'Base Price'),"
                " (2, 'Alternate Price 1'), (3, 'Alternate Price 2'), (5, 'Online Price')"
            )
            self.set_meta("seeded", "1")
