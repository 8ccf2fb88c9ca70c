"""The NetSuite client and streams against the local NetSuite server (no Kafka): both
authentications, refused credentials, governance, SuiteQL paging by ``rel=next``, time
windows under the row cap, and the deletion log."""

from __future__ import annotations

import asyncio
import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from prometheus_client import REGISTRY

from connectors.base.errors import ConnectorError, ErrorKind
from connectors.netsuite.client import NetSuiteClient
from connectors.netsuite.connector import connect
from connectors.netsuite.source import CustomerStream, DeletedRecordStream
from q2c.devstack.netsuite import healthy as netsuite_healthy
from q2c.devstack.stack import set_up
from tests.integration.peers.test_tryton_sink import customer, item, order
from tests.plugins.netsuite import NetSuitePeer

pytestmark = pytest.mark.integration


def _metric(name: str) -> float:
    return REGISTRY.get_sample_value(name, {"system": "netsuite"}) or 0.0


@pytest.mark.parametrize("auth", ["tba", "m2m"])
async def test_both_authentications_reach_the_account(
    netsuite_peer: NetSuitePeer, auth: str
) -> None:
    client = NetSuiteClient.of(netsuite_peer.settings(auth=auth))
    try:
        made = await client.create("customer", {"companyName": f"Made with {auth}"})
        query = f"SELECT id, companyname FROM customer WHERE id = {int(made)}"  # noqa: S608
        page = await client.suiteql(query)
        assert [row["companyname"] for row in page["items"]] == [f"Made with {auth}"]
        if auth == "m2m":  # an expired token is replaced once, the call goes through
            await netsuite_peer.control("expire-tokens")
            assert await client.get_record("customer", made) is not None
    finally:
        await client.close()


async def test_a_refused_credential_is_fatal_and_not_shown(netsuite_peer: NetSuitePeer) -> None:
    wrong = "refused-token-secret-0042"
    client = NetSuiteClient.of(netsuite_peer.settings(token_secret=wrong))
    try:
        with pytest.raises(ConnectorError) as refused:
            await client.suiteql("SELECT id FROM customer")
    finally:
        await client.close()
    assert refused.value.kind is ErrorKind.FATAL
    assert wrong not in str(refused.value)
    assert wrong not in refused.value.detail


async def test_calls_beyond_the_accounts_limit_back_off_and_all_succeed(
    netsuite_peer: NetSuitePeer,
) -> None:
    await netsuite_peer.control("concurrency", {"limit": 1})
    await netsuite_peer.control("latency", {"seconds": 0.05})
    greedy = NetSuiteClient.of(netsuite_peer.settings(concurrency=8, max_attempts=30))
    retries = _metric("q2c_api_retries_total")
    backoff = _metric("q2c_rate_limit_wait_seconds_total")
    try:
        pages = await asyncio.gather(*(greedy.suiteql("SELECT id FROM currency") for _ in range(8)))
    finally:
        await greedy.close()
    assert all(page["items"] for page in pages)
    stats = await netsuite_peer.control("stats")
    assert stats["refused"] > 0
    assert _metric("q2c_api_retries_total") > retries
    assert _metric("q2c_rate_limit_wait_seconds_total") > backoff  # the backoffs, counted

    # Within its share (a concurrency of 1), q2c waits for its own slot instead.
    refused = stats["refused"]
    waits = _metric("q2c_rate_limit_wait_seconds_total")
    polite = NetSuiteClient.of(netsuite_peer.settings(concurrency=1))
    try:
        await asyncio.gather(*(polite.suiteql("SELECT id FROM currency") for _ in range(8)))
    finally:
        await polite.close()
    assert (await netsuite_peer.control("stats"))["refused"] == refused
    assert _metric("q2c_rate_limit_wait_seconds_total") > waits


async def test_pages_follow_rel_next(netsuite_peer: NetSuitePeer) -> None:
    client = NetSuiteClient.of(netsuite_peer.settings())
    try:
        for n in range(5):
            await client.create("customer", {"companyName": f"Paged {n}"})
        pages = [p async for p in client.suiteql_pages("SELECT id FROM customer", limit=2)]
    finally:
        await client.close()
    assert [len(p["items"]) for p in pages] == [2, 2, 1]
    assert [p["hasMore"] for p in pages] == [True, True, False]


async def test_a_stream_reads_past_the_row_cap_in_windows_and_pages(
    netsuite_peer: NetSuitePeer,
) -> None:
    config = netsuite_peer.settings()
    client = NetSuiteClient.of(config)
    try:
        made = [await client.create("customer", {"companyName": f"C{n}"}) for n in range(7)]
        await netsuite_peer.control("max-query-rows", {"rows": 3})
        stream = CustomerStream(client, zone=ZoneInfo(config.time_zone), page_size=2)
        seen: list[str] = []
        cursor = None
        for _ in range(10):
            batch = await stream.read(cursor)
            seen += [c.record_id for c in batch.changes]
            cursor = batch.cursor
            if not batch.more and not batch.changes:
                break
        assert seen == made
        again = await stream.read(cursor)
        assert again.changes == []
    finally:
        await client.close()


async def test_deletions_come_from_the_deletion_log(netsuite_peer: NetSuitePeer) -> None:
    config = netsuite_peer.settings()
    client = NetSuiteClient.of(config)
    try:
        gone = await client.create("customer", {"companyName": "Closing"})
        stream = DeletedRecordStream(client, zone=ZoneInfo(config.time_zone))
        first = await stream.read(None)
        assert first.changes == []
        await client.request("DELETE", f"/services/rest/record/v1/customer/{gone}")
        batch = await stream.read(first.cursor)
        assert [(c.object, c.record_id, c.operation.value) for c in batch.changes] == [
            ("customer", gone, "delete")
        ]
        assert batch.changes[0].source_ts <= dt.datetime.now(dt.UTC)
        assert (await stream.read(batch.cursor)).changes == []
    finally:
        await client.close()


async def test_orders_are_created_in_the_configured_approval_state(
    netsuite_peer: NetSuitePeer,
) -> None:
    for status in ("A", "B"):
        parts = await connect(netsuite_peer.settings(order_status=status))
        try:
            assert parts.sink is not None
            await parts.sink.apply(customer("ACC-APPR", "Approvals Inc"))
            await parts.sink.apply(item("APPR-1", "50"))
            made = await parts.sink.apply(order(f"DEAL-{status}", "ACC-APPR", "APPR-1"))
        finally:
            if parts.close is not None:
                await parts.close()
        assert made.ids is not None
        client = NetSuiteClient.of(netsuite_peer.settings())
        try:
            found = await client.suiteql_rows(
                f"SELECT status FROM transaction WHERE id = {int(made.ids.erp_id or 0)}"  # noqa: S608
            )
        finally:
            await client.close()
        assert [row["status"] for row in found] == [status]


def test_the_dev_stack_records_what_the_connector_needs_and_sets_it_up(
    netsuite_peer: NetSuitePeer,
) -> None:
    lines = set_up("netsuite", netsuite_peer.entry)
    assert lines == [
        f"netsuite: account {netsuite_peer.entry['account_id']}, subsidiary Parent Company, "
        "currency USD present"
    ]
    assert netsuite_healthy(netsuite_peer.entry)


async def test_an_async_create_repeated_with_its_key_finds_the_first_job(
    netsuite_peer: NetSuitePeer,
) -> None:
    client = NetSuiteClient.of(netsuite_peer.settings())
    try:
        body = {"companyName": "Async Inc", "externalId": "ACC-ASYNC"}
        # The first request's answer is lost after NetSuite accepted it: the retry with the
        # same key is refused (IDEMPOTENCY_ERROR) and follows the first request's job.
        await netsuite_peer.control("drop-next-write", {"count": 1})
        first = await client.create_async("customer", body, "command-key-1")
        assert (await netsuite_peer.control("stats"))["drop_next_writes"] == 0
        again = await client.create_async("customer", body, "command-key-1")
        rows = await client.suiteql_rows("SELECT id FROM customer WHERE externalid = 'ACC-ASYNC'")
    finally:
        await client.close()
    assert again == first
    assert [row["id"] for row in rows] == [first]


async def test_deletions_of_records_sharing_an_id_are_both_read(
    netsuite_peer: NetSuitePeer,
) -> None:
    config = netsuite_peer.settings()
    client = NetSuiteClient.of(config)
    try:
        customer_id = await client.create("customer", {"companyName": "Twin"})
        item_id = await client.create("inventoryItem", {"itemId": "TWIN-1"})
        assert customer_id == item_id  # internal ids count per record type
        stream = DeletedRecordStream(client, zone=ZoneInfo(config.time_zone))
        cursor = (await stream.read(None)).cursor
        assert await client.delete("customer", customer_id)
        assert await client.delete("inventoryItem", item_id)
        batch = await stream.read(cursor)
    finally:
        await client.close()
    assert sorted((c.object, c.record_id) for c in batch.changes) == [
        ("customer", customer_id),
        ("item", item_id),
    ]


@pytest.mark.parametrize("auth", ["tba", "m2m"])
async def test_an_upsert_whose_answer_was_lost_lands_on_one_record(
    netsuite_peer: NetSuitePeer, auth: str
) -> None:
    client = NetSuiteClient.of(netsuite_peer.settings(auth=auth))
    try:
        await client.suiteql("SELECT id FROM currency")  # a kept-alive connection to drop
        await netsuite_peer.control("drop-next-write", {"count": 1})
        made = await client.upsert("customer", "ACC-LOST", {"companyName": "Lost answer"})
        rows = await client.suiteql_rows("SELECT id FROM customer WHERE externalid = 'ACC-LOST'")
    finally:
        await client.close()
    assert [row["id"] for row in rows] == [made]
    assert (await netsuite_peer.control("stats"))["drop_next_writes"] == 0
