"""The store tells its change feed about every committed write, with q2c's client id in the
change origin; failed and rolled-back writes tell it nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from q2c.localserver.salesforce.changes import RecordChange
from q2c.localserver.salesforce.server import running
from tests.localserver.salesforce.org import Org, jwt_login


class ListFeed:
    def __init__(self) -> None:
        self.transactions: list[list[RecordChange]] = []

    def publish(self, changes: list[RecordChange]) -> None:
        self.transactions.append(changes)


@pytest.fixture
async def feed_and_org(tmp_path: Path) -> AsyncIterator[tuple[ListFeed, Org]]:
    feed = ListFeed()
    async with running(tmp_path / "org", feed=feed) as server, aiohttp.ClientSession() as http:
        login = await jwt_login(http, server.credentials)
        yield feed, Org(http, server, str(login["access_token"]), str(login["instance_url"]))


async def test_each_committed_write_is_published(feed_and_org: tuple[ListFeed, Org]) -> None:
    feed, org = feed_and_org
    q2c = {"Sforce-Call-Options": "client=q2c"}
    reply = await org.call("POST", "/sobjects/Account", {"Name": "Acme"}, headers=q2c)
    account = reply.body["id"]
    [[created]] = feed.transactions
    assert (created.entity, created.change_type, created.record_ids) == (
        "Account",
        "CREATE",
        (account,),
    )
    assert created.fields["Name"] == "Acme"
    assert created.change_origin == f"com/salesforce/api/rest/{org.version};client=q2c"
    assert created.commit_user == org.server.store.integration_user_id
    await org.call("PATCH", f"/sobjects/Account/{account}", {"Name": "Acme SA", "Phone": None})
    [update] = feed.transactions[1]
    assert update.change_type == "UPDATE"
    assert update.change_origin == ""
    assert {"Name", "LastModifiedDate", "SystemModstamp"} <= set(update.changed_fields)
    assert "Phone" not in update.changed_fields  # it was null already
    assert update.commit_number > created.commit_number
    failed = await org.call("POST", "/sobjects/Account", {"Colour": "red"})
    assert failed.status == 400
    rolled_back = await org.call(
        "POST",
        "/composite/sobjects",
        {"allOrNone": True, "records": [{"attributes": {"type": "Account"}, "Name": "X"}, {}]},
    )
    assert rolled_back.status == 200
    assert len(feed.transactions) == 2
    await org.call("DELETE", f"/sobjects/Account/{account}")
    [deleted] = feed.transactions[2]
    assert (deleted.change_type, deleted.record_ids, dict(deleted.fields)) == (
        "DELETE",
        (account,),
        {},
    )


async def test_a_line_item_and_its_opportunity_change_in_one_transaction(
    feed_and_org: tuple[ListFeed, Org],
) -> None:
    feed, org = feed_and_org
    standard = org.server.store.standard_pricebook_id
    product = await org.create("Product2", Name="P", IsActive=True)
    entry = await org.create(
        "PricebookEntry", Pricebook2Id=standard, Product2Id=product, UnitPrice=5, IsActive=True
    )
    opportunity = await org.create(
        "Opportunity", Name="O", StageName="Prospecting", CloseDate="2026-01-01"
    )
    feed.transactions.clear()
    await org.create(
        "OpportunityLineItem", OpportunityId=opportunity, PricebookEntryId=entry, Quantity=2
    )
    [transaction] = feed.transactions
    assert [(c.entity, c.change_type, c.sequence_number) for c in transaction] == [
        ("OpportunityLineItem", "CREATE", 1),
        ("Opportunity", "UPDATE", 2),
    ]
    assert len({c.transaction_key for c in transaction}) == 1
    assert transaction[1].fields["Amount"] == 10
