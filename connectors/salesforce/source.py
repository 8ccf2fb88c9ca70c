"""Polling Salesforce: each object read by ``SystemModstamp``, and its deletes.

The modified-since strategy (:mod:`connectors.base.tracking.modified`) does the paging and
the overlap window: one SOQL query per poll, ``WHERE SystemModstamp >= <mark - overlap>
ORDER BY SystemModstamp, Id``, whose pages are followed by ``nextRecordsUrl`` (a query
locator, so a record modified mid-poll cannot shift the pages). Rows come back whole, so no
second read is needed.

Deleted records leave the query: each stream asks ``sobjects/{type}/deleted/`` for the
window since the last one covered and starts the next window at ``latestDateCovered`` (the
"sObject Get Deleted" page: a deletion still committing may belong to it). When the org's
delete log no longer reaches back to that start (``earliestDateAvailable`` after it), the
deletes in between are lost to the log: the stream re-reads its object from the beginning
(a re-snapshot; downstream drops the fingerprint-equal repeats) and follows deletes from
then on.

Polling slows down as q2c's share of the daily API allowance fills
(:func:`connectors.salesforce.limits.poll_delay`): a stream asked to read before its next
poll is due answers an empty batch and keeps its cursor.

A stream's cursor (``sf1:``) holds the modified-since cursor (``lm1:``) and where the next
deleted window starts.

Quotes, where the org has them (:meth:`SalesforceClient.has_quotes`): an opportunity with
a synced quote (``SyncedQuoteId``) is read with that quote and its line items nested as
``SyncedQuote`` (the mapping takes the deal's lines from it). A change of the quote or of
one of its lines does not change the opportunity, so two more streams poll ``Quote`` and
``QuoteLineItem`` on their ``SystemModstamp`` and publish, for what changed, the
opportunities synced with those quotes (read whole, as the opportunity stream reads them):
their changes stand for the opportunity's. They follow no deletes of their own: deleting a
synced quote clears the opportunity's ``SyncedQuoteId`` (a change of the opportunity), and
adding or deleting a line changes its quote's totals (``LineItemCount``, ``TotalPrice``),
so the quote's ``SystemModstamp``.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
from collections.abc import AsyncIterator, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson

from connectors.base import ConnectorError, ErrorKind
from connectors.base.source import Batch
from connectors.base.tracking.modified import ModifiedSinceStream, Row, utc_now
from connectors.base.tracking.modified_cursor import RecordId
from connectors.salesforce.client import Record, SalesforceClient
from connectors.salesforce.limits import poll_delay
from connectors.salesforce.mapping import (
    ACCOUNT,
    CONTACT,
    OPPORTUNITY,
    PRODUCT,
    QUOTE,
    QUOTE_LINE,
    SYNCED_QUOTE,
    SYSTEM,
    modstamp,
)
from connectors.salesforce.settings import SalesforceSettings, WriteBackFields
from connectors.salesforce.wire import parse_datetime, soql_datetime, soql_literal
from schemas import Operation, RawChange

PREFIX = "sf1:"
SYSTEM_FIELDS = (
    "Id",
    "IsDeleted",
    "CreatedDate",
    "CreatedById",
    "LastModifiedDate",
    "LastModifiedById",
    "SystemModstamp",
)
VOLATILE = frozenset(
    {
        "SystemModstamp",
        "LastModifiedDate",
        "LastModifiedById",
        "LastViewedDate",
        "LastReferencedDate",
        "LastActivityDate",
    }
)
"""Fields a write of any field changes (q2c's own write-back too): left out of the
fingerprint, so q2c's echo has the fingerprint of the state it answers."""


def q2c_fields(fields: WriteBackFields) -> frozenset[str]:
    """The API names of every field q2c writes back."""
    return frozenset(str(v) for v in fields.model_dump().values())


def raw_change(
    obj: str,
    record: Mapping[str, Any],
    cursor: str,
    observed_at: dt.datetime,
    ignore: Iterable[str],
) -> RawChange:
    """A record as the API returned it, stamped with its ``SystemModstamp`` (or its synced
    quote's, when later)."""
    return RawChange.of(
        system=SYSTEM,
        object=obj,
        record_id=str(record["Id"]),
        operation=Operation.UPDATE,
        source_ts=modstamp(record) or observed_at,
        cursor=cursor,
        record=dict(record),
        observed_at=observed_at,
        ignore=(*VOLATILE, *ignore),
    )


def deleted_change(
    obj: str, entry: Mapping[str, Any], cursor: str, observed_at: dt.datetime
) -> RawChange:
    """One ``deletedRecords`` entry (``id``, ``deletedDate``) as a delete."""
    return RawChange.of(
        system=SYSTEM,
        object=obj,
        record_id=str(entry["id"]),
        operation=Operation.DELETE,
        source_ts=parse_datetime(entry["deletedDate"]),
        cursor=cursor,
        record={},
        observed_at=observed_at,
    )


@dataclass(frozen=True)
class StreamCursor:
    poll: str | None = None
    """The modified-since cursor (``lm1:``)."""
    deleted_from: dt.datetime | None = None
    """Where the next getDeleted window starts (None: not following deletes yet)."""

    def encode(self) -> str:
        data = {
            "poll": self.poll,
            "del": self.deleted_from.isoformat() if self.deleted_from else None,
        }
        return PREFIX + base64.urlsafe_b64encode(orjson.dumps(data)).decode()

    @classmethod
    def decode(cls, text: str | None) -> StreamCursor:
        if not text:
            return cls()
        if not text.startswith(PREFIX):
            raise ConnectorError(
                ErrorKind.FATAL, f"unknown salesforce cursor format {text[:10]!r}", system=SYSTEM
            )
        try:
            data = orjson.loads(base64.urlsafe_b64decode(text[len(PREFIX) :]))
            deleted = dt.datetime.fromisoformat(data["del"]) if data.get("del") else None
            poll = data.get("poll")
            if poll is not None and not isinstance(poll, str):
                raise TypeError("poll")
        except (ValueError, TypeError, KeyError, orjson.JSONDecodeError):
            raise ConnectorError(
                ErrorKind.FATAL, "the salesforce cursor cannot be read", system=SYSTEM
            ) from None
        return cls(poll, deleted)


class ObjectStream(ModifiedSinceStream):
    """One sObject type, declared by its API name and the fields q2c reads."""

    system: ClassVar[str] = SYSTEM
    name: ClassVar[str]
    primary_key: ClassVar[str] = "Id"
    replication_key: ClassVar[str] = "SystemModstamp"
    fields: ClassVar[tuple[str, ...]]
    subqueries: ClassVar[tuple[str, ...]] = ()
    stands_for: ClassVar[str | None] = None
    """The object whose changes this stream's publish (None: its own)."""

    def __init__(
        self,
        client: SalesforceClient,
        config: SalesforceSettings,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(
            overlap=dt.timedelta(seconds=config.overlap),
            page_size=config.batch_size,
            batch_size=config.batch_size,
            delete_scan=None,
            clock=clock,
        )
        self.client = client
        self.config = config
        self.monotonic = monotonic
        self.ignore = q2c_fields(config.fields)
        self._pages: AsyncIterator[Record] | None = None
        self._last: tuple[dt.datetime, RecordId] | None = None
        self._not_before = 0.0

    def select(self) -> str:
        """The field list: system fields, declared ones, the write-back ones the object has."""
        extra = self.write_back()
        names = list(dict.fromkeys((*SYSTEM_FIELDS, *self.read_fields(), *extra)))
        return ", ".join([*names, *(f"({sub})" for sub in self.subqueries)])

    def read_fields(self) -> tuple[str, ...]:
        """The fields read besides the system and write-back ones (the org's features may
        add some, once :meth:`prepare` has run)."""
        return self.fields

    def write_back(self) -> tuple[str, ...]:
        return ()

    async def prepare(self) -> None:
        """What the stream asks of the org before its first query (nothing by default)."""

    def soql(self, since: dt.datetime | None) -> str:
        where = ("WHERE", "SystemModstamp", ">=", soql_datetime(since)) if since else ()
        order = ("ORDER BY", "SystemModstamp, Id")
        return " ".join(("SELECT", self.select(), "FROM", self.name, *where, *order))

    async def page(
        self, since: dt.datetime | None, after: tuple[dt.datetime, RecordId] | None
    ) -> Sequence[Row]:
        """The next rows of this poll's query, following ``nextRecordsUrl``; a new query
        when the poll starts (or resumes from a key other than where the query stands)."""
        if after is not None and after == self._last and self._pages is None:
            return []  # the query was answered whole
        if after is None or after != self._last or self._pages is None:
            self._pages = self.client.query_pages(self.soql(since))
        rows: list[Row] = []
        async for page in self._pages:
            rows += [self._row(record) for record in page["records"]]
            if len(rows) >= self.page_size:
                break
        else:
            self._pages = None
        if rows:
            self._last = (rows[-1][self.replication_key], rows[-1][self.primary_key])
        return rows

    def _row(self, record: Record) -> Row:
        if not isinstance(record, Mapping) or not isinstance(record.get("Id"), str):
            raise ConnectorError(ErrorKind.FATAL, f"a {self.name} row without an Id", system=SYSTEM)
        return {
            "Id": record["Id"],
            "SystemModstamp": parse_datetime(record["SystemModstamp"]),
            "record": record,
        }

    async def changes(self, fresh: Sequence[Row]) -> list[RawChange]:
        now = self.clock()
        records = await self.complete([row["record"] for row in fresh])
        cursor = f"poll@{now.isoformat()}"
        return [raw_change(self.name, record, cursor, now, self.ignore) for record in records]

    async def complete(self, records: list[Record]) -> list[Record]:
        """The records with what rides along (related records); as they are by default."""
        return records

    def cursor_since(self, when: dt.datetime | None) -> str | None:
        if when is None:
            return None
        poll = super().cursor_since(when)
        return StreamCursor(poll, when).encode()

    async def read(self, cursor: str | None) -> Batch:
        if self.monotonic() < self._not_before:
            return Batch((), None)
        await self.prepare()
        state = StreamCursor.decode(cursor)
        now = self.clock()
        deleted_from = state.deleted_from or now
        deletes: list[RawChange] = []
        poll = state.poll
        try:
            if now - deleted_from >= dt.timedelta(seconds=self.config.delete_interval):
                deletes, deleted_from, lost = await self.deletes(deleted_from, now)
                if lost:
                    poll = None  # re-snapshot: the delete log no longer reaches back
            batch = await super().read(poll)
        finally:
            self._pace()  # also after REQUEST_LIMIT_EXCEEDED: the answer said how much is left
        cursor_out = StreamCursor(batch.cursor or poll, deleted_from).encode()
        # In the order they happened: a record deleted and restored from the recycle bin
        # since the last poll ends as it is now.
        changes = sorted([*batch.changes, *deletes], key=lambda change: change.source_ts)
        return Batch(changes, cursor_out, more=batch.more)

    async def deletes(
        self, start: dt.datetime, end: dt.datetime
    ) -> tuple[list[RawChange], dt.datetime, bool]:
        """The deletes between ``start`` and ``end``, where the next window starts, and
        whether the log had lost part of the window."""
        try:
            answer = await self.client.deleted(self.name, start, end)
        except ConnectorError as exc:
            # getDeleted() refuses a start the purged log no longer reaches with
            # INVALID_REPLICATION_DATE (as it refuses a window under a minute, which a
            # stream asking after ``delete_interval`` can ask for: that one waits).
            if "INVALID_REPLICATION_DATE" not in exc.reason:
                raise
            if end - start <= dt.timedelta(minutes=2):
                return [], start, False
            return [], end, True
        earliest = answer.get("earliestDateAvailable")
        lost = bool(earliest) and parse_datetime(earliest) > start
        covered = answer.get("latestDateCovered")
        following = parse_datetime(covered) if covered else end
        cursor = f"deleted@{following.isoformat()}"
        entries = [e for e in answer["deletedRecords"] if isinstance(e, Mapping) and e.get("id")]
        return [deleted_change(self.name, e, cursor, end) for e in entries], following, lost

    def _pace(self) -> None:
        delay = poll_delay(
            self.client.limits.usage, self.config.api_share, self.config.poll_interval
        )
        self._not_before = self.monotonic() + max(delay - self.config.poll_interval, 0.0)


class AccountStream(ObjectStream):
    name = ACCOUNT
    fields = (
        "Name",
        "AccountNumber",
        "Type",
        "Phone",
        "Website",
        "Description",
        "BillingStreet",
        "BillingCity",
        "BillingPostalCode",
        "BillingState",
        "BillingCountry",
        "ShippingStreet",
        "ShippingCity",
        "ShippingPostalCode",
        "ShippingState",
        "ShippingCountry",
    )

    def write_back(self) -> tuple[str, ...]:
        f = self.config.fields
        return (
            f.customer_code,
            f.outstanding_balance,
            f.overdue_balance,
            f.last_payment_date,
            f.sync_status,
            f.sync_reason,
        )


class ContactStream(ObjectStream):
    name = CONTACT
    fields = ("AccountId", "FirstName", "LastName", "Title", "Email", "Phone")


LINE_FIELDS = (
    "Id",
    "Product2Id",
    "ProductCode",
    "Name",
    "Description",
    "Quantity",
    "UnitPrice",
    "Discount",
    "TotalPrice",
    "SortOrder",
    "PricebookEntryId",
)


QUOTE_FIELDS = (
    "Id",
    "Name",
    "QuoteNumber",
    "Status",
    "IsSyncing",
    "OpportunityId",
    "AccountId",
    "ExpirationDate",
    "Subtotal",
    "TotalPrice",
    "GrandTotal",
    "Tax",
    "ShippingHandling",
    "SystemModstamp",
)
QUOTE_LINE_FIELDS = (
    "Id",
    "Product2Id",
    "Product2.ProductCode",
    "Product2.Name",
    "Description",
    "Quantity",
    "UnitPrice",
    "Discount",
    "TotalPrice",
    "SortOrder",
    "PricebookEntryId",
)
"""A QuoteLineItem has no ProductCode of its own: its product's, through the parent."""
QUOTE_SOQL = " ".join(
    (
        "SELECT",
        ", ".join(QUOTE_FIELDS) + ",",
        "(" + " ".join(("SELECT", ", ".join(QUOTE_LINE_FIELDS), "FROM QuoteLineItems")) + ")",
        "FROM Quote",
    )
)
IDS_PER_QUERY = 200
"""Ids per ``IN (…)`` (keeps a SOQL statement well under its length limit)."""


class OpportunityStream(ObjectStream):
    """An opportunity with its line items (a line's change changes the opportunity's
    Amount, and so its SystemModstamp), and its synced quote where the org has quotes."""

    name = OPPORTUNITY
    fields = (
        "Name",
        "AccountId",
        "StageName",
        "Amount",
        "CloseDate",
        "IsClosed",
        "IsWon",
        "Pricebook2Id",
    )
    subqueries = (" ".join(("SELECT", ", ".join(LINE_FIELDS), "FROM OpportunityLineItems")),)
    quotes = False
    """Whether the org has quotes (known once :meth:`prepare` has run)."""

    async def prepare(self) -> None:
        self.quotes = await self.client.has_quotes()

    def read_fields(self) -> tuple[str, ...]:
        return (*self.fields, "SyncedQuoteId") if self.quotes else self.fields

    def write_back(self) -> tuple[str, ...]:
        f = self.config.fields
        return (
            f.order_number,
            f.order_state,
            f.invoice_status,
            f.invoice_numbers,
            f.invoiced_total,
            f.amount_due,
            f.last_payment_date,
            f.sync_status,
            f.sync_reason,
        )

    async def complete(self, records: list[Record]) -> list[Record]:
        """Each opportunity with a synced quote gets it nested as ``SyncedQuote`` (one
        quote is gone in between: the opportunity's own lines stay until its
        ``SyncedQuoteId`` is cleared, a change of its own)."""
        if not self.quotes:
            return records
        wanted = [
            str(r["SyncedQuoteId"]) for r in records if isinstance(r.get("SyncedQuoteId"), str)
        ]
        if not wanted:
            return records
        quotes = await synced_quotes(self.client, wanted)
        return [
            {**r, SYNCED_QUOTE: quotes[str(r["SyncedQuoteId"])]}
            if str(r.get("SyncedQuoteId")) in quotes
            else r
            for r in records
        ]

    async def synced_with(self, quote_ids: Sequence[str]) -> list[RawChange]:
        """The opportunities synced with ``quote_ids``, read whole, as raw changes."""
        await self.prepare()
        now = self.clock()
        cursor = f"poll@{now.isoformat()}"
        unique = list(dict.fromkeys(quote_ids))
        changes: list[RawChange] = []
        for start in range(0, len(unique), IDS_PER_QUERY):
            ids = ", ".join(soql_literal(i) for i in unique[start : start + IDS_PER_QUERY])
            soql = " ".join(("SELECT", self.select(), "FROM", self.name))
            records = await self.client.query(f"{soql} WHERE SyncedQuoteId IN ({ids})")
            records = await self.complete(records)
            changes += [raw_change(self.name, r, cursor, now, self.ignore) for r in records]
        return changes


async def synced_quotes(client: SalesforceClient, quote_ids: Sequence[str]) -> dict[str, Record]:
    """The quotes ``quote_ids`` with their line items, by id."""
    unique = list(dict.fromkeys(quote_ids))
    found: dict[str, Record] = {}
    for start in range(0, len(unique), IDS_PER_QUERY):
        ids = ", ".join(soql_literal(i) for i in unique[start : start + IDS_PER_QUERY])
        for quote in await client.query(f"{QUOTE_SOQL} WHERE Id IN ({ids})"):
            found[str(quote["Id"])] = quote
    return found


class SyncedQuoteStream(ObjectStream):
    """Quotes (or their lines) polled on ``SystemModstamp``; what changed is published as
    the opportunities synced with those quotes (see the module docstring). Nothing where
    the org has no quotes."""

    stands_for = OPPORTUNITY
    quote_field: ClassVar[str]
    """The field of a row holding its quote's id."""

    def __init__(
        self,
        client: SalesforceClient,
        config: SalesforceSettings,
        *,
        clock: Callable[[], dt.datetime] = utc_now,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(client, config, clock=clock, monotonic=monotonic)
        self.opportunities = OpportunityStream(client, config, clock=clock, monotonic=monotonic)

    async def read(self, cursor: str | None) -> Batch:
        if not await self.client.has_quotes():
            return Batch((), None)
        return await super().read(cursor)

    async def deletes(
        self, start: dt.datetime, end: dt.datetime
    ) -> tuple[list[RawChange], dt.datetime, bool]:
        return [], end, False  # followed through the opportunity and the quote's totals

    async def changes(self, fresh: Sequence[Row]) -> list[RawChange]:
        quote_ids = [
            str(row["record"][self.quote_field])
            for row in fresh
            if isinstance(row["record"].get(self.quote_field), str)
        ]
        return await self.opportunities.synced_with(quote_ids) if quote_ids else []


class QuoteStream(SyncedQuoteStream):
    name = QUOTE
    fields = ("OpportunityId", "IsSyncing")
    quote_field = "Id"


class QuoteLineStream(SyncedQuoteStream):
    name = QUOTE_LINE
    fields = ("QuoteId",)
    quote_field = "QuoteId"


class ProductStream(ObjectStream):
    """Products with their standard price book entry (``PricebookEntries``, shaped as the
    child relationship answers it)."""

    name = PRODUCT
    fields = ("Name", "ProductCode", "Description", "IsActive")

    def write_back(self) -> tuple[str, ...]:
        return (self.config.fields.item_code,)

    async def complete(self, records: list[Record]) -> list[Record]:
        if not records:
            return records
        entries = await standard_entries(self.client, [str(r["Id"]) for r in records])
        return [{**r, "PricebookEntries": _nested(entries.get(str(r["Id"]), []))} for r in records]


ENTRY_FIELDS = "Id, Product2Id, Pricebook2Id, UnitPrice, IsActive"


def _nested(rows: list[Record]) -> Record:
    return {"totalSize": len(rows), "done": True, "records": rows}


async def standard_pricebook(client: SalesforceClient) -> str:
    found = await client.query("SELECT Id FROM Pricebook2 WHERE IsStandard = true LIMIT 1")
    if not found:
        raise ConnectorError(ErrorKind.FATAL, "the org has no standard price book", system=SYSTEM)
    return str(found[0]["Id"])


async def standard_entries(
    client: SalesforceClient, product_ids: list[str]
) -> dict[str, list[Record]]:
    """The standard price book entries of ``product_ids``, by product."""
    book = await standard_pricebook(client)
    found: dict[str, list[Record]] = {}
    for start in range(0, len(product_ids), 200):
        ids = ", ".join(soql_literal(i) for i in product_ids[start : start + 200])
        where = f"Pricebook2Id = {soql_literal(book)} AND Product2Id IN ({ids})"
        soql = " ".join(("SELECT", ENTRY_FIELDS, "FROM PricebookEntry WHERE", where))
        for entry in await client.query(soql):
            found.setdefault(str(entry["Product2Id"]), []).append(entry)
    return found


STREAMS: tuple[type[ObjectStream], ...] = (
    AccountStream,
    ContactStream,
    OpportunityStream,
    ProductStream,
    QuoteStream,
    QuoteLineStream,
)
