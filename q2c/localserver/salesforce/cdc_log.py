"""The change-event log of the local Pub/Sub API: every change event, Avro encoded, in commit
order, with its replay id, kept in SQLite in the state dir for the retention period.

Replay ids are opaque 8-byte values, increasing but not contiguous (the documented
contract: subscribers store them and resume after them, never compute with them). A replay
id that names no retained event (purged after the retention period, or never issued) is
*corrupt*, as the Pub/Sub API calls both.
"""

from __future__ import annotations

import io
import secrets
import sqlite3
import struct
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import fastavro
import orjson

from q2c.localserver.salesforce.cdc_schema import EventSchema, event_record, standard_schema
from q2c.localserver.salesforce.changes import RecordChange

RETENTION_S = 72 * 3600.0
"""How long events are kept (Salesforce: 72 hours)."""

_SCHEMA = """
CREATE TABLE IF NOT EXISTS cdc_event (
    position INTEGER PRIMARY KEY,
    entity TEXT NOT NULL,
    schema_id TEXT NOT NULL,
    payload BLOB NOT NULL,
    stored_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS cdc_schema (
    schema_id TEXT PRIMARY KEY,
    entity TEXT NOT NULL,
    fields TEXT NOT NULL,
    schema_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cdc_current (entity TEXT PRIMARY KEY, schema_id TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS cdc_counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


class ReplayIdCorrupt(Exception):
    """The replay id names no retained event."""


@dataclass(frozen=True)
class StoredEvent:
    position: int
    entity: str
    schema_id: str
    payload: bytes

    @property
    def replay_id(self) -> bytes:
        return encode_replay_id(self.position)


def encode_replay_id(position: int) -> bytes:
    return struct.pack(">Q", position)


def decode_replay_id(replay_id: bytes) -> int:
    if len(replay_id) != 8:
        raise ReplayIdCorrupt(f"a replay id has 8 bytes, not {len(replay_id)}")
    (position,) = struct.unpack(">Q", replay_id)
    return int(position)


class ChangeEventLog:
    """Durable change events; safe to call from the store's thread and the server's."""

    def __init__(
        self,
        path: Path,
        *,
        retention_s: float = RETENTION_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.retention_s = retention_s
        self.clock = clock
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._parsed: dict[str, Any] = {}

    def close(self) -> None:
        with self._lock:
            self._db.close()

    # Schemas ------------------------------------------------------------------------------

    def current_schema(self, entity: str) -> EventSchema:
        row = self._db.execute(
            "SELECT s.fields FROM cdc_current c JOIN cdc_schema s USING (schema_id) "
            "WHERE c.entity = ?",
            (entity,),
        ).fetchone()
        if row is None:
            return standard_schema(entity)
        return EventSchema(entity, tuple((f, k) for f, k in orjson.loads(row[0])))

    def _register(self, schema: EventSchema) -> str:
        schema_id = schema.schema_id
        self._db.execute(
            "INSERT OR IGNORE INTO cdc_schema VALUES (?, ?, ?, ?)",
            (schema_id, schema.entity, orjson.dumps(schema.fields).decode(), schema.json()),
        )
        self._db.execute(
            "INSERT OR REPLACE INTO cdc_current VALUES (?, ?)", (schema.entity, schema_id)
        )
        return schema_id

    def schema_json(self, schema_id: str) -> str | None:
        row = self._db.execute(
            "SELECT schema_json FROM cdc_schema WHERE schema_id = ?", (schema_id,)
        ).fetchone()
        return None if row is None else str(row[0])

    def topic_schema_id(self, entity: str) -> str:
        with self._lock:
            return self._register(self.current_schema(entity))

    def _parsed_schema(self, schema_id: str) -> Any:
        if schema_id not in self._parsed:
            text = self.schema_json(schema_id)
            assert text is not None
            self._parsed[schema_id] = fastavro.parse_schema(orjson.loads(text))
        return self._parsed[schema_id]

    # Events -------------------------------------------------------------------------------

    def _next(self, name: str, step: int) -> int:
        row = self._db.execute("SELECT value FROM cdc_counter WHERE name = ?", (name,)).fetchone()
        value = (int(row[0]) if row else 0) + step
        self._db.execute("INSERT OR REPLACE INTO cdc_counter VALUES (?, ?)", (name, value))
        return value

    def append(self, changes: Sequence[RecordChange]) -> list[StoredEvent]:
        """Store one transaction's changes as change events, in order."""
        stored: list[StoredEvent] = []
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                now = self.clock()
                transaction_key = uuid.uuid4().hex
                commit_number = self._next("commit", 1)
                for change in changes:
                    schema = self.current_schema(change.entity).with_fields_of(change.fields)
                    schema_id = self._register(schema)
                    record = event_record(
                        schema,
                        change,
                        transaction_key=change.transaction_key or transaction_key,
                        commit_number=change.commit_number or commit_number,
                        commit_timestamp_ms=change.commit_timestamp_ms or int(now * 1000),
                    )
                    buffer = io.BytesIO()
                    fastavro.schemaless_writer(buffer, self._parsed_schema(schema_id), record)
                    # Positions grow by a random step: replay ids are not contiguous.
                    position = self._next("position", 1 + secrets.randbelow(7))
                    self._db.execute(
                        "INSERT INTO cdc_event VALUES (?, ?, ?, ?, ?)",
                        (position, change.entity, schema_id, buffer.getvalue(), now),
                    )
                    stored.append(
                        StoredEvent(position, change.entity, schema_id, buffer.getvalue())
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        return stored

    def purge(self) -> int:
        """Drop the events older than the retention period; how many were dropped."""
        cutoff = self.clock() - self.retention_s
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT MAX(position) FROM cdc_event WHERE stored_at < ?", (cutoff,)
                ).fetchone()
                if row[0] is not None:
                    self._db.execute(
                        "INSERT OR REPLACE INTO cdc_counter VALUES ('purged', ?)", (int(row[0]),)
                    )
                cursor = self._db.execute("DELETE FROM cdc_event WHERE stored_at < ?", (cutoff,))
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return cursor.rowcount

    def latest(self) -> int:
        """The position of the newest event ever appended (0: none)."""
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM cdc_counter WHERE name = 'position'"
            ).fetchone()
        return int(row[0]) if row else 0

    def earliest(self) -> int:
        """The position just before the oldest retained event."""
        self.purge()
        with self._lock:
            row = self._db.execute("SELECT MIN(position) FROM cdc_event").fetchone()
        if row[0] is None:
            return self.latest()
        return int(row[0]) - 1

    def check(self, replay_id: bytes) -> int:
        """The position of a replay id to resume after; raises :class:`ReplayIdCorrupt`."""
        position = decode_replay_id(replay_id)
        self.purge()
        with self._lock:
            row = self._db.execute(
                "SELECT 1 FROM cdc_event WHERE position = ?", (position,)
            ).fetchone()
            purged = self._db.execute(
                "SELECT value FROM cdc_counter WHERE name = 'purged'"
            ).fetchone()
        # The tip stays valid when purged; so does "before the first event" (the latest
        # replay id of a channel that had none) until an event was purged.
        if row is None and position != self.latest() and (position or purged):
            raise ReplayIdCorrupt("the replay id names no retained event")
        return position

    def after(self, position: int, limit: int) -> list[StoredEvent]:
        with self._lock:
            rows = self._db.execute(
                "SELECT position, entity, schema_id, payload FROM cdc_event "
                "WHERE position > ? ORDER BY position LIMIT ?",
                (position, limit),
            ).fetchall()
        return [StoredEvent(int(p), str(e), str(s), bytes(b)) for p, e, s, b in rows]
