"""Strategy (d): an event-stream subscription with a durable replay position.

The system pushes change events down a subscription (Salesforce Change Data Capture over
the Pub/Sub API is the first intended user). Each event carries an opaque *position*
(Salesforce's replay id); the stream's cursor is the position of the last event whose
changes Kafka acknowledged, so a restarted source subscribes *after* it and repeats at most
one batch. Flow control: each read requests at most ``batch_size`` events
(:meth:`Subscription.fetch`, Pub/Sub's ``num_requested``).

Events can be lost to a subscriber, and the channel says so with a typed signal, which
:func:`plan` maps to what the stream does (pure, no I/O):

- :class:`Gap` (events lost, their record ids known; Salesforce's ``GAP_*``) → re-read
  those records (:class:`Reread`), then go on.
- :class:`Overflow` (too many changes to list; Salesforce's ``GAP_OVERFLOW``) → re-snapshot
  that object from the last known time through the polling strategy, then resubscribe after
  the overflow (:class:`Resnapshot`).
- :class:`PositionExpired`, raised by the channel (the position is no longer retained, or
  corrupt) → re-snapshot every object from the last known time, then subscribe from the
  tip in the safe order below.

A stream with no cursor starts the same way: a snapshot of every object, then the events
from the tip.

**Subscribing from the tip without losing the window.** A subscription from the tip
(``Preset.LATEST``) starts at the newest event *when the system registers it*, which the
client cannot observe before the system first answers. A snapshot read before that moment
misses what is committed between its read and the registration; subscribing from the
earliest retained event instead replays up to the whole retention (72 hours on
Salesforce). So the stream records the time *T0* before the snapshot (``catchup``), takes
the snapshot, subscribes from the tip, and once the subscription has answered (an event,
or a keep-alive naming the tip: :attr:`Subscription.answered`) polls every object again
from *T0* (less the polling overlap), then resumes after the position the subscription had
reached. Every change is then seen: one committed before *T0* by the snapshot; one between
*T0* and the registration by the catch-up poll, which starts after the answer and so after
the registration; one after the registration by the subscription. The price is one
modified-since poll per object and some repeats, which downstream drops as
fingerprint-equal. A restart before the catch-up subscribes from the tip again and keeps
*T0*, so the argument holds across restarts.

While re-snapshotting, the cursor holds the polling streams' cursors, so a source killed
halfway resumes the re-snapshot where it was.

What a system implements: an :class:`EventChannel` (``subscribe(from_position)``) whose
subscriptions say when they are ``answered`` and where they stand,
:meth:`EventStream.changes_of` (an event's raw changes), :meth:`EventStream.reread`
(records by id) and, per object, a
:class:`~connectors.base.tracking.modified.ModifiedSinceStream` to re-snapshot with.
"""

from __future__ import annotations

import datetime as dt
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any, ClassVar

import orjson

from connectors.base.errors import ConnectorError, ErrorKind
from connectors.base.source import Batch, Stream
from connectors.base.tracking.modified import ModifiedSinceStream
from schemas import RawChange

log = logging.getLogger(__name__)

PREFIX = "ev1:"
TIP = "@latest"
"""The position that stands for "subscribe from the tip" (``Preset.LATEST``)."""


class Preset(StrEnum):
    """Where to subscribe when there is no position to resume after."""

    EARLIEST = "earliest"
    LATEST = "latest"


@dataclass(frozen=True)
class ChannelEvent:
    """One change event: its position, the time the system committed it, its payload."""

    position: str
    at: dt.datetime
    payload: Any


@dataclass(frozen=True)
class Gap:
    """Events were lost; these records of ``object`` changed: re-read them."""

    position: str
    at: dt.datetime
    object: str
    record_ids: tuple[str, ...]


@dataclass(frozen=True)
class Overflow:
    """More changes of ``object`` than the channel could list: re-snapshot it."""

    position: str
    at: dt.datetime
    object: str


Delivery = ChannelEvent | Gap | Overflow


class PositionExpired(Exception):
    """The channel cannot resume after the requested position (expired or corrupt)."""

    def __init__(self, position: str | Preset, reason: str = "") -> None:
        super().__init__(f"position {str(position)[:40]!r} expired: {reason or 'no reason'}")
        self.position = position


class Subscription(ABC):
    """An open subscription; the channel sends only what was requested."""

    @property
    def answered(self) -> bool:
        """Whether the channel has answered this subscription, so its start is fixed (a
        channel that registers a subscription as it opens answers True)."""
        return True

    def position(self) -> str | None:
        """Where the subscription stands: after its last delivery, or the tip the channel
        reported (None: not known yet)."""
        return None

    @abstractmethod
    async def fetch(self, n: int, wait: float) -> Sequence[Delivery]:
        """Request up to ``n`` deliveries and return those that arrive within ``wait``
        seconds (none when the channel is idle). Raises :class:`PositionExpired`."""

    @abstractmethod
    async def close(self) -> None: ...


class EventChannel(ABC):
    @abstractmethod
    async def subscribe(self, start: str | Preset) -> Subscription:
        """Deliveries after the position ``start`` (or from the preset). May raise
        :class:`PositionExpired`, here or on the first fetch."""


@dataclass(frozen=True)
class Resync:
    """A re-snapshot in progress: each object still to catch up with its polling cursor,
    and where to subscribe when done (None: the earliest retained event)."""

    pending: tuple[tuple[str, str | None], ...]
    resume: str | None
    reason: str


@dataclass(frozen=True)
class EventCursor:
    """The durable state of an event stream: the position of the last event handled, the
    time the system committed it (the last known time), a re-snapshot in progress."""

    position: str | None = None
    at: dt.datetime | None = None
    resync: Resync | None = None
    catchup: dt.datetime | None = None
    """Poll every object from this time once a subscription from the tip has answered
    (see the module docstring)."""

    def encode(self) -> str:
        data: dict[str, Any] = {
            "pos": self.position,
            "at": self.at.isoformat() if self.at else None,
        }
        if self.catchup is not None:
            data["catchup"] = self.catchup.isoformat()
        if self.resync is not None:
            data["resync"] = {
                "pending": [list(pair) for pair in self.resync.pending],
                "resume": self.resync.resume,
                "reason": self.resync.reason,
            }
        return PREFIX + orjson.dumps(data).decode()

    @classmethod
    def decode(cls, text: str | None, system: str = "") -> EventCursor:
        if not text:
            return cls()
        if not text.startswith(PREFIX):
            raise ConnectorError(
                ErrorKind.FATAL,
                f"unknown {system or 'event stream'} cursor format {text[:10]!r}",
                system=system,
            )
        try:
            data = orjson.loads(text[len(PREFIX) :])
            at = dt.datetime.fromisoformat(data["at"]) if data["at"] else None
            resync = None
            if (sync := data.get("resync")) is not None:
                resync = Resync(
                    tuple((str(obj), cur) for obj, cur in sync["pending"]),
                    sync["resume"],
                    str(sync["reason"]),
                )
            catchup = dt.datetime.fromisoformat(data["catchup"]) if data.get("catchup") else None
            return cls(data["pos"], at, resync, catchup)
        except (ValueError, TypeError, KeyError) as exc:
            raise ConnectorError(
                ErrorKind.FATAL, f"unreadable {PREFIX} cursor: {exc}", system=system
            ) from None


@dataclass(frozen=True)
class Publish:
    event: ChannelEvent

    def describe(self) -> str:
        return "publish the event's changes"


@dataclass(frozen=True)
class Reread:
    object: str
    record_ids: tuple[str, ...]

    def describe(self) -> str:
        return f"re-read {len(self.record_ids)} {self.object} record(s) by id"


@dataclass(frozen=True)
class Resnapshot:
    objects: tuple[str, ...]
    since: dt.datetime | None
    resume: str | None
    reason: str

    def describe(self) -> str:
        start = f"since {self.since.isoformat()}" if self.since else "from the beginning"
        after = (
            "from the tip"
            if self.resume == TIP
            else f"after {self.resume}"
            if self.resume
            else "from the earliest retained event"
        )
        return (
            f"re-snapshot {', '.join(self.objects)} {start} by polling ({self.reason}), "
            f"then resubscribe {after}"
        )


Action = Publish | Reread | Resnapshot
StartCursor = Callable[[str, dt.datetime | None], str | None]
"""The polling cursor that reads an object's records modified since a time (None: all)."""


def resnapshot(
    cursor: EventCursor,
    objects: Sequence[str],
    since: dt.datetime | None,
    resume: str | None,
    reason: str,
    start: StartCursor,
) -> tuple[Resnapshot, EventCursor]:
    """Re-snapshot ``objects`` from ``since``, then subscribe after ``resume``."""
    action = Resnapshot(tuple(objects), since, resume, reason)
    pending = tuple((obj, start(obj, since)) for obj in objects)
    return action, replace(cursor, resync=Resync(pending, resume, reason))


def plan(delivery: Delivery, cursor: EventCursor, start: StartCursor) -> tuple[Action, EventCursor]:
    """What a delivery asks for, and the cursor once it is done."""
    if isinstance(delivery, ChannelEvent):
        return Publish(delivery), replace(cursor, position=delivery.position, at=delivery.at)
    if isinstance(delivery, Gap):
        after = replace(cursor, position=delivery.position, at=delivery.at)
        return Reread(delivery.object, delivery.record_ids), after
    # Overflow: what changed is unknown since the last event handled (all, without one).
    after = replace(cursor, position=delivery.position)
    return resnapshot(after, [delivery.object], cursor.at, delivery.position, "overflow", start)


def plan_expired(
    cursor: EventCursor,
    objects: Sequence[str],
    now: dt.datetime,
    reason: str,
    start: StartCursor,
) -> tuple[Resnapshot, EventCursor]:
    """The position cannot be resumed (or there is none): re-snapshot every object from the
    last known time, then subscribe from the tip and catch up from ``now`` (taken before the
    re-snapshot) once the subscription has answered; a catch-up still pending keeps its
    earlier time (its window is not covered yet)."""
    since = min(cursor.catchup, now) if cursor.catchup is not None else now
    return resnapshot(replace(cursor, catchup=since), objects, cursor.at, TIP, reason, start)


def plan_catchup(
    cursor: EventCursor, objects: Sequence[str], reached: str, start: StartCursor
) -> tuple[Resnapshot, EventCursor]:
    """The subscription from the tip has answered at ``reached``: poll every object from
    the catch-up time, then resume after ``reached``."""
    assert cursor.catchup is not None
    since = cursor.catchup
    after = replace(cursor, position=reached, catchup=None)
    return resnapshot(after, objects, since, reached, "catch-up", start)


def resync_step(cursor: EventCursor, polled: str | None, more: bool) -> EventCursor:
    """The cursor after one read of the first pending object's polling stream, which
    returned the cursor ``polled``: the object is done when it has nothing more; when
    every object is, the stream resubscribes after the resync's resume position."""
    assert cursor.resync is not None
    (obj, _), *rest = cursor.resync.pending
    if more:
        pending = ((obj, polled), *rest)
        return replace(cursor, resync=replace(cursor.resync, pending=tuple(pending)))
    if rest:
        return replace(cursor, resync=replace(cursor.resync, pending=tuple(rest)))
    return replace(cursor, position=cursor.resync.resume, resync=None)


class EventStream(Stream):
    """Changes of one or more objects from an event channel; see the module docstring."""

    follows: ClassVar[bool] = True

    def __init__(
        self,
        channel: EventChannel,
        fallback: Mapping[str, ModifiedSinceStream],
        *,
        batch_size: int = 100,
        wait: float = 1.0,
    ) -> None:
        if not fallback:
            raise ValueError("an event stream needs a polling stream per object to resync")
        self.channel = channel
        self.fallback = dict(fallback)
        self.batch_size = batch_size
        self.wait = wait
        self._subscription: Subscription | None = None
        self._expected: str | None = None  # the cursor the open subscription continues

    @abstractmethod
    def changes_of(self, event: ChannelEvent) -> Sequence[RawChange]:
        """The raw changes one event stands for."""

    @abstractmethod
    async def reread(self, obj: str, record_ids: Sequence[str]) -> Sequence[RawChange]:
        """The records ``record_ids`` of ``obj`` as they are now (deletes for gone ones)."""

    def _start(self, obj: str, since: dt.datetime | None) -> str | None:
        return self.fallback[obj].cursor_since(since)

    def now(self) -> dt.datetime:
        """The time a snapshot is planned at (the catch-up poll starts there)."""
        return dt.datetime.now(dt.UTC)

    async def close(self) -> None:
        if self._subscription is not None:
            subscription, self._subscription = self._subscription, None
            await subscription.close()

    async def read(self, cursor: str | None) -> Batch:
        state = EventCursor.decode(cursor, self.system)
        if cursor is None:
            # From the beginning: a snapshot, then the events from the tip (safe order).
            _, state = plan_expired(state, list(self.fallback), self.now(), "snapshot", self._start)
            return Batch([], state.encode(), more=True)
        if state.resync is not None:
            await self.close()
            return await self._resync(state)
        try:
            return await self._follow(state, cursor)
        except PositionExpired as exc:
            await self.close()
            log.warning("%s: %s; re-snapshotting", self.cursor_key, exc)
            _, state = plan_expired(state, list(self.fallback), self.now(), "expired", self._start)
            return Batch([], state.encode(), more=True)

    async def _resync(self, state: EventCursor) -> Batch:
        assert state.resync is not None
        obj, polled = state.resync.pending[0]
        batch = await self.fallback[obj].read(polled)
        after = resync_step(state, batch.cursor, batch.more)
        return Batch(batch.changes, after.encode(), more=True, dead_letters=batch.dead_letters)

    async def _follow(self, state: EventCursor, cursor: str) -> Batch:
        if self._subscription is None or self._expected != cursor:
            # A new start, or the last batch was not stored: resume from the stored position.
            await self.close()
            start: str | Preset = Preset.EARLIEST if state.position is None else state.position
            self._subscription = await self.channel.subscribe(
                Preset.LATEST if start == TIP else start
            )
        subscription = self._subscription
        deliveries = await subscription.fetch(self.batch_size, self.wait)
        changes: list[RawChange] = []
        for delivery in deliveries:
            action, state = plan(delivery, state, self._start)
            if isinstance(action, Publish):
                changes += self.changes_of(action.event)
            elif isinstance(action, Reread):
                changes += await self.reread(action.object, action.record_ids)
            else:
                log.warning("%s: %s", self.cursor_key, action.describe())
                await self.close()  # what followed is read again after the re-snapshot
                break
        if state.catchup is not None and state.resync is None and subscription.answered:
            reached = state.position if state.position != TIP else subscription.position()
            if reached is not None:
                action, state = plan_catchup(state, list(self.fallback), reached, self._start)
                log.info("%s: %s", self.cursor_key, action.describe())
                await self.close()
        encoded = state.encode()
        self._expected = encoded if self._subscription is not None else None
        more = state.resync is not None or len(deliveries) >= self.batch_size
        return Batch(changes, encoded, more=more)
