"""The source connectors killed with SIGKILL mid-poll, on the real peers and broker.

Each connector runs as `q2c connector run SYSTEM --no-sink` while records are created and
updated in its peer, then a few deleted; it is killed at several moments (as soon as a
batch shows on the raw topic, a little later, during start-up, as the deletes show) and
restarted. Once the raw topic has settled: every record created and the last version of
every record updated is on it, as the peer holds it; the newest message of each record is
its last version, or its delete; and every repeat the kills caused carries the record id
and fingerprint of an earlier message, so downstream recognises it. The number of repeats
is printed (run with ``-s`` to see it).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest
from aiokafka import AIOKafkaConsumer

from connectors.base import ConnectorError
from connectors.bottlecrm import BottleCrmClient
from connectors.bottlecrm.models import AccountInput
from connectors.tryton import TrytonClient
from q2c.core.kafka_admin import ensure_topics
from q2c.core.topics import Topics
from q2c.devstack.bottlecrm import OrgAccess
from q2c.devstack.procs import kill_process, stop_process, tail
from schemas import CODEC, Operation, RawChange
from tests.plugins.tryton import TrytonPeer
from tests.plugins.worker import REPO

pytestmark = pytest.mark.integration

RECORDS = 30
DELETED = (4, 15, 29)  # indexes of the records deleted at the end (renamed once, twice, never)
SETTLE_SECONDS = 60.0


@dataclass(frozen=True)
class Moment:
    """When to kill: once ``after`` new messages reached the raw topic since the last
    start (0: do not wait for any), then ``delay`` seconds later."""

    after: int
    delay: float


# As a batch shows (the cursor of the batch may not be saved yet), a little and a while
# later, and during start-up (before the first poll has published anything).
MOMENTS = (
    Moment(1, 0.0),
    Moment(1, 0.05),
    Moment(0, 0.8),
    Moment(2, 0.2),
    Moment(1, 0.0),
    Moment(0, 2.0),
)


class Peer(Protocol):
    """What the test does to one peer's records, and where it reads them back."""

    system: str
    object: str

    def env(self) -> dict[str, str]: ...

    async def create(self, name: str) -> str: ...

    async def rename(self, record_id: str, name: str) -> None: ...

    async def delete(self, record_id: str) -> None: ...

    async def names(self, ids: list[str]) -> dict[str, str]:
        """The name of each of ``ids`` the peer still has."""
        ...


@dataclass
class TrytonParties:
    client: TrytonClient
    peer: TrytonPeer
    system: str = "tryton"
    object: str = "party.party"

    def env(self) -> dict[str, str]:
        erp = self.peer.settings()
        return {
            "Q2C_TRYTON__URL": erp.url,
            "Q2C_TRYTON__DATABASE": erp.database,
            "Q2C_TRYTON__USER": erp.user,
            "Q2C_TRYTON__PASSWORD": erp.password.get_secret_value(),
            "Q2C_TRYTON__POLL_INTERVAL": "0.3",
            "Q2C_TRYTON__DELETE_SCAN_INTERVAL": "0",
        }

    async def create(self, name: str) -> str:
        (party,) = await self.client.create("party.party", [{"name": name}])
        return str(party)

    async def rename(self, record_id: str, name: str) -> None:
        await self.client.write("party.party", [int(record_id)], {"name": name})

    async def delete(self, record_id: str) -> None:
        await self.client.delete("party.party", [int(record_id)])

    async def names(self, ids: list[str]) -> dict[str, str]:
        rows = await self.client.search_read(
            "party.party", [("id", "in", [int(i) for i in ids])], ["name"]
        )
        return {str(row["id"]): str(row["name"]) for row in rows}


@dataclass
class BottleCrmAccounts:
    client: BottleCrmClient
    org: OrgAccess
    system: str = "bottlecrm"
    object: str = "account"

    def env(self) -> dict[str, str]:
        return {
            "Q2C_BOTTLECRM__URL": self.org.url,
            "Q2C_BOTTLECRM__TOKEN": self.org.token.get_secret_value(),
            "Q2C_BOTTLECRM__SCAN_INTERVAL": "0.3",
        }

    async def create(self, name: str) -> str:
        return await self.client.create_account(AccountInput(name=name))

    async def rename(self, record_id: str, name: str) -> None:
        await self.client.update_account(record_id, AccountInput(name=name))

    async def delete(self, record_id: str) -> None:
        await self.client.delete_account(record_id)

    async def names(self, ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for record_id in ids:
            try:
                found[record_id] = (await self.client.get_account(record_id)).name
            except ConnectorError as exc:
                if exc.status != 404:
                    raise
        return found


@dataclass
class Connector:
    """`q2c connector run SYSTEM --no-sink` as a process of its own."""

    system: str
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "q2c", "connector", "run", self.system, "--no-sink"],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.starts += 1

    def kill(self) -> None:
        """SIGKILL: no handler runs, nothing is flushed or saved."""
        assert self.proc is not None
        assert self.proc.poll() is None, f"the connector died on its own:\n{tail(self.log)}"
        kill_process(self.proc)
        self.proc = None

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


@dataclass
class RawTopic:
    """Every message of the raw topic, in order, as the test reads them."""

    topic: str
    bootstrap: str
    messages: list[RawChange] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def follow(self) -> None:
        consumer = AIOKafkaConsumer(
            self.topic,
            bootstrap_servers=self.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            while True:
                for records in (await consumer.getmany(timeout_ms=200)).values():
                    for record in records:
                        self.messages.append(CODEC.decode_as(record.value or b"", RawChange))
                        self._arrived.set()
        finally:
            await consumer.stop()

    async def until(self, check: Callable[[list[RawChange]], bool], within: float) -> bool:
        """Whether ``check`` of the messages came true within ``within`` seconds."""
        try:
            async with asyncio.timeout(within):
                while not check(self.messages):
                    self._arrived.clear()
                    await self._arrived.wait()
        except TimeoutError:
            return False
        return True

    async def grown(self, by: int, within: float) -> bool:
        """Whether ``by`` more messages arrived within ``within`` seconds."""
        target = len(self.messages) + by
        return await self.until(lambda messages: len(messages) >= target, within)


@dataclass
class Workload:
    """Creates ``RECORDS`` records; every third is renamed twice, every third but one
    renamed once; renames trail the creates so they land while the connector restarts.
    Then (:meth:`delete`) the ``DELETED`` ones are deleted."""

    peer: Peer
    tag: str
    last: dict[str, str] = field(default_factory=dict)  # id → the name last written
    deleted: set[str] = field(default_factory=set)
    ids: list[str] = field(default_factory=list)  # in the order created
    writes: int = 0

    async def run(self) -> None:
        ids: list[str] = []
        pending: list[tuple[int, int]] = []  # (index, version) renames still to do
        for i in range(RECORDS):
            name = f"{self.tag}-{i}-v0"
            ids.append(await self.peer.create(name))
            self.last[ids[-1]] = name
            self.writes += 1
            if i % 3 in (0, 1):
                pending.append((i, 1))
            if i % 3 == 0:
                pending.append((i, 2))
            # Each round renames the oldest pending record, so versions trail creates.
            if len(pending) > 4:
                await self._rename(ids, *pending.pop(0))
            await asyncio.sleep(0.1)
        for index, version in pending:
            await self._rename(ids, index, version)
            await asyncio.sleep(0.1)
        self.ids = ids

    async def delete(self) -> None:
        for index in DELETED:
            await self.peer.delete(self.ids[index])
            self.deleted.add(self.ids[index])
            self.writes += 1

    async def _rename(self, ids: list[str], index: int, version: int) -> None:
        name = f"{self.tag}-{index}-v{version}"
        await self.peer.rename(ids[index], name)
        self.last[ids[index]] = name
        self.writes += 1


def _summary(system: str, kills: int, raw: RawTopic, ours: list[RawChange]) -> tuple[int, int]:
    def repeats(messages: list[RawChange]) -> int:
        counts = Counter((m.object, m.record_id, m.fingerprint) for m in messages)
        return sum(n - 1 for n in counts.values())

    every, mine = repeats(raw.messages), repeats(ours)
    deletes = sum(m.operation is Operation.DELETE for m in ours)
    print(
        f"\n{system}: {kills} kills, {len(raw.messages)} raw messages, {every} repeats "
        f"({mine} of the {RECORDS} test records, {len(ours)} messages of them, "
        f"{deletes} deletes)"
    )
    return every, mine


async def _kill_while_writing(peer: Peer, kafka_bootstrap: str, tmp_path: Path) -> tuple[int, int]:
    prefix = f"kill{uuid.uuid4().hex[:8]}"
    topics = Topics(prefix)
    await ensure_topics({"bootstrap_servers": kafka_bootstrap}, {topics.raw(peer.system): 1})
    env = {
        **os.environ,
        "Q2C_KAFKA__BOOTSTRAP": kafka_bootstrap,
        "Q2C_KAFKA__TOPIC_PREFIX": prefix,
        "Q2C_KAFKA__PARTITIONS": "1",
        "Q2C_DEV__STATE_DIR": str(tmp_path / "state"),
        "Q2C_TELEMETRY__LOG_FORMAT": "text",
        **peer.env(),
    }
    connector = Connector(peer.system, env, tmp_path / f"{peer.system}.log")
    raw = RawTopic(topics.raw(peer.system), kafka_bootstrap)
    workload = Workload(peer, prefix)
    following = asyncio.create_task(raw.follow())
    writing = asyncio.create_task(workload.run())
    kills = 0

    def ours(messages: list[RawChange]) -> list[RawChange]:
        return [m for m in messages if m.object == peer.object and m.record_id in workload.last]

    async def settle(check: Callable[[list[RawChange]], bool], what: str) -> None:
        """Until ``check`` holds, then until nothing new comes for a few polls (the cursor
        of the last batch saved)."""
        assert await raw.until(check, SETTLE_SECONDS), (
            f"never happened: {what}\n{tail(connector.log, 40)}"
        )
        for _ in range(20):
            count = len(raw.messages)
            await asyncio.sleep(1.5)
            if len(raw.messages) == count:
                return

    try:
        # Creates and renames, the connector killed at each moment and restarted.
        connector.start()
        for moment in MOMENTS:
            # Bounded: when nothing new comes (the workload is done), kill anyway.
            await raw.grown(moment.after, within=15.0)
            await asyncio.sleep(moment.delay)
            connector.kill()
            kills += 1
            connector.start()
        await asyncio.wait_for(writing, 60)
        held = await peer.names(list(workload.last))
        # The peer holds what the workload wrote last (else the comparison below is moot).
        assert held == workload.last

        def complete(messages: list[RawChange]) -> bool:
            published = {(m.record_id, m.record.get("name")) for m in ours(messages)}
            return all((rid, name) in published for rid, name in held.items())

        await settle(complete, f"the last versions all reached {raw.topic}")

        # Deletes, the connector killed as their batch shows. (Deleted only once the cursor
        # knows the records: one killed between publishing a record and saving the cursor
        # that covers it, and deleted before the restart, is never reported, see the
        # connectors' READMEs.)
        await workload.delete()
        await raw.grown(1, within=15.0)
        connector.kill()
        kills += 1
        connector.start()
        gone = workload.deleted
        held = await peer.names(list(workload.last))
        assert set(held) == set(workload.last) - gone

        def deleted(messages: list[RawChange]) -> bool:
            deletes = {m.record_id for m in ours(messages) if m.operation is Operation.DELETE}
            return gone <= deletes

        await settle(deleted, f"the deletes all reached {raw.topic}")
        mine = ours(raw.messages)
    finally:
        connector.stop()
        following.cancel()
        writing.cancel()
        await asyncio.gather(following, writing, return_exceptions=True)

    # Every record created is there, and its newest message is the version the peer holds;
    # that of a deleted record is its delete.
    newest: dict[str, RawChange] = {m.record_id: m for m in mine}
    assert set(newest) == set(held) | gone
    assert {rid: m.record.get("name") for rid, m in newest.items() if rid in held} == held
    for rid in gone:
        assert (newest[rid].operation, newest[rid].record) == (Operation.DELETE, {})
    assert not [m for m in mine if m.operation is Operation.DELETE and m.record_id not in gone]
    # A repeat is recognisable: one fingerprint per version of a record, and back.
    by_version: dict[tuple[str, Any], set[str]] = {}
    by_fingerprint: dict[tuple[str, str], set[Any]] = {}
    for m in mine:
        by_version.setdefault((m.record_id, m.record.get("name")), set()).add(m.fingerprint)
        by_fingerprint.setdefault((m.record_id, m.fingerprint), set()).add(m.record.get("name"))
    assert all(len(fps) == 1 for fps in by_version.values()), by_version
    assert all(len(names) == 1 for names in by_fingerprint.values()), by_fingerprint
    # Nothing the workload did not write: every version on the topic is one it wrote.
    written = {f"{prefix}-{i}-v{v}" for i in range(RECORDS) for v in range(3)}
    assert {name for _, name in by_version} - {None} <= written
    assert connector.starts == kills + 1
    return _summary(peer.system, kills, raw, mine)


@pytest.fixture
async def tryton_parties(tryton_db: TrytonPeer) -> AsyncIterator[TrytonParties]:
    async with TrytonClient(tryton_db.settings()) as client:
        yield TrytonParties(client, tryton_db)


@pytest.fixture
async def bottlecrm_accounts(bottlecrm_org: OrgAccess) -> AsyncIterator[BottleCrmAccounts]:
    async with BottleCrmClient(bottlecrm_org.settings()) as client:
        yield BottleCrmAccounts(client, bottlecrm_org)


# One test per connector through the same driver, each asking for its own peer fixture: a
# run of only the Tryton one does not start (or install) BottleCRM.


@pytest.mark.timeout(180)
async def test_tryton_source_loses_nothing_when_killed(
    tryton_parties: TrytonParties, kafka_bootstrap: str, tmp_path: Path
) -> None:
    await _kill_while_writing(tryton_parties, kafka_bootstrap, tmp_path)


@pytest.mark.timeout(180)
async def test_bottlecrm_source_loses_nothing_when_killed(
    bottlecrm_accounts: BottleCrmAccounts, kafka_bootstrap: str, tmp_path: Path
) -> None:
    await _kill_while_writing(bottlecrm_accounts, kafka_bootstrap, tmp_path)
