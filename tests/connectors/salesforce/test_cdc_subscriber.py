"""The CDC subscriber against the local Pub/Sub API server over real gRPC on 127.0.0.1.

The REST side (polling and re-reads) is an in-memory org here: what is under test is the
subscription, its cursor and what it asks of the REST side."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr

from connectors.base.errors import ConnectorError
from connectors.base.source import Batch
from connectors.base.tracking.events import TIP, EventCursor
from connectors.base.tracking.modified import ModifiedSinceStream, Row
from connectors.salesforce.cdc import CdcStream, PubSubAuth, PubSubChannel
from q2c.localserver.salesforce.changes import RecordChange
from q2c.localserver.salesforce.pubsub import PubSubServer, running_pubsub
from schemas import DeadLetter, Operation, RawChange

ORG = "00D000000000001EAA"
TOKEN = "00D000000000001!session"
INSTANCE = "http://127.0.0.1:1"


class Org:
    """The records the REST API would return, by object and id."""

    def __init__(self) -> None:
        self.records: dict[str, dict[str, dict[str, Any]]] = {"Account": {}, "Contact": {}}
        self.rereads: list[tuple[str, tuple[str, ...]]] = []
        self.tick = 0

    def put(self, obj: str, record_id: str, **fields: Any) -> None:
        self.tick += 1
        stamp = dt.datetime.now(dt.UTC) + dt.timedelta(milliseconds=self.tick)
        self.records[obj][record_id] = {"Id": record_id, "SystemModstamp": stamp, **fields}

    def change(self, obj: str, record: dict[str, Any]) -> RawChange:
        stamp = record["SystemModstamp"]
        return RawChange.of(
            system="salesforce",
            object=obj,
            record_id=record["Id"],
            operation=Operation.UPDATE,
            source_ts=stamp,
            cursor="",
            record={
                k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in record.items()
            },
            observed_at=stamp,
        )

    async def reread(self, obj: str, ids: Sequence[str]) -> Sequence[RawChange]:
        self.rereads.append((obj, tuple(ids)))
        return [self.change(obj, self.records[obj][i]) for i in ids if i in self.records[obj]]


def polling(org: Org, obj: str, paced: list[int] | None = None) -> ModifiedSinceStream:
    """The polling stream of ``obj``; its first ``paced[0]`` reads answer nothing, as a
    stream pacing itself near its API allowance does."""

    class Polling(ModifiedSinceStream):
        system: ClassVar[str] = "salesforce"
        name: ClassVar[str] = obj.lower()
        primary_key: ClassVar[str] = "Id"
        replication_key: ClassVar[str] = "SystemModstamp"

        async def page(
            self, since: dt.datetime | None, after: tuple[dt.datetime, Any] | None
        ) -> Sequence[dict[str, Any]]:
            rows = sorted(org.records[obj].values(), key=lambda r: (r["SystemModstamp"], r["Id"]))
            rows = [r for r in rows if since is None or r["SystemModstamp"] >= since]
            if after is not None:
                rows = [r for r in rows if (r["SystemModstamp"], r["Id"]) > after]
            return rows[: self.page_size]

        async def changes(self, fresh: Sequence[Row]) -> list[RawChange]:
            return [org.change(obj, dict(row)) for row in fresh]

        async def read(self, cursor: str | None) -> Batch:
            if paced and paced[0]:
                paced[0] -= 1
                return Batch((), None)
            return await super().read(cursor)

    return Polling(delete_scan=None)


def valid(token: str, instance: str, tenant: str) -> bool:
    return (token, instance, tenant) == (TOKEN, INSTANCE, ORG)


async def session(renew: bool) -> PubSubAuth:
    return PubSubAuth(SecretStr(TOKEN), INSTANCE, ORG)


def cdc(server: PubSubServer, org: Org) -> CdcStream:
    channel = PubSubChannel(server.address, session, secure=False)
    return CdcStream(
        channel,
        {obj: polling(org, obj) for obj in ("Account", "Contact")},
        org.reread,
        client_id="q2c",
        batch_size=10,
        wait=0.2,
    )


class Reader:
    """Reads a stream as the source runner does: the cursor stored after each batch."""

    def __init__(self, stream: CdcStream, cursor: str | None = None) -> None:
        self.stream = stream
        self.cursor = cursor
        self.changes: list[RawChange] = []

    async def read(self) -> None:
        batch = await self.stream.read(self.cursor)
        self.changes += batch.changes
        self.cursor = batch.cursor

    async def until(
        self, done: Callable[[list[RawChange]], bool], within: float = 20.0
    ) -> list[RawChange]:
        deadline = asyncio.get_running_loop().time() + within
        while not done(self.changes):
            assert asyncio.get_running_loop().time() < deadline, self.changes
            await self.read()
        return self.changes

    async def following(self) -> None:
        """Read until the stream follows the channel (no re-snapshot or catch-up pending)."""
        deadline = asyncio.get_running_loop().time() + 20
        await self.read()
        while (state := EventCursor.decode(self.cursor)).resync or state.catchup:
            assert asyncio.get_running_loop().time() < deadline
            await self.read()


def ids(changes: list[RawChange]) -> list[str]:
    return [c.record_id for c in changes]


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[PubSubServer]:
    async with running_pubsub(tmp_path, valid, org_id=ORG, keepalive_s=0.5) as started:
        yield started


async def test_snapshot_then_changes_one_per_record_read_in_full(server: PubSubServer) -> None:
    org = Org()
    org.put("Account", "001000000000001AAA", Name="Before")
    reader = Reader(cdc(server, org))
    await reader.following()
    # The snapshot by polling (and its repeat by the catch-up poll after subscribing).
    assert set(ids(reader.changes)) == {"001000000000001AAA"}
    reader.changes.clear()

    org.put("Account", "001000000000002AAA", Name="New")
    server.publish([RecordChange("Account", "CREATE", ("001000000000002AAA",), {"Name": "New"})])
    org.put("Contact", "003000000000001AAA", LastName="A")
    org.put("Contact", "003000000000002AAA", LastName="B")
    server.publish(
        [
            RecordChange(
                "Contact",
                "UPDATE",
                ("003000000000001AAA", "003000000000002AAA"),
                {"Title": "CFO"},
                changed_fields=("Title",),
            )
        ]
    )
    changes = await reader.until(lambda c: len(c) >= 3)
    assert ids(changes) == ["001000000000002AAA", "003000000000001AAA", "003000000000002AAA"]
    assert changes[0].record["Name"] == "New"
    assert changes[2].record["LastName"] == "B"
    assert ("Contact", ("003000000000001AAA", "003000000000002AAA")) in org.rereads
    await reader.stream.close()


async def test_q2c_echoes_are_left_out_and_deletes_pass(server: PubSubServer) -> None:
    org = Org()
    reader = Reader(cdc(server, org))
    await reader.following()
    org.put("Account", "001000000000003AAA", Name="Ours")
    server.publish(
        [
            RecordChange(
                "Account",
                "UPDATE",
                ("001000000000003AAA",),
                {"Name": "Ours"},
                change_origin="com/salesforce/api/rest/62.0;client=q2c",
            )
        ]
    )
    server.publish([RecordChange("Account", "DELETE", ("001000000000004AAA",))])
    (change,) = await reader.until(lambda c: len(c) >= 1)
    assert (change.record_id, change.operation) == ("001000000000004AAA", Operation.DELETE)
    assert reader.stream.echoes == 1
    await reader.stream.close()


async def test_gap_events_reread_and_overflow_resnapshots(server: PubSubServer) -> None:
    org = Org()
    reader = Reader(cdc(server, org))
    await reader.following()
    org.put("Contact", "003000000000009AAA", LastName="Gap")
    server.inject_gap("Contact", ["003000000000009AAA"], "GAP_UPDATE")
    (gap,) = await reader.until(lambda c: len(c) >= 1)
    assert gap.record["LastName"] == "Gap"
    org.put("Account", "001000000000009AAA", Name="Overflowed")
    server.inject_overflow("Account")
    # The overflow sends the stream to polling for Account, then back to the channel.
    await reader.until(lambda c: "001000000000009AAA" in ids(c))
    await reader.following()
    org.put("Account", "001000000000010AAA", Name="After")
    server.publish([RecordChange("Account", "CREATE", ("001000000000010AAA",))])
    changes = await reader.until(lambda c: "001000000000010AAA" in ids(c))
    assert ids(changes).count("001000000000010AAA") == 1
    await reader.stream.close()


async def test_a_dropped_stream_resumes_after_the_stored_replay_id(server: PubSubServer) -> None:
    org = Org()
    reader = Reader(cdc(server, org))
    await reader.following()
    org.put("Account", "001000000000011AAA", Name="One")
    server.publish([RecordChange("Account", "CREATE", ("001000000000011AAA",))])
    await reader.until(lambda c: len(c) >= 1)
    assert server.drop_streams() == 1
    org.put("Account", "001000000000012AAA", Name="Two")
    server.publish([RecordChange("Account", "CREATE", ("001000000000012AAA",))])
    failures: list[ConnectorError] = []
    deadline = asyncio.get_running_loop().time() + 20
    while "001000000000012AAA" not in ids(reader.changes):
        assert asyncio.get_running_loop().time() < deadline
        try:
            await reader.read()
        except ConnectorError as exc:
            failures.append(exc)
    assert [exc.retriable for exc in failures] == [True]
    assert ids(reader.changes) == ["001000000000011AAA", "001000000000012AAA"]
    await reader.stream.close()

    # A new process resumes from the stored cursor: only what came after it.
    org.put("Account", "001000000000013AAA", Name="Three")
    server.publish([RecordChange("Account", "CREATE", ("001000000000013AAA",))])
    again = Reader(cdc(server, org), reader.cursor)
    assert ids(await again.until(lambda c: len(c) >= 1)) == ["001000000000013AAA"]
    await again.stream.close()


async def test_an_expired_replay_id_falls_back_to_polling_then_resubscribes(
    tmp_path: Path,
) -> None:
    now = [1_700_000_000.0]
    async with running_pubsub(
        tmp_path, valid, org_id=ORG, keepalive_s=0.5, clock=lambda: now[0]
    ) as server:
        org = Org()
        reader = Reader(cdc(server, org))
        await reader.following()
        org.put("Account", "001000000000021AAA", Name="Seen")
        server.publish([RecordChange("Account", "CREATE", ("001000000000021AAA",))])
        await reader.until(lambda c: len(c) >= 1)
        await reader.stream.close()
        stored = reader.cursor

        now[0] += 73 * 3600  # past the retention period: the stored replay id is gone
        org.put("Account", "001000000000022AAA", Name="Missed")
        server.publish([RecordChange("Account", "UPDATE", ("001000000000021AAA",))])
        server.publish([RecordChange("Account", "CREATE", ("001000000000022AAA",))])
        now[0] += 73 * 3600
        org.put("Account", "001000000000023AAA", Name="Later")
        server.publish([RecordChange("Account", "CREATE", ("001000000000023AAA",))])

        restarted = Reader(cdc(server, org), stored)
        await restarted.read()
        state = EventCursor.decode(restarted.cursor)
        assert state.resync is not None
        assert state.resync.reason == "expired"
        changes = await restarted.until(
            lambda c: {"001000000000022AAA", "001000000000023AAA"} <= set(ids(c))
        )
        assert changes  # read by polling since the last known time, then the channel
        await restarted.following()
        org.put("Account", "001000000000024AAA", Name="Followed")
        server.publish([RecordChange("Account", "CREATE", ("001000000000024AAA",))])
        await restarted.until(lambda c: "001000000000024AAA" in ids(c))
        await restarted.stream.close()


class Rotating:
    """The org's sessions, which expire on demand; a renewed one is valid."""

    def __init__(self) -> None:
        self.valid_tokens = {"00D000000000001!first"}
        self.held = "00D000000000001!first"
        self.renewals = 0

    def valid(self, token: str, instance: str, tenant: str) -> bool:
        return token in self.valid_tokens and (instance, tenant) == (INSTANCE, ORG)

    async def session(self, renew: bool) -> PubSubAuth:
        if renew:
            self.renewals += 1
            self.held = f"00D000000000001!renewed{self.renewals}"
            self.valid_tokens.add(self.held)
        return PubSubAuth(SecretStr(self.held), INSTANCE, ORG)

    def expire(self) -> None:
        self.valid_tokens.clear()


async def test_an_expired_session_mid_stream_is_renewed_and_nothing_is_lost(
    tmp_path: Path,
) -> None:
    sessions = Rotating()
    async with running_pubsub(tmp_path, sessions.valid, org_id=ORG, keepalive_s=0.5) as server:
        org = Org()
        channel = PubSubChannel(server.address, sessions.session, secure=False)
        stream = CdcStream(
            channel,
            {obj: polling(org, obj) for obj in ("Account", "Contact")},
            org.reread,
            batch_size=10,
            wait=0.2,
        )
        reader = Reader(stream)
        await reader.following()
        org.put("Account", "001000000000031AAA", Name="Before")
        server.publish([RecordChange("Account", "CREATE", ("001000000000031AAA",))])
        await reader.until(lambda c: len(c) >= 1)
        sessions.expire()
        # A Contact event: its schema is fetched now, with the expired session.
        org.put("Contact", "003000000000031AAA", LastName="After")
        server.publish([RecordChange("Contact", "CREATE", ("003000000000031AAA",))])
        failures: list[ConnectorError] = []
        deadline = asyncio.get_running_loop().time() + 20
        while "003000000000031AAA" not in ids(reader.changes):
            assert asyncio.get_running_loop().time() < deadline
            try:
                await reader.read()
            except ConnectorError as exc:
                failures.append(exc)
        assert failures
        assert all(exc.retriable for exc in failures)
        assert sessions.renewals >= 1
        assert ids(reader.changes) == ["001000000000031AAA", "003000000000031AAA"]
        await stream.close()


async def test_events_of_objects_not_followed_are_passed_over(server: PubSubServer) -> None:
    org = Org()
    reader = Reader(cdc(server, org))
    await reader.following()
    server.inject_overflow("User")
    server.inject_gap("User", ["005000000000001AAA"])
    server.publish([RecordChange("User", "UPDATE", ("005000000000001AAA",), {"Title": "x"})])
    org.put("Account", "001000000000041AAA", Name="Followed")
    server.publish([RecordChange("Account", "CREATE", ("001000000000041AAA",))])
    changes = await reader.until(lambda c: len(c) >= 1)
    assert ids(changes) == ["001000000000041AAA"]
    assert EventCursor.decode(reader.cursor).resync is None
    assert org.rereads == [("Account", ("001000000000041AAA",))]
    await reader.stream.close()


async def test_line_item_events_stand_for_their_opportunity(server: PubSubServer) -> None:
    org = Org()
    org.records["Opportunity"] = {}
    org.records["OpportunityLineItem"] = {}

    async def parents(child: str, field: str, record_ids: Sequence[str]) -> dict[str, str]:
        rows = org.records[child]
        return {i: rows[i][field] for i in record_ids if i in rows}

    channel = PubSubChannel(server.address, session, secure=False)
    stream = CdcStream(
        channel,
        {obj: polling(org, obj) for obj in ("Account", "Opportunity")},
        org.reread,
        children={"OpportunityLineItem": ("Opportunity", "OpportunityId")},
        parents=parents,
        batch_size=10,
        wait=0.2,
    )
    reader = Reader(stream)
    await reader.following()
    opportunity = "006000000000051AAA"
    org.put("Opportunity", opportunity, Name="Deal", Amount=10.0)
    org.put("OpportunityLineItem", "00k000000000051AAA", OpportunityId=opportunity)
    org.put("OpportunityLineItem", "00k000000000052AAA", OpportunityId=opportunity)
    server.publish(
        [
            RecordChange("OpportunityLineItem", "CREATE", ("00k000000000051AAA",)),
            RecordChange("OpportunityLineItem", "UPDATE", ("00k000000000052AAA",)),
        ]
    )
    changes = await reader.until(lambda c: len(c) >= 1)
    assert [(c.object, c.record_id) for c in changes] == [("Opportunity", opportunity)]
    assert org.rereads == [("Opportunity", (opportunity,))]

    # A line item gap re-reads the opportunity; a line item overflow re-snapshots them.
    server.inject_gap("OpportunityLineItem", ["00k000000000052AAA"])
    await reader.until(lambda c: len(c) >= 2)
    assert org.rereads[-1] == ("Opportunity", (opportunity,))
    server.inject_overflow("OpportunityLineItem")
    deadline = asyncio.get_running_loop().time() + 20
    await reader.read()
    while EventCursor.decode(reader.cursor).resync is None:
        assert asyncio.get_running_loop().time() < deadline
        await reader.read()
    state = EventCursor.decode(reader.cursor)
    assert state.resync is not None
    assert [obj for obj, _ in state.resync.pending] == ["Opportunity"]
    await stream.close()


async def test_an_event_that_does_not_decode_is_dead_lettered_with_the_reason(
    server: PubSubServer, tmp_path: Path
) -> None:
    org = Org()
    stream = cdc(server, org)
    reader = Reader(stream)
    await reader.following()
    (bad,) = server.log.append([RecordChange("Account", "CREATE", ("001000000000061AAA",))])
    with sqlite3.connect(tmp_path / "cdc.sqlite3") as db:  # the payload spoilt in the log
        db.execute("UPDATE cdc_event SET payload = ? WHERE position = ?", (b"\x02", bad.position))
    org.put("Account", "001000000000062AAA", Name="Good")
    server.publish([RecordChange("Account", "CREATE", ("001000000000062AAA",))])
    letters: list[DeadLetter] = []
    deadline = asyncio.get_running_loop().time() + 20
    while "001000000000062AAA" not in ids(reader.changes):
        assert asyncio.get_running_loop().time() < deadline
        batch = await stream.read(reader.cursor)
        reader.changes += batch.changes
        reader.cursor = batch.cursor
        letters += batch.dead_letters
    (letter,) = letters
    assert letter.stage == "source.salesforce.cdc"
    assert "does not decode" in letter.reason
    assert ids(reader.changes) == ["001000000000062AAA"]
    await stream.close()


async def test_a_resnapshot_waits_while_its_polling_stream_paces_itself(
    server: PubSubServer,
) -> None:
    org = Org()
    org.put("Account", "001000000000071AAA", Name="Snapshot me")
    paced = [2]
    channel = PubSubChannel(server.address, session, secure=False)
    accounts = polling(org, "Account", paced)
    stream = CdcStream(channel, {"Account": accounts}, org.reread, wait=0.2)
    reader = Reader(stream)
    await reader.following()
    assert paced == [0]
    assert set(ids(reader.changes)) == {"001000000000071AAA"}
    await stream.close()


async def test_a_first_start_subscribes_from_the_tip_and_loses_nothing_in_the_window(
    server: PubSubServer,
) -> None:
    org = Org()
    server.publish([RecordChange("Account", "CREATE", ("001000000000081AAA",))])  # old news
    org.put("Account", "001000000000081AAA", Name="Snapshot")
    reader = Reader(cdc(server, org))
    while EventCursor.decode(reader.cursor).position != TIP:
        await reader.read()  # the snapshot by polling, up to the subscription
    assert set(ids(reader.changes)) == {"001000000000081AAA"}
    # Committed after the snapshot read, before the subscription from the tip is open.
    org.put("Account", "001000000000082AAA", Name="In the window")
    server.publish([RecordChange("Account", "CREATE", ("001000000000082AAA",))])
    await reader.following()
    assert "001000000000082AAA" in ids(reader.changes)  # by the catch-up poll
    # The retained event of the snapshot's record was not replayed (not from EARLIEST).
    assert ("Account", ("001000000000081AAA",)) not in org.rereads
    org.put("Account", "001000000000083AAA", Name="After")
    server.publish([RecordChange("Account", "CREATE", ("001000000000083AAA",))])
    await reader.until(lambda c: "001000000000083AAA" in ids(c))
    await reader.stream.close()
