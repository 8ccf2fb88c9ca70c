"""Strategy (d), an event-stream subscription: the replay position as the stream's cursor,
flow control, and gap / overflow / expired position mapped to a re-read or a re-snapshot
through the polling strategy, against an in-process fake channel (not Kafka)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import ConnectorError, ErrorKind
from connectors.base.tracking import ChannelEvent, EventCursor, Gap, ModifiedCursor, Overflow
from connectors.base.tracking.events import (
    TIP,
    Preset,
    Publish,
    Reread,
    Resnapshot,
    Resync,
    plan,
    plan_catchup,
    plan_expired,
    resync_step,
)
from schemas import Operation, RawChange
from tests.connectors.base.tracking.channel import FakeChannel, ThingEvents, thing
from tests.connectors.base.tracking.memory import (
    SYSTEM,
    Table,
    at,
    published,
)


def start(obj: str, since: dt.datetime | None) -> str | None:
    return f"{obj}@{since.isoformat()}" if since else None


def test_an_event_moves_the_position_and_the_last_known_time() -> None:
    event = ChannelEvent("7", at(30), {"id": 1})
    action, after = plan(event, EventCursor("6", at(20)), start)
    assert action == Publish(event)
    assert after == EventCursor("7", at(30))


def test_a_gap_rereads_its_records_and_goes_on() -> None:
    action, after = plan(Gap("8", at(40), "thing", ("1", "2")), EventCursor("7", at(30)), start)
    assert action == Reread("thing", ("1", "2"))
    assert after == EventCursor("8", at(40))
    assert "re-read 2 thing" in action.describe()


def test_an_overflow_resnapshots_its_object_from_the_last_known_time() -> None:
    action, after = plan(Overflow("9", at(50), "thing"), EventCursor("8", at(40)), start)
    assert action == Resnapshot(("thing",), at(40), "9", "overflow")
    assert after.resync == Resync((("thing", start("thing", at(40))),), "9", "overflow")
    assert after.position == "9"
    assert after.at == at(40)  # the time of the last event handled, not the overflow's
    assert "then resubscribe after 9" in action.describe()


def test_an_expired_position_resnapshots_every_object_then_resubscribes_at_the_tip() -> None:
    action, after = plan_expired(EventCursor("3", at(10)), ["a", "b"], at(90), "expired", start)
    assert action.objects == ("a", "b")
    assert after.resync is not None
    assert after.resync.pending == (("a", start("a", at(10))), ("b", start("b", at(10))))
    assert (after.resync.resume, after.catchup) == (TIP, at(90))
    # Never seen an event: everything, then from the tip, catching up from the time before.
    action, after = plan_expired(EventCursor(), ["a"], at(5), "snapshot", start)
    assert (action.since, action.resume, after.catchup) == (None, TIP, at(5))
    assert "from the beginning" in action.describe()
    assert "from the tip" in action.describe()
    # Expired again before a pending catch-up ran: the earlier catch-up time stays.
    _, again = plan_expired(after, ["a"], at(50), "expired", start)
    assert again.catchup == at(5)


def test_a_catch_up_polls_from_the_time_before_the_snapshot_then_resumes() -> None:
    cursor = EventCursor(TIP, None, None, at(5))
    action, after = plan_catchup(cursor, ["a"], "17", start)
    assert (action.since, action.resume, action.reason) == (at(5), "17", "catch-up")
    assert after.catchup is None
    assert after.resync == Resync((("a", start("a", at(5))),), "17", "catch-up")
    assert resync_step(after, "a-done", more=False) == EventCursor("17", None)


def test_a_resync_goes_object_by_object_then_back_to_the_subscription() -> None:
    cursor = EventCursor("3", at(10), Resync((("a", None), ("b", None)), "42", "expired"))
    cursor = resync_step(cursor, "a-page-1", more=True)
    assert cursor.resync is not None
    assert cursor.resync.pending == (("a", "a-page-1"), ("b", None))
    cursor = resync_step(cursor, "a-done", more=False)
    assert cursor.resync is not None
    assert cursor.resync.pending == (("b", None),)
    assert resync_step(cursor, "b-done", more=False) == EventCursor("42", at(10))


_cursors = st.builds(
    EventCursor,
    st.none() | st.text(max_size=30),
    st.none() | st.datetimes(timezones=st.just(dt.UTC)),
    st.none()
    | st.builds(
        Resync,
        st.lists(st.tuples(st.text(max_size=10), st.none() | st.text(max_size=40))).map(tuple),
        st.none() | st.text(max_size=30),
        st.text(max_size=20),
    ),
    st.none() | st.datetimes(timezones=st.just(dt.UTC)),
)


@given(_cursors)
def test_event_cursors_round_trip(cursor: EventCursor) -> None:
    assert EventCursor.decode(cursor.encode()) == cursor


@pytest.mark.parametrize("text", ["lm1:xyz", "ev1:not json", 'ev1:{"at": null}'])
def test_unreadable_event_cursors_stop_the_stream(text: str) -> None:
    with pytest.raises(ConnectorError) as error:
        EventCursor.decode(text, SYSTEM)
    assert error.value.kind is ErrorKind.FATAL


class Source:
    """What the source runner does with a stream: read, 'publish', store the cursor."""

    def __init__(self, stream: ThingEvents) -> None:
        self.stream = stream
        self.cursor: str | None = None
        self.published: list[RawChange] = []

    async def poll(self) -> list[RawChange]:
        batch = await self.stream.read(self.cursor)
        self.published += batch.changes
        self.cursor = batch.cursor
        return list(batch.changes)

    async def drain(self) -> list[RawChange]:
        """Poll until a read returns nothing and has nothing more."""
        out: list[RawChange] = []
        while True:
            batch = await self.stream.read(self.cursor)
            self.published += batch.changes
            out += batch.changes
            self.cursor = batch.cursor
            if not batch.changes and not batch.more:
                return out

    @property
    def state(self) -> EventCursor:
        return EventCursor.decode(self.cursor)


async def test_a_new_stream_snapshots_by_polling_then_follows_from_the_tip() -> None:
    channel, table = FakeChannel(), Table()
    for rid in (1, 2, 3):
        table.write(rid, at(rid), v=rid)
    thing(channel, 1, 1)  # already in the snapshot: the tip is after it
    source = Source(ThingEvents(channel, table))
    snapshot = await source.drain()
    assert published(snapshot) == [(str(r), Operation.UPDATE) for r in (1, 2, 3)]
    # From the tip, then (once answered) the catch-up poll, then after where it stood.
    assert channel.subscribed == [Preset.LATEST, "1"]

    thing(channel, 4, 10, "create")
    thing(channel, 2, 11)
    assert published(await source.drain()) == [("4", Operation.CREATE), ("2", Operation.UPDATE)]
    assert (source.state.position, source.state.at) == ("3", at(11))
    assert channel.subscribed == [Preset.LATEST, "1"]  # kept open between reads


async def test_a_change_between_the_snapshot_and_the_subscription_is_not_lost() -> None:
    channel, table = FakeChannel(), Table()
    table.write(1, at(1), v=1)
    stream = ThingEvents(channel, table)
    stream.clock = at(100)  # the snapshot is planned at 100
    source = Source(stream)
    while source.state.position != TIP:  # the snapshot, up to the subscription
        await source.poll()
    assert published(source.published) == [("1", Operation.UPDATE)]
    # Committed after the snapshot read and before the subscription registers: its event
    # is older than the tip the subscription starts from.
    table.write(2, at(140), v="in the window")
    thing(channel, 2, 140)
    await source.drain()
    assert ("2", Operation.UPDATE) in published(source.published)  # by the catch-up poll
    assert source.state.catchup is None
    assert channel.subscribed == [Preset.LATEST, "1"]
    thing(channel, 3, 150, "create")
    assert published(await source.drain()) == [("3", Operation.CREATE)]


async def test_flow_control_requests_at_most_a_batch_and_the_position_is_durable() -> None:
    channel, table = FakeChannel(), Table()
    source = Source(ThingEvents(channel, table, batch_size=3))
    await source.drain()
    for i in range(8):
        thing(channel, 100 + i, 20 + i)
    first = await source.poll()
    assert len(first) == 3
    assert set(channel.requested) == {3}
    assert max(channel.delivered) <= 3

    # A restarted source (a new stream object) resumes after the stored position.
    restarted = Source(ThingEvents(channel, table, batch_size=3))
    restarted.cursor = source.cursor
    rest = await restarted.drain()
    assert [c.record_id for c in rest] == [str(100 + i) for i in range(3, 8)]
    assert channel.subscribed[-1] == source.state.position


async def test_a_batch_not_stored_is_read_again() -> None:
    channel, table = FakeChannel(), Table()
    source = Source(ThingEvents(channel, table))
    await source.drain()
    stored = source.cursor
    thing(channel, 7, 30)
    assert [c.record_id for c in await source.poll()] == ["7"]
    # Publishing failed: the runner reads from the stored cursor again, which resubscribes.
    source.cursor = stored
    assert [c.record_id for c in await source.poll()] == ["7"]


async def test_a_gap_rereads_the_lost_records() -> None:
    channel, table = FakeChannel(), Table()
    source = Source(ThingEvents(channel, table))
    await source.drain()
    table.write(5, at(40), v="current")
    channel.gap(at(41), "thing", "5", "6")  # 6 no longer exists
    thing(channel, 8, 42)
    changes = await source.drain()
    assert published(changes) == [
        ("5", Operation.UPDATE),
        ("6", Operation.DELETE),
        ("8", Operation.UPDATE),
    ]
    assert changes[0].record["v"] == "current"
    assert source.stream.reread_ids == ["5", "6"]


async def test_an_overflow_resnapshots_the_object_then_resubscribes_after_it() -> None:
    channel, table = FakeChannel(), Table()
    table.write(1, at(1), v=1)
    source = Source(ThingEvents(channel, table))
    await source.drain()
    thing(channel, 1, 50)  # the last known time becomes 50
    await source.drain()
    # A transaction too large to list: rows at 55..58 (and 49, inside the overlap window).
    for rid, seconds in ((10, 55), (11, 56), (12, 57), (13, 58), (14, 49)):
        table.write(rid, at(seconds), v=seconds)
    table.write(99, at(5), v="old, before the last known time")
    channel.overflow(at(60), "thing")
    thing(channel, 20, 61)
    changes = await source.drain()
    ids = [c.record_id for c in changes]
    assert sorted(ids[:-1]) == ["10", "11", "12", "13", "14"]  # re-snapshotted by polling
    assert "99" not in ids  # older than the window: not read again
    assert "1" not in ids
    assert ids[-1] == "20"  # then the events after the overflow
    assert channel.subscribed[-1] == "2"  # after the overflow (position 2)
    assert source.state.resync is None


async def test_an_expired_position_resnapshots_everything_since_the_last_known_time() -> None:
    channel, table = FakeChannel(), Table()
    source = Source(ThingEvents(channel, table))
    await source.drain()
    thing(channel, 1, 100)
    await source.drain()
    # The source is away; events it never read are dropped by the channel's retention.
    table.write(30, at(150), v="changed while away")
    thing(channel, 30, 150)
    thing(channel, 31, 151)
    channel.expire(keep_from=3)
    table.write(31, at(151), v="changed while away")
    restarted = Source(ThingEvents(channel, table))
    restarted.cursor = source.cursor
    changes = await restarted.drain()
    ids = [c.record_id for c in changes]
    assert sorted(set(ids)) == ["30", "31"]  # from polling, then the tip onwards
    # Refused at 1; from the tip (3); after it once the catch-up poll is done.
    assert channel.subscribed[-3:] == ["1", Preset.LATEST, "3"]
    assert restarted.state.position == "3"


async def test_a_resnapshot_interrupted_halfway_resumes_where_it_was() -> None:
    channel, table = FakeChannel(), Table()
    for rid in range(1, 6):
        table.write(rid, at(rid), v=rid)
    source = Source(ThingEvents(channel, table))
    await source.poll()  # plans the snapshot
    await source.poll()  # reads the first polling batch
    assert source.state.resync is not None
    (obj, polled), *_ = source.state.resync.pending
    assert obj == "thing"
    assert polled is not None
    mark = ModifiedCursor.decode(polled).high_water
    restarted = Source(ThingEvents(channel, table))
    restarted.cursor = source.cursor
    rest = await restarted.drain()
    assert [c.record_id for c in source.published + rest] == ["1", "2", "3", "4", "5"]
    assert mark == at(2)
