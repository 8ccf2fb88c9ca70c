"""Synced quotes against the local Salesforce server: an opportunity read with its synced
quote, quote and quote line changes re-publishing the opportunity (polling, and Change
Data Capture), and an org without quotes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from connectors.base.source import Stream
from connectors.base.tracking.events import TIP, EventCursor
from connectors.salesforce import cdc
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.mapping import SalesforceMapper, to_quote
from connectors.salesforce.source import (
    STREAMS,
    OpportunityStream,
    QuoteLineStream,
    QuoteStream,
    StreamCursor,
)
from connectors.salesforce.spec import SPEC
from q2c.localserver.salesforce.server import running
from q2c.localserver.salesforce.settings import ServerSettings
from schemas import Quote, RawChange
from tests.connectors.salesforce.test_live import settings
from tests.plugins.salesforce import defaults_of

pytestmark = pytest.mark.integration


@pytest.fixture
async def client(salesforce_org: Any) -> AsyncIterator[SalesforceClient]:
    crm = SalesforceClient(settings(salesforce_org, timeout=5.0))
    try:
        yield crm
    finally:
        await crm.close()


async def read_until(
    stream: Stream,
    cursor: str | None,
    done: Callable[[list[RawChange]], bool],
    within: float = 60.0,
) -> tuple[list[RawChange], str | None]:
    """Reads ``stream`` until ``done(changes)`` holds (polled, with a deadline)."""
    changes: list[RawChange] = []
    async with asyncio.timeout(within):
        while True:
            batch = await stream.read(cursor)
            changes += batch.changes
            cursor = batch.cursor or cursor
            if done(changes):
                return changes, cursor
            if not batch.more:
                await asyncio.sleep(0.5)


async def entry(client: SalesforceClient, code: str, price: float) -> str:
    [book] = await client.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true")
    product = await client.create("Product2", {"Name": code, "ProductCode": code})
    return await client.create(
        "PricebookEntry",
        {"Pricebook2Id": book["Id"], "Product2Id": product, "UnitPrice": price, "IsActive": True},
    )


async def deal_with_synced_quote(client: SalesforceClient) -> tuple[str, str, str]:
    """An opportunity with one line (SUP-1) and a synced quote with another (three TRN-1):
    the opportunity's, the quote's and the quote line's ids."""
    account = await client.create("Account", {"Name": "Acme"})
    support, training = await entry(client, "SUP-1", 100), await entry(client, "TRN-1", 800)
    opportunity = await client.create(
        "Opportunity",
        {
            "Name": "Acme deal",
            "AccountId": account,
            "StageName": "Negotiation/Review",
            "CloseDate": "2026-12-31",
        },
    )
    await client.create(
        "OpportunityLineItem",
        {"OpportunityId": opportunity, "PricebookEntryId": support, "Quantity": 1},
    )
    quote = await client.create("Quote", {"Name": "Offer", "OpportunityId": opportunity})
    line = await client.create(
        "QuoteLineItem", {"QuoteId": quote, "PricebookEntryId": training, "Quantity": 3}
    )
    await client.update("Opportunity", opportunity, {"SyncedQuoteId": quote})
    return opportunity, quote, line


async def follow(stream: cdc.CdcStream) -> tuple[list[RawChange], str]:
    """Reads a new CDC stream until it follows the channel: the snapshot, the subscription
    from the tip and the catch-up poll done."""
    changes: list[RawChange] = []
    cursor: str | None = None
    async with asyncio.timeout(60):
        while True:
            batch = await stream.read(cursor)
            changes += batch.changes
            cursor = batch.cursor or cursor
            state = EventCursor.decode(cursor)
            if cursor and not state.resync and not state.catchup and state.position != TIP:
                return changes, cursor
            if not batch.more:
                await asyncio.sleep(0.2)


def deal(changes: Sequence[RawChange], opportunity: str) -> Quote:
    [last] = [c for c in changes if c.record_id == opportunity][-1:]
    assert last.object == "Opportunity"
    return to_quote(last.record, last.source_ts, "USD")


def quantities(changes: Sequence[RawChange], opportunity: str) -> list[float]:
    return [float(line.quantity) for line in deal(changes, opportunity).lines]


async def test_a_synced_quote_rides_with_its_opportunity_and_republishes_it(
    salesforce_org: Any, client: SalesforceClient
) -> None:
    config = settings(salesforce_org, delete_interval=0)
    opportunity, quote, line = await deal_with_synced_quote(client)
    assert await client.has_quotes()

    opportunities = OpportunityStream(client, config)
    seen, _ = await read_until(
        opportunities, None, lambda c: opportunity in {x.record_id for x in c}
    )
    canonical = deal(seen, opportunity)
    assert [(x.sku, float(x.quantity)) for x in canonical.lines] == [("TRN-1", 3.0)]
    assert canonical.total.amount == 2400
    assert canonical.attributes["synced_quote_id"] == quote
    assert list(SalesforceMapper().canonical(seen[-1]))  # maps as the mapper maps it

    lines, quotes = QuoteLineStream(client, config), QuoteStream(client, config)
    _, line_cursor = await read_until(lines, None, lambda c: bool(c))  # the snapshot
    _, quote_cursor = await read_until(quotes, None, lambda c: bool(c))
    # A line's change: the quote line stream publishes the opportunity, now with 5.
    await client.update("QuoteLineItem", line, {"Quantity": 5})
    later, line_cursor = await read_until(
        lines, line_cursor, lambda c: opportunity in {x.record_id for x in c}
    )
    assert {x.object for x in later} == {"Opportunity"}
    assert quantities(later, opportunity) == [5.0]
    # The quote's totals changed with it: the quote stream publishes it too.
    again, quote_cursor = await read_until(
        quotes, quote_cursor, lambda c: opportunity in {x.record_id for x in c}
    )
    assert deal(again, opportunity).total.amount == 4000
    assert StreamCursor.decode(quote_cursor).poll is not None

    # A quote that is not the synced one changes nothing q2c publishes.
    other = await client.create("Quote", {"Name": "Alternative", "OpportunityId": opportunity})
    await client.update("Quote", other, {"Description": "cheaper"})
    assert (await quotes.read(quote_cursor)).changes == []


async def test_change_events_of_a_quote_line_republish_its_opportunity(tmp_path: Path) -> None:
    # A keep-alive every second: the subscription from the tip answers soon when idle.
    quick = ServerSettings(cdc_keepalive=timedelta(seconds=1))
    async with running(tmp_path / "salesforce", settings=quick) as server:
        config = SPEC.configured(defaults_of(server.credentials))
        await SPEC.set_up(config)
        config = config.model_copy(update={"tracking": "cdc"})
        crm = SalesforceClient(config)
        user = SalesforceClient(config.model_copy(update={"call_client": "sales-user"}))
        opportunity, _, line = await deal_with_synced_quote(crm)
        [stream] = cdc.streams(crm, config, [kind(crm, config) for kind in STREAMS])
        assert set(stream.fallback) == {"Account", "Contact", "Opportunity", "Product2"}
        try:
            first, cursor = await follow(stream)
            assert quantities(first, opportunity) == [3.0]  # the snapshot has the quote
            # Following the channel (snapshot and catch-up done): only an event can tell.
            await user.update("QuoteLineItem", line, {"Quantity": 7})
            later, _ = await read_until(
                stream,
                cursor,
                lambda c: opportunity in {x.record_id for x in c},
            )
            assert {x.object for x in later} == {"Opportunity"}
            assert quantities(later, opportunity) == [7.0]
        finally:
            await stream.close()
            await user.close()
            await crm.close()


async def test_an_org_without_quotes_is_followed_as_before(tmp_path: Path) -> None:
    async with running(
        tmp_path / "salesforce", settings=ServerSettings(quotes_enabled=False)
    ) as server:
        config = SPEC.configured(defaults_of(server.credentials))
        await SPEC.set_up(config)
        crm = SalesforceClient(config)
        try:
            assert not await crm.has_quotes()
            account = await crm.create("Account", {"Name": "Acme"})
            opportunity = await crm.create(
                "Opportunity",
                {
                    "Name": "No quotes here",
                    "AccountId": account,
                    "StageName": "Prospecting",
                    "CloseDate": "2026-12-31",
                },
            )
            seen, _ = await read_until(OpportunityStream(crm, config), None, lambda c: bool(c))
            assert [c.record_id for c in seen] == [opportunity]
            assert "SyncedQuoteId" not in seen[0].record
            assert deal(seen, opportunity).attributes == {}
            for stream in (QuoteStream(crm, config), QuoteLineStream(crm, config)):
                batch = await stream.read(None)
                assert (batch.changes, batch.cursor) == ((), None)
        finally:
            await crm.close()
