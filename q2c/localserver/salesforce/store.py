"""The local org's data: every record in memory for the queries, written through to SQLite
in the state directory so the org survives a restart.

A write happens inside a :class:`Transaction`: each record it touches is saved in an undo
log first, so a failed record (``allOrNone=false``) or a whole request (``allOrNone=true``,
any error) rolls back exactly; on commit the touched records go to SQLite in one database
transaction and then, in commit order, to the :class:`~.changes.ChangeFeed` as one
:class:`~.changes.RecordChange` per record and change."""

from __future__ import annotations

import copy
import json
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from .changes import ChangeFeed, ChangeType, RecordChange
from .ids import make_id
from .schema import FieldDef, ObjectDef, custom_field_object, standard_objects
from .values import format_datetime

_SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY, sobject TEXT NOT NULL, doc TEXT NOT NULL, deleted_at TEXT
);
CREATE TABLE IF NOT EXISTS custom_fields (
    id TEXT PRIMARY KEY, sobject TEXT NOT NULL, doc TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (prefix TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""

INTEGRATION_USERNAME = "integration@q2c.example.com"


class NullFeed:
    """The default feed: nobody listens."""

    def publish(self, changes: list[RecordChange]) -> None:
        del changes


@dataclass
class Row:
    sobject: str
    values: dict[str, Any]
    deleted_at: datetime | None = None

    @property
    def id(self) -> str:
        return str(self.values["Id"])


@dataclass(frozen=True)
class WriteContext:
    """Who writes and through what: the change's ``commitUser`` and ``changeOrigin``."""

    user_id: str
    change_origin: str = ""


@dataclass
class _Change:
    row_id: str
    sobject: str
    change_type: ChangeType
    fields: dict[str, Any]
    nulled: tuple[str, ...] = ()


class Store:
    def __init__(self, path: Path, feed: ChangeFeed | None = None, *, quotes: bool = True) -> None:
        self.path = path
        self.feed: ChangeFeed = feed or NullFeed()
        self.objects: dict[str, ObjectDef] = standard_objects(quotes=quotes)
        self.custom_field_object = custom_field_object()
        self.custom_fields: dict[str, dict[str, Any]] = {}
        self.rows: dict[str, Row] = {}
        self._by_type: dict[str, dict[str, Row]] = {}
        self._last_stamp = datetime.fromtimestamp(0, UTC)
        self._commit_number = 0
        self._db = sqlite3.connect(path, isolation_level=None)
        self._db.executescript(_SCHEMA_SQL)
        # WAL with NORMAL sync: a commit survives a process crash; only a power loss may
        # lose the last transactions.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._counters: dict[str, int] = dict(
            self._db.execute("SELECT prefix, value FROM counters").fetchall()
        )
        self._load()

    def close(self) -> None:
        self._db.close()

    # Reading.

    def object(self, name: str) -> ObjectDef | None:
        """The object named ``name`` (case-insensitive)."""
        wanted = name.lower()
        return next((o for key, o in self.objects.items() if key.lower() == wanted), None)

    def get(self, record_id: str) -> Row | None:
        return self.rows.get(record_id)

    def all_rows(self, sobject: str, include_deleted: bool = False) -> Iterator[Row]:
        """The object's records in creation order (a copy: writes may follow)."""
        for row in list(self._by_type.get(sobject, {}).values()):
            if include_deleted or row.deleted_at is None:
                yield row

    def put(self, row: Row) -> None:
        self.rows[row.id] = row
        self._by_type.setdefault(row.sobject, {})[row.id] = row

    def drop(self, row_id: str) -> None:
        row = self.rows.pop(row_id, None)
        if row is not None:
            self._by_type.get(row.sobject, {}).pop(row_id, None)

    def now(self) -> datetime:
        """The current time, strictly after the last one handed out (millisecond steps), so
        SystemModstamp orders every write."""
        moment = datetime.now(UTC)
        moment = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
        if moment <= self._last_stamp:
            moment = self._last_stamp + timedelta(milliseconds=1)
        self._last_stamp = moment
        return moment

    @property
    def integration_user_id(self) -> str:
        return make_id("005", 1)

    @property
    def standard_pricebook_id(self) -> str:
        return make_id("01s", 1)

    # Writing.

    def next_id(self, prefix: str) -> str:
        """A new id; the counters are saved with the next commit (an id of a write that
        never commits is never seen, so it may come again after a restart)."""
        self._counters[prefix] = self._counters.get(prefix, 0) + 1
        return make_id(prefix, self._counters[prefix])

    def transaction(self, context: WriteContext) -> Transaction:
        return Transaction(self, context)

    def publish(self, changes: list[RecordChange]) -> None:
        """Hands one committed transaction's changes to the feed; also the path for events
        the store did not make itself (gap and overflow events)."""
        if changes:
            self.feed.publish(changes)

    def add_custom_field(self, sobject: str, definition: FieldDef, doc: dict[str, Any]) -> str:
        field_id = self.next_id("00N")
        doc = {**doc, "Id": field_id}
        # Existing records get the field's empty value: false for a checkbox, else null.
        rows = list(self.all_rows(sobject, include_deleted=True))
        for row in rows:
            row.values[definition.name] = False if definition.type == "boolean" else None
        self._db.execute("BEGIN")
        try:
            self._db.execute(
                "INSERT INTO custom_fields (id, sobject, doc) VALUES (?, ?, ?)",
                (field_id, sobject, json.dumps({"definition": _field_doc(definition), **doc})),
            )
            self._save_counters()
            self._upsert_rows(rows)
        except BaseException:
            self._db.execute("ROLLBACK")
            for row in rows:
                row.values.pop(definition.name, None)
            raise
        self._db.execute("COMMIT")
        self.objects[sobject].add_field(definition)
        self.custom_fields[field_id] = doc
        return field_id

    def _load(self) -> None:
        for field_id, sobject, doc_text in self._db.execute(
            "SELECT id, sobject, doc FROM custom_fields ORDER BY rowid"
        ):
            doc = json.loads(doc_text)
            definition = FieldDef(**_field_from_doc(doc.pop("definition")))
            self.objects[sobject].add_field(definition)
            self.custom_fields[field_id] = doc
        for record_id, sobject, doc_text, deleted_at in self._db.execute(
            "SELECT id, sobject, doc, deleted_at FROM records ORDER BY rowid"
        ):
            del record_id
            self.put(
                Row(
                    sobject,
                    json.loads(doc_text),
                    datetime.fromisoformat(deleted_at) if deleted_at else None,
                )
            )
        if not self.rows:
            self._seed()

    def _seed(self) -> None:
        """A new org: its integration user and its standard price book."""
        now = format_datetime(self.now())
        user_id = self.next_id("005")
        pricebook_id = self.next_id("01s")
        system = {
            "IsDeleted": False,
            "CreatedDate": now,
            "CreatedById": user_id,
            "LastModifiedDate": now,
            "LastModifiedById": user_id,
            "SystemModstamp": now,
        }
        user = Row(
            "User",
            {
                "Id": user_id,
                "Username": INTEGRATION_USERNAME,
                "FirstName": "Integration",
                "LastName": "User",
                "Name": "Integration User",
                "Email": INTEGRATION_USERNAME,
                "Alias": "integ",
                "IsActive": True,
                **system,
            },
        )
        pricebook = Row(
            "Pricebook2",
            {
                "Id": pricebook_id,
                "Name": "Standard Price Book",
                "IsActive": True,
                "IsStandard": True,
                "Description": None,
                **system,
            },
        )
        for row in (user, pricebook):
            self.put(row)
        self._write([user, pricebook])

    def _save_counters(self) -> None:
        self._db.executemany(
            "INSERT INTO counters (prefix, value) VALUES (?, ?) "
            "ON CONFLICT (prefix) DO UPDATE SET value = excluded.value",
            list(self._counters.items()),
        )

    def _upsert_rows(self, rows: list[Row]) -> None:
        self._db.executemany(
            "INSERT INTO records (id, sobject, doc, deleted_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc, "
            "deleted_at = excluded.deleted_at",
            [
                (
                    row.id,
                    row.sobject,
                    json.dumps(row.values),
                    row.deleted_at.isoformat() if row.deleted_at else None,
                )
                for row in rows
            ],
        )

    def _write(self, rows: list[Row]) -> None:
        self._db.execute("BEGIN")
        try:
            self._save_counters()
            self._upsert_rows(rows)
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def _save(self, transaction: Transaction) -> None:
        touched = {change.row_id for change in transaction.changes}
        self._write([self.rows[row_id] for row_id in touched])

    def _publish(self, transaction: Transaction) -> None:
        self._commit_number += 1
        key = secrets.token_hex(16)
        stamp = int(self._last_stamp.timestamp() * 1000)
        self.publish(
            [
                RecordChange(
                    entity=change.sobject,
                    change_type=change.change_type,
                    record_ids=(change.row_id,),
                    fields=change.fields,
                    changed_fields=tuple(change.fields),
                    nulled_fields=change.nulled,
                    transaction_key=key,
                    sequence_number=number,
                    commit_timestamp_ms=stamp,
                    commit_number=self._commit_number,
                    commit_user=transaction.context.user_id,
                    change_origin=transaction.context.change_origin,
                )
                for number, change in enumerate(transaction.changes, start=1)
            ]
        )


@dataclass
class Transaction:
    store: Store
    context: WriteContext
    changes: list[_Change] = field(default_factory=list)
    _undo: list[tuple[str, Row | None]] = field(default_factory=list)
    _done: bool = False

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> None:
        if kind is None:
            self.commit()
        else:
            self.rollback_to((0, 0))

    def savepoint(self) -> tuple[int, int]:
        return len(self._undo), len(self.changes)

    def rollback_to(self, savepoint: tuple[int, int]) -> None:
        undo_mark, change_mark = savepoint
        while len(self._undo) > undo_mark:
            row_id, previous = self._undo.pop()
            if previous is None:
                self.store.drop(row_id)
            else:
                self.store.put(previous)
        del self.changes[change_mark:]

    def commit(self) -> None:
        """Saves and publishes the changes; when saving fails, memory is rolled back too."""
        if self._done or not self.changes:
            self._done = True
            return
        try:
            self.store._save(self)
        except BaseException:
            self.rollback_to((0, 0))
            raise
        self._done = True
        self.store._publish(self)

    def _remember(self, row_id: str) -> None:
        previous = self.store.rows.get(row_id)
        self._undo.append((row_id, copy.deepcopy(previous) if previous else None))

    def insert(self, row: Row, moment: datetime) -> None:
        stamp = format_datetime(moment)
        row.values.update(
            {
                "IsDeleted": False,
                "CreatedDate": stamp,
                "CreatedById": self.context.user_id,
                "LastModifiedDate": stamp,
                "LastModifiedById": self.context.user_id,
                "SystemModstamp": stamp,
            }
        )
        self._remember(row.id)
        self.store.put(row)
        self.changes.append(_Change(row.id, row.sobject, "CREATE", dict(row.values)))

    def modify(self, row_id: str, values: dict[str, Any], moment: datetime) -> None:
        """Sets ``values`` on the record; a change only for fields whose value changes (the
        audit fields always move, as on the platform)."""
        row = self.store.rows[row_id]
        changed = {k: v for k, v in values.items() if row.values.get(k) != v}
        stamp = format_datetime(moment)
        changed.update(
            {
                "LastModifiedDate": stamp,
                "LastModifiedById": self.context.user_id,
                "SystemModstamp": stamp,
            }
        )
        self._remember(row_id)
        row.values.update(changed)
        nulled = tuple(k for k, v in changed.items() if v is None)
        self.changes.append(_Change(row_id, row.sobject, "UPDATE", changed, nulled))

    def remove(self, row_id: str, moment: datetime) -> None:
        """Moves the record to the recycle bin: ``IsDeleted`` true, visible to queryAll and
        getDeleted until the retention ends."""
        row = self.store.rows[row_id]
        self._remember(row_id)
        stamp = format_datetime(moment)
        row.values.update(
            {
                "IsDeleted": True,
                "LastModifiedDate": stamp,
                "LastModifiedById": self.context.user_id,
                "SystemModstamp": stamp,
            }
        )
        row.deleted_at = moment
        self.changes.append(_Change(row_id, row.sobject, "DELETE", {}))


def _field_doc(definition: FieldDef) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in definition.__dict__.items()}


def _field_from_doc(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(v) if isinstance(v, list) else v for k, v in doc.items()}
