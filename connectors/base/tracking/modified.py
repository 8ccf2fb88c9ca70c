"""Strategy (a): modified-since polling with an overlap window and delete scans by id.

A stream asks its system for the records modified since its high-water mark, oldest first,
ordered by (replication key, id) and paged by that key, so a record modified while a poll
pages through moves to the end instead of shifting the pages.

Many systems stamp a record with the time its *transaction started*, not when it committed
(Tryton does): a long transaction can commit records older than the high-water mark after
a poll has passed them. So each poll reaches back an ``overlap`` window before the mark,
and the cursor keeps (id, timestamp) of every record already published within that window
(:class:`PollWindow`), so the re-read ones are not published again. A record changed again
has a new timestamp and is published.

Deletions that leave no trace are found by comparing ids: the cursor keeps the ids the
stream has published and not seen deleted (as ranges, so it stays small), and every
``delete_scan`` the stream lists the ids the system still has and publishes a delete for
each one gone (:func:`track_published`, :func:`compare_ids`).

What a system implements: :meth:`ModifiedSinceStream.page` (one page of (id, replication
key) rows), :meth:`~ModifiedSinceStream.changes` (the full records of the fresh rows as raw
changes), and, to report deletes, :meth:`~ModifiedSinceStream.present_ids` and
:meth:`~ModifiedSinceStream.deleted`.
"""

from __future__ import annotations

import datetime as dt
from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar

from connectors.base.source import Batch, Stream
from connectors.base.tracking.modified_cursor import ModifiedCursor, RecordId, stamp_text
from schemas import RawChange

Row = Mapping[str, Any]
Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class PollWindow:
    """One poll's pass over the pages: which rows are fresh, how far the mark moves, and
    what the next cursor remembers. Pure: no I/O, the caller feeds it pages."""

    cursor: ModifiedCursor
    overlap: dt.timedelta
    high_water: dt.datetime | None = None
    after: tuple[dt.datetime, RecordId] | None = None
    """The key of the last row read: the next page starts after it."""
    fresh: list[tuple[RecordId, dt.datetime]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.high_water = self.cursor.high_water

    @property
    def since(self) -> dt.datetime | None:
        """Where the poll starts: the overlap window before the mark (None: everything)."""
        mark = self.cursor.high_water
        return mark - self.overlap if mark is not None else None

    def take(self, page: Iterable[tuple[RecordId, dt.datetime]]) -> list[int]:
        """The positions in ``page`` of the rows not published yet; moves the mark."""
        fresh: list[int] = []
        for position, (rid, stamp) in enumerate(page):
            self.after = (stamp, rid)
            self.high_water = stamp if self.high_water is None else max(self.high_water, stamp)
            if (rid, stamp_text(stamp)) not in self.cursor.seen:
                self.fresh.append((rid, stamp))
                fresh.append(position)
        return fresh

    def close(self) -> ModifiedCursor:
        """The cursor after publishing the fresh rows: the new mark, and the (id, stamp)
        pairs still inside the overlap window behind it."""
        horizon = self.high_water - self.overlap if self.high_water else None
        published = {(rid, stamp_text(stamp)) for rid, stamp in self.fresh}
        seen = {
            key
            for key in self.cursor.seen | published
            if horizon is None or dt.datetime.fromisoformat(key[1]) >= horizon
        }
        return replace(self.cursor, high_water=self.high_water, seen=frozenset(seen))


def track_published(
    cursor: ModifiedCursor, published: Iterable[int], every: dt.timedelta | None, now: dt.datetime
) -> tuple[ModifiedCursor, bool]:
    """The cursor with ``published`` ids known, and whether a delete scan is due.

    With ``every`` None deletes are not tracked: the cursor forgets its ids, and a stream
    turned back on later starts afresh from the system's ids."""
    if every is None:
        return replace(cursor, known=None, scanned_at=None), False
    known = None if cursor.known is None else cursor.known | frozenset(published)
    due = cursor.scanned_at is None or now - cursor.scanned_at >= every
    return replace(cursor, known=known), due


def compare_ids(
    cursor: ModifiedCursor, present: frozenset[int], published: Iterable[int], now: dt.datetime
) -> tuple[list[int], ModifiedCursor]:
    """The ids published and no longer ``present`` (deleted), and the cursor after the scan.

    A cursor that never tracked ids (written before deletes were tracked) cannot know what
    was deleted until now: it starts from the ids the system has."""
    if cursor.known is None:
        return [], replace(cursor, known=present | frozenset(published), scanned_at=now)
    gone = sorted(cursor.known - present)
    return gone, replace(cursor, known=cursor.known & present, scanned_at=now)


class ModifiedSinceStream(Stream):
    """One object type polled by its replication key (Meltano's model: a stream declares
    ``name``, ``primary_key``, ``replication_key``; a system's subclass says how to read).

    A stream with ``reports_deletes`` compares, every ``delete_scan`` (None: never), the
    ids it published with those the system still has. Only a stream that reads *every*
    record of its object may: one filtered by a domain would take a record leaving the
    domain for a deleted one (``filtered`` True refuses it at class creation)."""

    primary_key: ClassVar[str] = "id"
    replication_key: ClassVar[str]
    reports_deletes: ClassVar[bool] = False
    filtered: ClassVar[bool] = False
    republishes: ClassVar[bool] = False
    """The stream publishes records of another stream when its own records are edited (a
    party when its address is). Its first read publishes nothing: the other stream's first
    read publishes every one of those records as it then is. It only marks the stream's
    records as read up to the newest (:meth:`newest`), and the edits after that are
    published. On a first sync of 100,000 parties with an address and an e-mail address
    each, every party would otherwise be read and published three times."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.reports_deletes and cls.filtered:
            raise TypeError(f"{cls.__name__} filters by a domain: it cannot report deletes")

    def __init__(
        self,
        *,
        overlap: dt.timedelta = dt.timedelta(minutes=2),
        page_size: int = 200,
        batch_size: int = 500,
        delete_scan: dt.timedelta | None = dt.timedelta(minutes=5),
        clock: Clock = utc_now,
    ) -> None:
        self.overlap = overlap
        self.page_size = page_size
        self.batch_size = batch_size
        self.delete_scan = delete_scan
        self.clock = clock

    @abstractmethod
    async def page(
        self, since: dt.datetime | None, after: tuple[dt.datetime, RecordId] | None
    ) -> Sequence[Row]:
        """Up to ``page_size`` rows (primary and replication key at least) modified at or
        after ``since`` (None: all) and after the key ``after``, ordered by the key."""

    @abstractmethod
    async def changes(self, fresh: Sequence[Row]) -> list[RawChange]:
        """The raw changes of the ``fresh`` rows (re-read in full; gone ones left out)."""

    async def newest(self) -> dt.datetime | None:
        """The replication key of the stream's most recently modified record (None: none)."""
        raise NotImplementedError(f"{type(self).__name__} does not tell its newest record")

    async def present_ids(self) -> frozenset[int]:
        """Every id of the object the system has now (for delete scans)."""
        raise NotImplementedError(f"{type(self).__name__} does not list its ids")

    def deleted(self, record_id: int, seen_at: dt.datetime) -> RawChange:
        """The delete change of ``record_id``, found gone at ``seen_at``."""
        raise NotImplementedError(f"{type(self).__name__} does not report deletes")

    def decode(self, cursor: str | None) -> ModifiedCursor:
        return ModifiedCursor.decode(cursor, self.system)

    def cursor_since(self, when: dt.datetime | None) -> str | None:
        """A cursor that reads the records modified since ``when`` (the overlap window
        before it included); None: from the beginning. A re-snapshot starts here."""
        return ModifiedCursor(high_water=when).encode() if when is not None else None

    def _key(self, row: Row) -> tuple[RecordId, dt.datetime]:
        rid = row[self.primary_key]
        stamp = row[self.replication_key]
        if not isinstance(stamp, dt.datetime):
            raise TypeError(f"{self.cursor_key}: {self.replication_key} is not a datetime")
        return (rid if isinstance(rid, str) else int(rid)), stamp

    async def read(self, cursor: str | None) -> Batch:
        state = self.decode(cursor)
        quiet = cursor is None and self.republishes
        if quiet:
            # Marked read: the overlap window before the newest record, so that a later
            # edit of one of those records is told from the records as they are now.
            newest = await self.newest()
            if newest is None:  # none yet: whatever comes is published
                return Batch([], ModifiedCursor().encode())
            state = replace(state, high_water=newest)
        if cursor is None and self.reports_deletes:
            state = replace(state, known=frozenset())  # from the beginning: none published
        window = PollWindow(state, self.overlap)
        fresh: list[Row] = []
        more = False
        while True:
            page = await self.page(window.since, window.after)
            fresh += [page[i] for i in window.take(self._key(row) for row in page)]
            if len(page) < self.page_size:
                break
            if len(fresh) >= self.batch_size:
                more = True
                break
        changes = await self.changes(fresh) if fresh and not quiet else []
        polled = window.close()
        if self.reports_deletes:
            now = self.clock()
            published = [int(c.record_id) for c in changes]
            polled, due = track_published(polled, published, self.delete_scan, now)
            if due:
                gone, polled = compare_ids(polled, await self.present_ids(), published, now)
                changes = [*changes, *(self.deleted(rid, now) for rid in gone)]
        return Batch(changes, polled.encode(), more=more)
