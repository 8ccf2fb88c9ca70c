"""An in-memory system for the strategies' tests: a table whose rows carry a modification
time, read through the modified-since strategy (no Kafka, no peer)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from connectors.base.tracking import ModifiedSinceStream, RecordId
from schemas import Operation, RawChange

T0 = dt.datetime(2026, 11, 26, 9, 0, tzinfo=dt.UTC)
SYSTEM = "memory"


def at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


def change(
    rid: RecordId, operation: Operation, record: Mapping[str, Any], stamp: dt.datetime
) -> RawChange:
    return RawChange.of(
        system=SYSTEM,
        object="thing",
        record_id=str(rid),
        operation=operation,
        source_ts=stamp,
        cursor=f"{stamp.isoformat()}/{rid}",
        record=dict(record),
        observed_at=stamp,
    )


class Table:
    """Rows by id, each with the time it was last modified (stamped by the writer, as a
    transaction start would be: possibly older than rows already visible)."""

    def __init__(self) -> None:
        self.rows: dict[int, tuple[dt.datetime, dict[str, Any]]] = {}
        self.pages_read = 0

    def write(self, rid: int, stamp: dt.datetime, **data: Any) -> None:
        self.rows[rid] = (stamp, {"id": rid, **data})

    def delete(self, rid: int) -> None:
        del self.rows[rid]


class MemoryStream(ModifiedSinceStream):
    system = SYSTEM
    name = "thing"
    replication_key = "modified"
    reports_deletes = True

    def __init__(self, table: Table, **options: Any) -> None:
        super().__init__(**options)
        self.table = table

    async def page(
        self, since: dt.datetime | None, after: tuple[dt.datetime, RecordId] | None
    ) -> list[dict[str, Any]]:
        self.table.pages_read += 1
        keys = sorted(
            (stamp, rid)
            for rid, (stamp, _) in self.table.rows.items()
            if (since is None or stamp >= since) and (after is None or (stamp, rid) > after)
        )
        return [{"id": rid, "modified": stamp} for stamp, rid in keys[: self.page_size]]

    async def changes(self, fresh: Sequence[Mapping[str, Any]]) -> list[RawChange]:
        found = [self.table.rows.get(int(row["id"])) for row in fresh]
        return [
            change(record["id"], Operation.UPDATE, record, stamp)
            for stamp, record in (f for f in found if f is not None)
        ]

    async def present_ids(self) -> frozenset[int]:
        return frozenset(self.table.rows)

    async def newest(self) -> dt.datetime | None:
        return max((stamp for stamp, _ in self.table.rows.values()), default=None)

    def deleted(self, record_id: int, seen_at: dt.datetime) -> RawChange:
        return change(record_id, Operation.DELETE, {}, seen_at)


def published(changes: Sequence[RawChange]) -> list[tuple[str, Operation]]:
    return [(c.record_id, c.operation) for c in changes]
