"""An in-process event channel for the event-stream strategy's tests (not Kafka): a log
of deliveries with positions ``"1"``, ``"2"``, ..., a retention that drops old ones, and a
record of how many deliveries each fetch requested (flow control); and a stream of the
in-memory system's things on it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from connectors.base.tracking import (
    ChannelEvent,
    EventChannel,
    Gap,
    Overflow,
    PositionExpired,
    Preset,
    Subscription,
)
from connectors.base.tracking.events import Delivery, EventStream
from schemas import Operation, RawChange
from tests.connectors.base.tracking.memory import SYSTEM, MemoryStream, Table, at, change


class FakeChannel(EventChannel):
    def __init__(self) -> None:
        self.log: list[Delivery] = []
        self.retained_from = 0  # index of the oldest delivery still kept
        self.subscribed: list[str | Preset] = []
        self.requested: list[int] = []
        self.delivered: list[int] = []

    @property
    def next_position(self) -> str:
        return str(len(self.log) + 1)

    def event(self, when: dt.datetime, **payload: Any) -> ChannelEvent:
        event = ChannelEvent(self.next_position, when, payload)
        self.log.append(event)
        return event

    def gap(self, when: dt.datetime, obj: str, *ids: str) -> None:
        self.log.append(Gap(self.next_position, when, obj, ids))

    def overflow(self, when: dt.datetime, obj: str) -> None:
        self.log.append(Overflow(self.next_position, when, obj))

    def expire(self, keep_from: int) -> None:
        """Drop the deliveries before position ``keep_from``."""
        self.retained_from = keep_from - 1

    async def subscribe(self, start: str | Preset) -> Subscription:
        self.subscribed.append(start)
        if start is Preset.EARLIEST:
            return FakeSubscription(self, self.retained_from)
        if start is Preset.LATEST:
            return FakeSubscription(self, len(self.log))
        if int(start) < self.retained_from:
            raise PositionExpired(start, "older than the retention")
        return FakeSubscription(self, int(start))


class FakeSubscription(Subscription):
    def __init__(self, channel: FakeChannel, index: int) -> None:
        self.channel = channel
        self.index = index
        self.open = True

    def position(self) -> str | None:
        return str(self.index)

    async def fetch(self, n: int, wait: float) -> Sequence[Delivery]:
        assert self.open
        self.channel.requested.append(n)
        out = self.channel.log[self.index : self.index + n]
        self.index += len(out)
        self.channel.delivered.append(len(out))
        return out

    async def close(self) -> None:
        self.open = False


class ThingEvents(EventStream):
    system = SYSTEM
    name = "thing-events"

    def __init__(self, channel: FakeChannel, table: Table, batch_size: int = 3) -> None:
        polling = MemoryStream(table, overlap=dt.timedelta(seconds=30), page_size=2, batch_size=2)
        super().__init__(channel, {"thing": polling}, batch_size=batch_size, wait=0)
        self.table = table
        self.reread_ids: list[str] = []
        self.clock = at(1000)
        """The time a snapshot is planned at."""

    def now(self) -> dt.datetime:
        return self.clock

    def changes_of(self, event: ChannelEvent) -> Sequence[RawChange]:
        payload = event.payload
        return [change(payload["id"], Operation(payload["op"]), payload["record"], event.at)]

    async def reread(self, obj: str, record_ids: Sequence[str]) -> Sequence[RawChange]:
        self.reread_ids += record_ids
        rows = {rid: self.table.rows.get(int(rid)) for rid in record_ids}
        return [
            change(rid, Operation.UPDATE, row[1], row[0])
            if row
            else change(rid, Operation.DELETE, {}, at(0))
            for rid, row in rows.items()
        ]


def thing(channel: FakeChannel, rid: int, seconds: float, op: str = "update") -> None:
    channel.event(at(seconds), id=rid, op=op, record={"id": rid, "v": seconds})
