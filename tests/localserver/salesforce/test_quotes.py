"""Quotes and quote line items where quotes are enabled (Object Reference: Quote,
QuoteLineItem, Opportunity.SyncedQuoteId), and an org where they are not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from q2c.localserver.salesforce.server import running
from q2c.localserver.salesforce.settings import ServerSettings
from tests.localserver.salesforce.org import Org, jwt_login
from tests.localserver.salesforce.test_changes import ListFeed
from tests.localserver.salesforce.test_records import error_code


async def priced_product(org: Org, code: str, price: float) -> str:
    """A product with its standard price; the entry's id."""
    standard = org.server.store.standard_pricebook_id
    product = await org.create("Product2", Name=f"Product {code}", ProductCode=code, IsActive=True)
    return await org.create(
        "PricebookEntry", Pricebook2Id=standard, Product2Id=product, UnitPrice=price, IsActive=True
    )


async def test_a_quote_totals_its_lines_and_syncs_with_its_opportunity(org: Org) -> None:
    account = await org.create("Account", Name="Acme")
    entry = await priced_product(org, "Q-1", 40)
    opportunity = await org.create(
        "Opportunity",
        Name="Deal",
        AccountId=account,
        StageName="Prospecting",
        CloseDate="2026-12-31",
    )
    quote = await org.create("Quote", Name="Offer", OpportunityId=opportunity, Tax=5)
    await org.create("QuoteLineItem", QuoteId=quote, PricebookEntryId=entry, Quantity=3)
    line = await org.create(
        "QuoteLineItem",
        QuoteId=quote,
        PricebookEntryId=entry,
        Quantity=2,
        UnitPrice=30,
        Discount=50,
    )
    [row] = await org.records(
        "SELECT QuoteNumber, AccountId, Pricebook2Id, IsSyncing, Status, Subtotal, TotalPrice, "  # noqa: S608
        "GrandTotal, LineItemCount, SystemModstamp, (SELECT Quantity, UnitPrice, ListPrice, "
        "TotalPrice, Product2.ProductCode FROM QuoteLineItems ORDER BY Quantity DESC) "
        f"FROM Quote WHERE Id = '{quote}'"
    )
    assert row["QuoteNumber"] == "00000001"
    assert (row["AccountId"], row["IsSyncing"], row["Status"]) == (account, False, "Draft")
    assert row["Pricebook2Id"] == org.server.store.standard_pricebook_id
    assert (row["Subtotal"], row["TotalPrice"], row["GrandTotal"]) == (180, 150, 155)
    assert row["LineItemCount"] == 2
    first, second = row["QuoteLineItems"]["records"]
    assert (first["UnitPrice"], first["ListPrice"], first["TotalPrice"]) == (40, 40, 120)
    assert first["Product2"]["ProductCode"] == "Q-1"
    assert second["TotalPrice"] == 30
    before = row["SystemModstamp"]

    reply = await org.call(
        "PATCH", f"/sobjects/Opportunity/{opportunity}", {"SyncedQuoteId": quote}
    )
    assert reply.status == 204, reply.body
    [synced] = await org.records(
        "SELECT Id, IsSyncing, OpportunityId FROM Quote WHERE IsSyncing = true"
    )
    assert (synced["Id"], synced["OpportunityId"]) == (quote, opportunity)
    [deal] = await org.records(
        "SELECT SyncedQuoteId, SyncedQuote.QuoteNumber FROM Opportunity "  # noqa: S608
        f"WHERE SyncedQuoteId IN ('{quote}')"
    )
    assert (deal["SyncedQuoteId"], deal["SyncedQuote"]["QuoteNumber"]) == (quote, "00000001")

    # A line's change changes its quote's totals, and so the quote's SystemModstamp.
    reply = await org.call("PATCH", f"/sobjects/QuoteLineItem/{line}", {"Quantity": 4})
    assert reply.status == 204, reply.body
    [row] = await org.records(f"SELECT TotalPrice, SystemModstamp FROM Quote WHERE Id = '{quote}'")  # noqa: S608
    assert row["TotalPrice"] == 180
    assert row["SystemModstamp"] >= before

    # Deleting the synced quote clears the opportunity's SyncedQuoteId and takes its lines.
    assert (await org.call("DELETE", f"/sobjects/Quote/{quote}")).status == 204
    [deal] = await org.records(f"SELECT SyncedQuoteId FROM Opportunity WHERE Id = '{opportunity}'")  # noqa: S608
    assert deal["SyncedQuoteId"] is None
    assert await org.records("SELECT Id FROM QuoteLineItem") == []


async def test_only_a_quote_of_the_opportunity_can_be_its_synced_quote(org: Org) -> None:
    first = await org.create(
        "Opportunity", Name="One", StageName="Prospecting", CloseDate="2026-12-31"
    )
    second = await org.create(
        "Opportunity", Name="Two", StageName="Prospecting", CloseDate="2026-12-31"
    )
    quote = await org.create("Quote", Name="Offer", OpportunityId=first)
    reply = await org.call("PATCH", f"/sobjects/Opportunity/{second}", {"SyncedQuoteId": quote})
    assert (reply.status, error_code(reply.body)) == (400, "FIELD_INTEGRITY_EXCEPTION")
    reply = await org.call("POST", "/sobjects/Quote", {"Name": "No deal"})
    assert (reply.status, error_code(reply.body)) == (400, "REQUIRED_FIELD_MISSING")


async def test_quote_changes_reach_the_change_feed(tmp_path: Path) -> None:
    feed = ListFeed()
    async with running(tmp_path / "org", feed=feed) as server, aiohttp.ClientSession() as http:
        login = await jwt_login(http, server.credentials)
        org = Org(http, server, str(login["access_token"]), str(login["instance_url"]))
        entry = await priced_product(org, "Q-2", 10)
        opportunity = await org.create(
            "Opportunity", Name="Deal", StageName="Prospecting", CloseDate="2026-12-31"
        )
        quote = await org.create("Quote", Name="Offer", OpportunityId=opportunity)
        feed.transactions.clear()
        await org.create("QuoteLineItem", QuoteId=quote, PricebookEntryId=entry, Quantity=1)
    [transaction] = feed.transactions
    assert [(c.entity, c.change_type) for c in transaction] == [
        ("QuoteLineItem", "CREATE"),
        ("Quote", "UPDATE"),
    ]


@pytest.fixture
async def org_without_quotes(tmp_path: Path) -> AsyncIterator[Org]:
    settings = ServerSettings(quotes_enabled=False)
    async with (
        running(tmp_path / "org", settings=settings) as server,
        aiohttp.ClientSession() as http,
    ):
        login = await jwt_login(http, server.credentials)
        yield Org(http, server, str(login["access_token"]), str(login["instance_url"]))


async def test_an_org_without_quotes_answers_as_salesforce_does(org_without_quotes: Org) -> None:
    org = org_without_quotes
    reply = await org.query("SELECT Id FROM Quote")
    assert (reply.status, error_code(reply.body)) == (400, "INVALID_TYPE")
    assert "sObject type 'Quote' is not supported" in reply.body[0]["message"]
    reply = await org.query("SELECT Id FROM QuoteLineItem")
    assert (reply.status, error_code(reply.body)) == (400, "INVALID_TYPE")
    reply = await org.call("GET", "/sobjects/Quote/describe")
    assert (reply.status, error_code(reply.body)) == (404, "NOT_FOUND")
    reply = await org.query("SELECT Id, SyncedQuoteId FROM Opportunity")
    assert (reply.status, error_code(reply.body)) == (400, "INVALID_FIELD")
    names = {o["name"] for o in (await org.call("GET", "/sobjects")).body["sobjects"]}
    assert "Opportunity" in names
    assert not names & {"Quote", "QuoteLineItem"}
