"""Change Data Capture end to end: the local Salesforce server's REST API, its Pub/Sub API,
the connector's CDC stream and the real Kafka broker (raw changes and stored cursors).

Changes the CDC stream re-reads carry a ``cdc@`` cursor; those its polling fallback reads
carry ``poll@``, so each assertion says which way a change came."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition

from connectors.base import CursorStore, Publisher, SourceRunner
from connectors.base.errors import ConnectorError
from connectors.base.spec import SetupOptions
from connectors.base.tracking.events import TIP, EventCursor
from connectors.salesforce import cdc
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.provision import provision
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.source import STREAMS
from q2c.core.topics import Topics
from q2c.localserver.salesforce.server import LocalSalesforce, running
from q2c.localserver.salesforce.settings import ServerSettings
from schemas import CODEC, RawChange
from tests.localserver.salesforce.org import Org, jwt_login
from tests.plugins.kafka import create_q2c_topics

pytestmark = pytest.mark.integration

SYSTEM = "salesforce"


def settings_of(server: LocalSalesforce) -> SalesforceSettings:
    credentials = server.credentials
    return SalesforceSettings(
        login_url=credentials["login_url"],
        api_version=credentials["api_version"],
        consumer_key=credentials["consumer_key"],
        username=credentials["username"],
        private_key_file=credentials["private_key_file"],
        pubsub_address=credentials["pubsub_address"],
        tracking="cdc",
    )


@dataclass
class Source:
    """One connector process with only its CDC stream running."""

    stream: cdc.CdcStream
    runner: SourceRunner
    errors: list[ConnectorError]

    async def poll(self) -> None:
        try:
            await self.runner.poll_once(self.stream)
        except ConnectorError as exc:
            if not exc.retriable:
                raise
            self.errors.append(exc)


@asynccontextmanager
async def source(server: LocalSalesforce, bootstrap: str, topics: Topics) -> AsyncIterator[Source]:
    config = settings_of(server)
    client = SalesforceClient(config)
    (stream,) = cdc.streams(client, config, [s(client, config) for s in STREAMS])
    kwargs = {"bootstrap_servers": bootstrap}
    publisher = Publisher(kwargs, topics)
    cursors = CursorStore(topics.cursors, kwargs, owner=f"{topics.prefix}-{SYSTEM}-source")
    await publisher.start()
    await cursors.start()
    try:
        yield Source(stream, SourceRunner([stream], publisher, cursors), [])
    finally:
        await stream.close()
        await cursors.stop()
        await publisher.stop()
        await client.close()


async def raw_changes(bootstrap: str, topic: str) -> list[RawChange]:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        end = (await consumer.end_offsets([tp]))[tp]
        changes: list[RawChange] = []
        while await consumer.position(tp) < end:
            for records in (await consumer.getmany(tp, timeout_ms=500)).values():
                changes += [CODEC.decode_as(r.value or b"", RawChange) for r in records]
        return changes
    finally:
        await consumer.stop()


async def until(
    process: Source,
    bootstrap: str,
    topics: Topics,
    done: Callable[[list[RawChange]], bool],
    within: float = 120.0,
) -> list[RawChange]:
    """Poll the stream until the raw topic holds what ``done`` wants."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        published = await raw_changes(bootstrap, topics.raw(SYSTEM))
        if done(published):
            return published
        assert asyncio.get_running_loop().time() < deadline, [
            (c.record_id, c.cursor[:5]) for c in published
        ]
        await process.poll()


async def following(process: Source, within: float = 120.0) -> None:
    """Poll until the stream follows the channel: its snapshot and the catch-up poll after
    its subscription from the tip are done (the server's keep-alive answers within a
    second, see QUICK)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        await process.poll()
        state = EventCursor.decode(process.runner.cursors.get(process.stream.cursor_key))
        if state.position not in (None, TIP) and not state.resync and not state.catchup:
            return
        assert asyncio.get_running_loop().time() < deadline, state


QUICK = ServerSettings(cdc_keepalive=timedelta(seconds=1))
"""An idle subscription answers (with a keep-alive) within a second, not 270: the
catch-up after a subscription from the tip waits for that first answer."""


def of(record_id: str, way: str) -> Callable[[list[RawChange]], int]:
    def count(published: list[RawChange]) -> int:
        return sum(c.record_id == record_id and c.cursor.startswith(way) for c in published)

    return count


@asynccontextmanager
async def org_of(server: LocalSalesforce) -> AsyncIterator[Org]:
    """A logged-in REST client of an org set up for q2c (its custom fields created)."""
    await provision(settings_of(server), SetupOptions())
    async with aiohttp.ClientSession() as http:
        reply = await jwt_login(http, server.credentials)
        yield Org(http, server, str(reply["access_token"]), str(reply["instance_url"]))


async def fresh_topics(bootstrap: str) -> Topics:
    return await create_q2c_topics(
        bootstrap, Topics(prefix=f"test-{uuid.uuid4().hex[:10]}"), SYSTEM
    )


async def test_rest_changes_reach_kafka_through_cdc(kafka_bootstrap: str, tmp_path: Path) -> None:
    topics = await fresh_topics(kafka_bootstrap)
    async with running(tmp_path / "org", settings=QUICK) as server, org_of(server) as org:
        before = await org.create("Account", Name="Before CDC")
        async with source(server, kafka_bootstrap, topics) as first:
            # From no cursor: a snapshot by polling, the subscription from the tip and the
            # catch-up poll (which repeats the snapshot's recent records).
            await following(first)
            snapshot = of(before, "poll@")(await raw_changes(kafka_bootstrap, topics.raw(SYSTEM)))
            assert snapshot >= 1

            account = await org.create("Account", Name="Acme CDC", BillingCity="Lyon")
            published = await until(
                first, kafka_bootstrap, topics, lambda p: of(account, "cdc@")(p) == 1
            )
            (change,) = [c for c in published if c.record_id == account]
            assert change.record["Name"] == "Acme CDC"
            assert change.record["BillingCity"] == "Lyon"

            # A gap event re-reads the record it names.
            server.cdc.gap("Account", [account])
            await until(first, kafka_bootstrap, topics, lambda p: of(account, "cdc@")(p) == 2)

            # q2c's own write is recognised by its client id and left out.
            echo = await org.call(
                "PATCH",
                f"/sobjects/Account/{account}",
                {"Phone": "+33 4 00 00 00 00"},
                headers={"Sforce-Call-Options": "client=q2c"},
            )
            assert echo.status == 204

            # A dropped stream resumes after the stored replay id, losing nothing.
            assert server.cdc.drop_streams() == 1
            reply = await org.call("PATCH", f"/sobjects/Account/{account}", {"Website": "a.fr"})
            assert reply.status == 204
            published = await until(
                first, kafka_bootstrap, topics, lambda p: of(account, "cdc@")(p) == 3
            )
            assert first.errors, "the dropped stream was noticed"
            last = [c for c in published if c.record_id == account][-1]
            assert last.record["Website"] == "a.fr"
            assert first.stream.echoes == 1

        # A new process, after a change made while none ran: only what came after.
        contact = await org.create("Contact", LastName="Lovelace", AccountId=account)
        async with source(server, kafka_bootstrap, topics) as second:
            published = await until(
                second, kafka_bootstrap, topics, lambda p: of(contact, "cdc@")(p) == 1
            )
            assert of(account, "cdc@")(published) == 3
            assert of(before, "poll@")(published) == snapshot


async def test_an_expired_replay_id_falls_back_to_polling(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = await fresh_topics(kafka_bootstrap)
    settings = replace(QUICK, cdc_retention=timedelta(seconds=2))
    async with running(tmp_path / "org", settings=settings) as server, org_of(server) as org:
        async with source(server, kafka_bootstrap, topics) as first:
            await following(first)  # the (empty) snapshot, the subscription, the catch-up
            account = await org.create("Account", Name="Seen by CDC")
            await until(first, kafka_bootstrap, topics, lambda p: of(account, "cdc@")(p) == 1)

        missed = await org.create("Account", Name="Made while no one listened")
        pubsub = server.cdc.server
        assert pubsub is not None
        (seen,) = pubsub.log.after(0, 1)
        # Wait until the event of the stored replay id is past the retention period.
        deadline = asyncio.get_running_loop().time() + 60
        while pubsub.log.after(seen.position - 1, 1)[0].position == seen.position:
            assert asyncio.get_running_loop().time() < deadline
            await asyncio.sleep(0.2)
            pubsub.log.purge()
        # From now on events are kept as on an org (72 hours), not two seconds: the position
        # the new subscription reaches must outlive the catch-up poll.
        pubsub.log.retention_s = timedelta(hours=72).total_seconds()

        async with source(server, kafka_bootstrap, topics) as second:
            # The stored replay id is refused: the missed change comes by polling.
            await until(second, kafka_bootstrap, topics, lambda p: of(missed, "poll@")(p) >= 1)
            await following(second)  # resubscribed from the tip, caught up
            later = await org.create("Account", Name="Followed again")
            await until(second, kafka_bootstrap, topics, lambda p: of(later, "cdc@")(p) == 1)


def first_quantity(record: dict[str, Any]) -> Any:
    return record["OpportunityLineItems"]["records"][0]["Quantity"]


async def test_a_line_item_change_reaches_kafka_as_its_opportunity(
    kafka_bootstrap: str, tmp_path: Path
) -> None:
    topics = await fresh_topics(kafka_bootstrap)
    async with running(tmp_path / "org", settings=QUICK) as server, org_of(server) as org:
        pricebook = server.store.standard_pricebook_id
        product = await org.create("Product2", Name="Widget", IsActive=True)
        entry = await org.create(
            "PricebookEntry",
            Pricebook2Id=pricebook,
            Product2Id=product,
            UnitPrice=100.0,
            IsActive=True,
        )
        account = await org.create("Account", Name="Buyer")
        opportunity = await org.create(
            "Opportunity",
            Name="Deal",
            AccountId=account,
            StageName="Prospecting",
            CloseDate="2030-01-31",
            Pricebook2Id=pricebook,
        )
        line = await org.create(
            "OpportunityLineItem",
            OpportunityId=opportunity,
            PricebookEntryId=entry,
            Quantity=1,
            UnitPrice=100.0,
        )
        async with source(server, kafka_bootstrap, topics) as process:
            await following(process)
            seen = of(opportunity, "cdc@")(await raw_changes(kafka_bootstrap, topics.raw(SYSTEM)))
            reply = await org.call(
                "PATCH", f"/sobjects/OpportunityLineItem/{line}", {"Quantity": 3}
            )
            assert reply.status == 204, reply.body
            published = await until(
                process,
                kafka_bootstrap,
                topics,
                lambda p: any(
                    c.record_id == opportunity
                    and c.cursor.startswith("cdc@")
                    and first_quantity(c.record) == 3
                    for c in p
                ),
            )
            assert of(opportunity, "cdc@")(published) > seen
            assert not [c for c in published if c.record_id == line]
