"""The connector's client, polling, set-up and sink against the local Salesforce server:
sessions, the daily allowance, faults, pages, deletes and re-snapshots."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from connectors.base import ConnectorError, ErrorKind
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.limits import Usage
from connectors.salesforce.provision import ensure_fields, field_specs
from connectors.salesforce.settings import SalesforceSettings, WriteBackFields
from connectors.salesforce.sink import SalesforceSink
from connectors.salesforce.source import AccountStream, StreamCursor
from connectors.salesforce.spec import SPEC
from q2c.localserver.salesforce.changes import RecordChange
from q2c.localserver.salesforce.server import running
from schemas import (
    Customer,
    DeleteMode,
    DeleteRecord,
    EntityKind,
    ExternalIds,
    Money,
    Operation,
    Outcome,
    PriceBookPrice,
    RawChange,
    idempotency_key,
)
from tests.connectors.salesforce.commands import (
    NOW,
    account_balance,
    financial_status,
    renewal_deal,
    upsert_customer,
    upsert_item,
)
from tests.plugins.salesforce import defaults_of

pytestmark = pytest.mark.integration


def settings(server: Any, **overrides: Any) -> SalesforceSettings:
    return SPEC.configured({**defaults_of(server.credentials)}).model_copy(update=overrides)


@pytest.fixture
async def client(salesforce_org: Any) -> AsyncIterator[SalesforceClient]:
    crm = SalesforceClient(settings(salesforce_org, max_attempts=4, timeout=2.0))
    try:
        yield crm
    finally:
        await crm.close()


async def read_until(
    stream: AccountStream, cursor: str | None, done: Any, within: float = 180.0
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
                await asyncio.sleep(1.0)


async def test_calls_go_to_the_instance_and_an_expired_session_is_renewed(
    salesforce_org: Any, client: SalesforceClient
) -> None:
    made = await client.create("Account", {"Name": "Session Ltd"})
    first = await client.auth.session()
    assert first.instance_url == salesforce_org.instance_url != salesforce_org.login_url
    salesforce_org.control.expire_sessions()
    record = await client.record("Account", made)
    assert record is not None
    assert record["Name"] == "Session Ltd"
    assert (await client.auth.session()) is not first


async def test_a_refused_login_is_fatal(salesforce_org: Any) -> None:
    config = settings(salesforce_org, username="nobody@example.com", max_attempts=1)
    crm = SalesforceClient(config)
    try:
        with pytest.raises(ConnectorError) as raised:
            await crm.query("SELECT Id FROM Account")
    finally:
        await crm.close()
    assert raised.value.kind is ErrorKind.FATAL
    assert "invalid_grant" in raised.value.reason


async def test_server_failures_and_timeouts_are_retried(
    salesforce_org: Any, client: SalesforceClient
) -> None:
    await client.create("Account", {"Name": "Retry Ltd"})
    salesforce_org.control.fail_next(2, 503)
    assert len(await client.query("SELECT Id FROM Account")) == 1
    salesforce_org.control.delay_next(1, 4.0)  # beyond the client's 2 s timeout
    assert len(await client.query("SELECT Id FROM Account")) == 1
    salesforce_org.control.fail_next(5, 500)  # more than the client's attempts
    with pytest.raises(ConnectorError) as raised:
        await client.query("SELECT Id FROM Account")
    assert raised.value.kind is ErrorKind.RETRIABLE


async def test_the_allowance_is_read_and_polling_slows_down_before_it_is_spent(
    salesforce_org: Any,
) -> None:
    config = settings(salesforce_org, max_attempts=1, api_share=0.5, poll_interval=1.0)
    crm = SalesforceClient(config)
    clock = [0.0]
    stream = AccountStream(crm, config, monotonic=lambda: clock[0])
    try:
        await crm.create("Account", {"Name": "Paced Ltd"})
        usage = crm.limits.usage
        assert usage is not None
        assert usage.allowance == salesforce_org.settings.daily_api_requests
        # 80% of the allowance used: beyond q2c's half of it.
        salesforce_org.control.set_remaining(usage.allowance // 5)
        batch = await stream.read(None)
        assert [c.record["Name"] for c in batch.changes] == ["Paced Ltd"]
        assert crm.limits.usage is not None
        assert crm.limits.usage.used >= usage.allowance * 4 // 5
        assert (await stream.read(batch.cursor)).cursor is None, "polled before its time"
        clock[0] += 3600.0
        assert (await stream.read(batch.cursor)).cursor is not None
        # All of it spent: the org answers REQUEST_LIMIT_EXCEEDED, which time fixes.
        salesforce_org.control.set_remaining(0)
        with pytest.raises(ConnectorError) as raised:
            await crm.query("SELECT Id FROM Account")
        assert raised.value.kind is ErrorKind.RETRIABLE
        assert "REQUEST_LIMIT_EXCEEDED" in raised.value.reason
        assert crm.limits.usage == Usage(usage.allowance, usage.allowance)
        # A poll refused so is retried later, and the stream waits before it polls again.
        clock[0] += 7200.0
        with pytest.raises(ConnectorError):
            await stream.read(batch.cursor)
        assert (await stream.read(batch.cursor)).cursor is None
    finally:
        await crm.close()


async def test_polling_follows_the_pages_and_reports_deletes(
    salesforce_org: Any, client: SalesforceClient
) -> None:
    config = settings(salesforce_org, batch_size=200, delete_interval=0)
    ids = [await client.create("Account", {"Name": f"Paged {n:03d}"}) for n in range(230)]
    stream = AccountStream(client, config)
    first, cursor = await read_until(stream, None, lambda c: len(c) >= 230)
    assert sorted(c.record_id for c in first) == sorted(ids)
    again = await stream.read(cursor)
    assert again.changes == []
    await client.update("Account", ids[5], {"Phone": "+1 555 0105"})
    for gone in ids[:2]:
        await client.request("DELETE", client.data_path(f"sobjects/Account/{gone}"))
    # getDeleted covers whole minutes: the deletes show once their minute is covered.
    later, cursor = await read_until(
        stream,
        cursor,
        lambda c: {x.record_id for x in c if x.operation is Operation.DELETE} == set(ids[:2]),
    )
    updates = [c for c in later if c.operation is Operation.UPDATE]
    assert [c.record_id for c in updates] == [ids[5]]
    assert all(c.record == {} for c in later if c.operation is Operation.DELETE)


async def test_a_delete_log_that_no_longer_reaches_back_re_snapshots_the_object(
    salesforce_org: Any, client: SalesforceClient
) -> None:
    config = settings(salesforce_org, delete_interval=0)
    made = {await client.create("Account", {"Name": f"Kept {n}"}) for n in range(3)}
    stream = AccountStream(client, config)
    first, cursor = await read_until(stream, None, lambda c: len(c) >= 3)
    assert {c.record_id for c in first} == made
    assert (await stream.read(cursor)).changes == []
    # The cursor last covered deletes an hour ago; the log now keeps only a minute.
    state = StreamCursor.decode(cursor)
    old = StreamCursor(state.poll, dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).encode()
    salesforce_org.control.deleted_retention = dt.timedelta(seconds=60)
    again = await stream.read(old)
    assert {c.record_id for c in again.changes} == made, "the object was read again whole"
    # The repeats are fingerprint-equal: downstream drops them.
    assert {(c.record_id, c.fingerprint) for c in again.changes} == {
        (c.record_id, c.fingerprint) for c in first
    }
    resumed = StreamCursor.decode(again.cursor)
    assert resumed.deleted_from is not None
    assert resumed.deleted_from > dt.datetime.now(dt.UTC) - dt.timedelta(minutes=2)


async def test_set_up_creates_the_missing_fields_once(salesforce_bare: Any) -> None:
    crm = SalesforceClient(settings(salesforce_bare))
    try:
        made = await ensure_fields(crm, WriteBackFields())
        again = await ensure_fields(crm, WriteBackFields())
    finally:
        await crm.close()
    wanted = field_specs(WriteBackFields())
    assert [line for line in made if "created" in line] == [
        f"salesforce: created {f.describe()}" for f in wanted
    ]
    assert again == [f"salesforce: {f.full_name} exists" for f in wanted]


async def test_a_duplicate_the_org_refuses_is_skippable_with_its_reason(
    salesforce_org: Any, client: SalesforceClient
) -> None:
    sink = SalesforceSink(client)
    await client.create("Account", {"Name": "Twice GmbH"})
    salesforce_org.control.detect_duplicates("Account")
    command = upsert_customer(
        Customer(ids=ExternalIds(erp_id="C-7"), name="Twice GmbH", updated_at=NOW)
    )
    with pytest.raises(ConnectorError) as raised:
        await sink.apply(command)
    assert raised.value.kind is ErrorKind.SKIPPABLE
    assert "DUPLICATES_DETECTED" in raised.value.reason
    salesforce_org.control.detect_duplicates("Account", enabled=False)
    created = await sink.apply(command)
    assert created.outcome is Outcome.CREATED
    assert (await sink.apply(command)).outcome is Outcome.UNCHANGED


async def test_a_write_back_the_org_refuses_is_skippable_with_its_reason(
    salesforce_org: Any, client: SalesforceClient
) -> None:
    # sObject Collections answer per record: the refusal of this one is its own failure.
    sink = SalesforceSink(client)
    account = await client.create("Account", {"Name": "Long Notes Ltd"})
    opportunity = await client.create(
        "Opportunity",
        {
            "Name": "Big",
            "AccountId": account,
            "StageName": "Prospecting",
            "CloseDate": "2026-12-31",
        },
    )
    command = financial_status(opportunity)
    numbers = tuple(
        invoice.model_copy(update={"number": f"INV-{n:04d}-" + "X" * 20})
        for n, invoice in enumerate(command.invoices * 12)
    )
    too_long = command.model_copy(update={"invoices": numbers})
    with pytest.raises(ConnectorError) as raised:
        await sink.apply(too_long)
    assert raised.value.kind is ErrorKind.SKIPPABLE
    assert f"Opportunity {opportunity}" in raised.value.reason
    assert (await sink.apply(command)).outcome is Outcome.UPDATED
    assert (await sink.apply(command)).outcome is Outcome.UNCHANGED
    await client.request("DELETE", client.data_path(f"sobjects/Opportunity/{opportunity}"))
    with pytest.raises(ConnectorError, match="does not exist") as gone:
        await sink.apply(financial_status(opportunity, outstanding="1.00"))
    assert gone.value.kind is ErrorKind.SKIPPABLE


async def test_an_erp_item_finds_the_product_an_org_user_made_with_its_code(
    salesforce_org: Any, client: SalesforceClient
) -> None:
    sink = SalesforceSink(client)
    made = await client.create("Product2", {"Name": "Widget", "ProductCode": "W-9"})
    first = await sink.apply(upsert_item("W-9", "12.50"))
    assert (first.outcome, first.ids) == (
        Outcome.UPDATED,
        ExternalIds(crm_id=made, erp_id="product-W-9"),
    )
    product = await client.record("Product2", made)
    assert product is not None
    assert product["Q2C_SKU__c"] == "W-9"
    entries = await client.query(
        f"SELECT UnitPrice FROM PricebookEntry WHERE Product2Id = '{made}'"  # noqa: S608
    )
    assert [e["UnitPrice"] for e in entries] == [12.5]
    again = await sink.apply(upsert_item("W-9", "12.50"))
    assert (again.outcome, again.ids) == (Outcome.UNCHANGED, first.ids)
    assert len(await client.query("SELECT Id FROM Product2")) == 1


async def test_a_renewal_opens_one_opportunity_upserted_by_its_renewal_key(
    salesforce_org: Any, client: SalesforceClient
) -> None:
    sink = SalesforceSink(client)
    await sink.apply(upsert_item("SUP-1", "22.00"))
    account = await client.create("Account", {"Name": "Renewing Ltd"})
    command = renewal_deal(account, "SUP-1", dt.date(2027, 11, 30))
    first = await sink.apply(command)
    assert first.outcome is Outcome.CREATED
    assert first.ids is not None
    assert first.ids.crm_id
    opportunity = await client.record("Opportunity", first.ids.crm_id)
    assert opportunity is not None
    assert opportunity["Q2C_Renewal_Key__c"] == "tryton:subscription:3:2027-11-30"
    assert (opportunity["AccountId"], opportunity["StageName"]) == (account, "Prospecting")
    assert opportunity["CloseDate"] == "2027-11-30"
    assert opportunity["Amount"] == 264.0  # the sum of its line
    where = f"OpportunityId = '{first.ids.crm_id}'"
    lines = await client.query(
        "SELECT Quantity, UnitPrice, ProductCode FROM OpportunityLineItem WHERE " + where  # noqa: S608
    )
    assert [(x["Quantity"], x["UnitPrice"]) for x in lines] == [(12.0, 22.0)]

    # Sent again (a worker restarted before it stored the renewal): the same opportunity.
    again = await sink.apply(command)
    assert (again.outcome, again.ids) == (Outcome.UNCHANGED, first.ids)
    assert len(await client.query("SELECT Id FROM Opportunity")) == 1
    assert len(await client.query("SELECT Id FROM OpportunityLineItem")) == 1


class Recorded:
    """A change feed that keeps what the org's store commits."""

    def __init__(self) -> None:
        self.changes: list[RecordChange] = []

    def publish(self, changes: list[RecordChange]) -> None:
        self.changes += changes


async def test_q2c_writes_are_marked_with_its_client_id(tmp_path: Path) -> None:
    feed = Recorded()
    async with running(tmp_path / "org", feed=feed) as server:
        config = settings(server, call_client="q2c-test")
        await SPEC.set_up(config)
        crm = SalesforceClient(config)
        try:
            account = await crm.create("Account", {"Name": "Origin Ltd"})
            await SalesforceSink(crm, config.fields).apply(account_balance(account))
        finally:
            await crm.close()
    mine = [c for c in feed.changes if c.entity == "Account" and account in c.record_ids]
    assert [c.change_type for c in mine] == ["CREATE", "UPDATE"]
    version = config.api_version
    assert {c.change_origin for c in mine} == {f"com/salesforce/api/rest/{version};client=q2c-test"}


def delete(entity: EntityKind, crm_id: str | None, mode: DeleteMode) -> DeleteRecord:
    return DeleteRecord(
        idempotency_key=idempotency_key("delete", str(crm_id), mode),
        target_system="salesforce",
        issued_at=NOW,
        entity=entity,
        record=ExternalIds(crm_id=crm_id, erp_id="E-1"),
        mode=mode,
    )


async def test_records_deleted_or_archived_by_policy(
    salesforce_org: Any, client: SalesforceClient
) -> None:
    sink = SalesforceSink(client)
    account = await client.create("Account", {"Name": "Closing Ltd"})
    person = await client.create("Contact", {"LastName": "Gone", "AccountId": account})
    removed = await sink.apply(delete(EntityKind.CONTACT, person, DeleteMode.DELETE))
    assert removed.outcome is Outcome.UPDATED
    assert await client.record("Contact", person) is None
    again = await sink.apply(delete(EntityKind.CONTACT, person, DeleteMode.DELETE))
    assert again.outcome is Outcome.UNCHANGED
    never = await sink.apply(delete(EntityKind.CUSTOMER, None, DeleteMode.DELETE))
    assert never.outcome is Outcome.UNCHANGED
    # An Account has no active flag: archiving one is refused with the reason.
    with pytest.raises(ConnectorError, match="no active flag") as refused:
        await sink.apply(delete(EntityKind.CUSTOMER, account, DeleteMode.ARCHIVE))
    assert refused.value.kind is ErrorKind.SKIPPABLE
    made = await sink.apply(upsert_item("OLD-1", "5"))
    assert made.ids is not None
    product = made.ids.crm_id
    archived = await sink.apply(delete(EntityKind.ITEM, product, DeleteMode.ARCHIVE))
    assert archived.outcome is Outcome.UPDATED
    record = await client.record("Product2", str(product))
    assert record is not None
    assert record["IsActive"] is False
    assert (await sink.apply(delete(EntityKind.ITEM, product, DeleteMode.ARCHIVE))).outcome is (
        Outcome.UNCHANGED
    )


async def test_the_erps_price_lists_become_custom_price_books_upserted_by_their_name(
    salesforce_org: Any, client: SalesforceClient
) -> None:
    sink = SalesforceSink(client)
    gold = PriceBookPrice(price_book="Gold", unit_price=Money(amount=Decimal("9"), currency="USD"))
    command = upsert_item("W-7", "10.00")
    priced = command.item.model_copy(
        update={
            "book_prices": (
                gold,
                # Not in the org's currency, and a tier: no place in a price book entry.
                gold.model_copy(update={"unit_price": Money(amount=Decimal(8), currency="EUR")}),
                gold.model_copy(update={"min_quantity": Decimal(10)}),
            )
        }
    )
    first = await sink.apply(command.model_copy(update={"item": priced}))
    assert first.outcome is Outcome.CREATED
    (book,) = await client.query(
        "SELECT Id, Name, IsActive, Q2C_Price_List__c FROM Pricebook2 WHERE IsStandard = false"
    )
    assert (book["Name"], book["IsActive"], book["Q2C_Price_List__c"]) == ("Gold", True, "Gold")
    entries = await client.query(
        "SELECT Pricebook2Id, UnitPrice FROM PricebookEntry WHERE Product2Id = "  # noqa: S608
        f"'{first.ids.crm_id if first.ids else ''}'"
    )
    assert sorted(e["UnitPrice"] for e in entries if e["Pricebook2Id"] == book["Id"]) == [9.0]
    assert len(entries) == 2  # the standard entry and Gold's
    # The same prices again change nothing; a new Gold price corrects its entry.
    again = await sink.apply(command.model_copy(update={"item": priced}))
    assert again.outcome is Outcome.UNCHANGED
    cheaper = priced.model_copy(
        update={
            "book_prices": (
                gold.model_copy(
                    update={"unit_price": Money(amount=Decimal("8.5"), currency="USD")}
                ),
            )
        }
    )
    fresh = SalesforceSink(client)  # another sink finds the book by its external id
    assert (await fresh.apply(command.model_copy(update={"item": cheaper}))).outcome is (
        Outcome.UPDATED
    )
    assert len(await client.query("SELECT Id FROM Pricebook2 WHERE IsStandard = false")) == 1
    entry = await client.query(
        f"SELECT UnitPrice FROM PricebookEntry WHERE Pricebook2Id = '{book['Id']}'"  # noqa: S608
    )
    assert [e["UnitPrice"] for e in entry] == [8.5]


async def test_an_erasure_is_refused_with_the_way_to_erase_in_salesforce(
    salesforce_org: Any, client: SalesforceClient
) -> None:
    sink = SalesforceSink(client)
    account = await client.create("Account", {"Name": "Forget Me Ltd"})
    with pytest.raises(ConnectorError, match="Right to Be Forgotten") as refused:
        await sink.apply(delete(EntityKind.CUSTOMER, account, DeleteMode.ANONYMISE))
    assert refused.value.kind is ErrorKind.SKIPPABLE
    kept = await client.record("Account", account)
    assert kept is not None
    assert kept["Name"] == "Forget Me Ltd"
