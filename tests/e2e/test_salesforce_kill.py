"""The Salesforce source killed with SIGKILL mid-stream, against the local Salesforce server
(its own process) and the real broker.

`q2c connector run salesforce --no-sink` polls (and, with ``tracking = "cdc"``, follows
Change Data Capture too) while accounts are created, renamed and then deleted; it is killed
at several moments (as a batch shows on the raw topic, a little later, during start-up, as
the deletes show) and restarted. Once the raw topic settles:
every account and the last version of each is on it, as the org holds it; the newest
message of each is its last version, or its delete; and every repeat the kills caused is
fingerprint-equal to an earlier message, so downstream drops it.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.spec import SPEC
from q2c.core.kafka_admin import ensure_topics
from q2c.core.topics import Topics
from q2c.devstack.procs import tail
from schemas import Operation, RawChange
from tests.integration.peers.test_source_kill import MOMENTS, RECORDS, Connector, RawTopic, Workload
from tests.plugins.salesforce import SalesforceProcess

pytestmark = pytest.mark.integration

SETTLE_SECONDS = 150.0  # getDeleted covers whole minutes: a delete shows within one more


@dataclass
class SalesforceAccounts:
    client: SalesforceClient
    server: SalesforceProcess
    system: str = "salesforce"
    object: str = "Account"
    tracking: str = "polling"

    def env(self) -> dict[str, str]:
        settings = {f"Q2C_SALESFORCE__{k.upper()}": str(v) for k, v in self.server.defaults.items()}
        return {
            **settings,
            "Q2C_SALESFORCE__POLL_INTERVAL": "0.3",
            "Q2C_SALESFORCE__DELETE_INTERVAL": "0",
            "Q2C_SALESFORCE__TRACKING": self.tracking,
        }

    async def create(self, name: str) -> str:
        return await self.client.create("Account", {"Name": name})

    async def rename(self, record_id: str, name: str) -> None:
        await self.client.update("Account", record_id, {"Name": name})

    async def delete(self, record_id: str) -> None:
        await self.client.request("DELETE", self.client.data_path(f"sobjects/Account/{record_id}"))

    async def names(self, ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        for record_id in ids:
            record = await self.client.record("Account", record_id)
            if record is not None:
                found[record_id] = str(record["Name"])
        return found


@pytest.mark.parametrize("tracking", ["polling", "cdc"])
async def test_the_salesforce_source_killed_mid_stream_loses_and_repeats_nothing(
    tracking: str, salesforce_process: SalesforceProcess, kafka_bootstrap: str, tmp_path: Path
) -> None:
    # The workload writes as another client than q2c: its changes are not q2c's echoes.
    as_workload = SPEC.configured(salesforce_process.defaults)
    client = SalesforceClient(as_workload.model_copy(update={"call_client": "workload"}))
    peer = SalesforceAccounts(client, salesforce_process, tracking=tracking)
    prefix = f"sfkill{uuid.uuid4().hex[:8]}"
    topics = Topics(prefix)
    await ensure_topics({"bootstrap_servers": kafka_bootstrap}, {topics.raw("salesforce"): 1})
    env = {
        **os.environ,
        "Q2C_KAFKA__BOOTSTRAP": kafka_bootstrap,
        "Q2C_KAFKA__TOPIC_PREFIX": prefix,
        "Q2C_KAFKA__PARTITIONS": "1",
        "Q2C_DEV__STATE_DIR": str(tmp_path / "state"),
        "Q2C_TELEMETRY__LOG_FORMAT": "text",
        **peer.env(),
    }
    connector = Connector("salesforce", env, tmp_path / "salesforce.log")
    raw = RawTopic(topics.raw("salesforce"), kafka_bootstrap)
    workload = Workload(peer, prefix)
    following = asyncio.create_task(raw.follow())
    writing = asyncio.create_task(workload.run())
    kills = 0

    def ours(messages: list[RawChange]) -> list[RawChange]:
        return [m for m in messages if m.object == "Account" and m.record_id in workload.last]

    async def settle(check: Callable[[list[RawChange]], bool], what: str) -> None:
        assert await raw.until(check, SETTLE_SECONDS), (
            f"never happened: {what}\n{tail(connector.log, 40)}"
        )
        for _ in range(20):
            count = len(raw.messages)
            await asyncio.sleep(1.5)
            if len(raw.messages) == count:
                return

    try:
        connector.start()
        for moment in MOMENTS:
            await raw.grown(moment.after, within=15.0)
            await asyncio.sleep(moment.delay)
            await asyncio.to_thread(connector.kill)
            kills += 1
            connector.start()
        await asyncio.wait_for(writing, 120)
        held = await peer.names(list(workload.last))
        assert held == workload.last

        def complete(messages: list[RawChange]) -> bool:
            published = {(m.record_id, m.record.get("Name")) for m in ours(messages)}
            return all((rid, name) in published for rid, name in held.items())

        await settle(complete, f"the last versions all reached {raw.topic}")
        await workload.delete()
        await raw.grown(1, within=90.0)
        await asyncio.to_thread(connector.kill)
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
        if tracking == "cdc":
            # What was written before the last start's subscription from the tip came by
            # polling; once it is open, a change comes through Change Data Capture (its
            # record re-read, a "cdc@" cursor). A change made before the subscription is
            # registered is caught up later: change the probe again until one is seen.
            probe = await peer.create(f"{prefix} CDC probe")

            def through_cdc(messages: list[RawChange]) -> bool:
                return any(m.record_id == probe and m.cursor.startswith("cdc@") for m in messages)

            for attempt in range(24):
                await peer.rename(probe, f"{prefix} CDC probe {attempt}")
                if await raw.until(through_cdc, 5.0):
                    break
            else:
                raise AssertionError(f"no change came through CDC\n{tail(connector.log, 40)}")
    finally:
        await asyncio.to_thread(connector.stop)
        following.cancel()
        writing.cancel()
        await asyncio.gather(following, writing, return_exceptions=True)
        await client.close()

    newest: dict[str, RawChange] = {m.record_id: m for m in mine}
    assert set(newest) == set(held) | gone
    assert {rid: m.record.get("Name") for rid, m in newest.items() if rid in held} == held
    for rid in gone:
        assert (newest[rid].operation, newest[rid].record) == (Operation.DELETE, {})
    by_version: dict[tuple[str, Any], set[str]] = {}
    by_fingerprint: dict[tuple[str, str], set[Any]] = {}
    for m in mine:
        by_version.setdefault((m.record_id, m.record.get("Name")), set()).add(m.fingerprint)
        by_fingerprint.setdefault((m.record_id, m.fingerprint), set()).add(m.record.get("Name"))
    # A repeat is recognisable: one fingerprint per version of a record, and back.
    assert all(len(fps) == 1 for fps in by_version.values()), by_version
    assert all(len(names) == 1 for names in by_fingerprint.values()), by_fingerprint
    written = {f"{prefix}-{i}-v{v}" for i in range(RECORDS) for v in range(3)}
    assert {name for _, name in by_version} - {None} <= written
    assert connector.starts == kills + 1
    repeats = len(mine) - len({(m.record_id, m.fingerprint) for m in mine})
    summary = f"{kills} kills, {len(mine)} messages of {RECORDS} accounts, {repeats} repeats"
    print(f"\nsalesforce: {summary}")
