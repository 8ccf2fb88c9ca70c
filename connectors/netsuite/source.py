"""NetSuite's source: SuiteQL polled by ``lastmodifieddate`` on the modified-since
strategy (:mod:`connectors.base.tracking.modified`), and the deletion log.

Each stream pages through one query per time window (:func:`~connectors.netsuite.suiteql.
window_query`), ordered uniquely by (lastmodifieddate, id), reading ids and stamps only;
the fresh rows are then read whole with ``WHERE id IN (…)``, with their related rows
(transaction lines, payment applications) read through every page of their query, as each
page's ``rel=next`` link says.

Transactions are filtered by type, so the strategy cannot find their deletions by
comparing ids; NetSuite logs deletions instead (``deletedrecord``), read by its own
stream on ``deleteddate``.
"""

# Queries are built from fixed text and ids that id_list() lets through as digits only.
# ruff: noqa: S608

from __future__ import annotations

import datetime as dt
from abc import abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from connectors.base.tracking import ModifiedSinceStream, RecordId
from connectors.base.tracking.modified import Clock, Row, utc_now
from connectors.netsuite.client import NetSuiteClient
from connectors.netsuite.errors import SYSTEM
from connectors.netsuite.records import (
    CREATED,
    CREDIT_MEMO,
    CUSTOMER,
    INVOICE,
    ITEM,
    PAYMENT,
    SALES_ORDER,
    STAMP,
    TRANSACTION_TYPES,
    deleted_change,
    raw_change,
)
from connectors.netsuite.suiteql import (
    as_text,
    id_list,
    parse_time,
    quote,
    window_query,
    windows,
)
from schemas import RawChange

_CHUNK = 500  # ids in one IN (…) list


class SuiteQLStream(ModifiedSinceStream):
    """One object read through SuiteQL; subclasses say from where and what rides along."""

    system: ClassVar[str] = SYSTEM
    replication_key: ClassVar[str] = "lastmodifieddate"
    table: ClassVar[str]
    where: ClassVar[str] = ""
    id_column: ClassVar[str] = "id"

    def __init__(
        self,
        client: NetSuiteClient,
        *,
        zone: ZoneInfo,
        window: dt.timedelta = dt.timedelta(days=7),
        overlap: dt.timedelta = dt.timedelta(minutes=2),
        page_size: int = 500,
        clock: Clock = utc_now,
    ) -> None:
        super().__init__(overlap=overlap, page_size=page_size, delete_scan=None, clock=clock)
        self.client = client
        self.zone = zone
        self.window = window

    def key_select(self) -> str:
        stamp = as_text(self.replication_key)
        return f"SELECT {self.id_column}, {stamp} AS {STAMP} FROM {self.table}"

    async def page(
        self, since: dt.datetime | None, after: tuple[dt.datetime, RecordId] | None
    ) -> Sequence[Row]:
        start = max(after[0], since) if after and since else (after[0] if after else since)
        if start is None:  # from the beginning: the first page finds where that is
            return await self._keys(start=None, end=None, after=None, limit=self.page_size)
        rows: list[Row] = []
        for begin, end in windows(start, self.clock(), self.window):
            rows += await self._keys(
                start=begin,
                end=end,
                after=after,
                limit=self.page_size - len(rows),
            )
            if len(rows) >= self.page_size:
                break
            if rows:
                after = (rows[-1][self.replication_key], rows[-1]["id"])
        return rows

    async def _keys(
        self,
        *,
        start: dt.datetime | None,
        end: dt.datetime | None,
        after: tuple[dt.datetime, RecordId] | None,
        limit: int,
    ) -> list[Row]:
        query = window_query(
            self.key_select(),
            where=self.where,
            start=start,
            end=end,
            after=after,
            zone=self.zone,
            key=self.replication_key,
            id_column=self.id_column,
        )
        page = await self.client.suiteql(query, limit=limit)
        rows: list[Row] = []
        for item in page["items"]:
            stamp = parse_time(item.get(STAMP), self.zone)
            if stamp is None:
                continue
            rows.append({"id": int(item[self.id_column]), self.replication_key: stamp})
        return rows

    async def changes(self, fresh: Sequence[Row]) -> list[RawChange]:
        observed = self.clock()
        ids = [row["id"] for row in fresh]
        records: dict[str, dict[str, Any]] = {}
        size = min(_CHUNK, self.page_size)  # each query's results stay as small as a page
        for chunk in range(0, len(ids), size):
            rows = await self.records(ids[chunk : chunk + size])
            await self.enrich(rows)
            records.update((str(row["id"]), row) for row in rows)
        # In the order the poll met them; one gone since is left out.
        return [
            raw_change(self.name, records[str(rid)], self.zone, observed)
            for rid in dict.fromkeys(ids)
            if str(rid) in records
        ]

    @abstractmethod
    async def records(self, ids: Sequence[Any]) -> list[dict[str, Any]]:
        """The rows of ``ids`` in full (those still there)."""

    async def enrich(self, rows: list[dict[str, Any]]) -> None:
        """Add what rides along with the records (nothing by default)."""


class CustomerStream(SuiteQLStream):
    name = table = CUSTOMER

    async def records(self, ids: Sequence[Any]) -> list[dict[str, Any]]:
        return await self.client.suiteql_rows(
            f"SELECT c.*, {as_text('c.lastmodifieddate')} AS {STAMP}, "
            f"{as_text('c.datecreated')} AS {CREATED}, cu.symbol AS currencysymbol FROM customer c "
            f"LEFT JOIN currency cu ON cu.id = c.currency WHERE c.id IN ({id_list(ids)})"
        )


BASE_PRICE_LEVEL = 1
"""NetSuite's "Base Price" price level."""


class ItemStream(SuiteQLStream):
    name = table = ITEM

    async def records(self, ids: Sequence[Any]) -> list[dict[str, Any]]:
        """The items, each with ``baseprices``: its base price level's price in each
        currency (the lowest quantity tier), from the ``pricing`` table."""
        items = await self.client.suiteql_rows(
            f"SELECT i.*, {as_text('i.lastmodifieddate')} AS {STAMP}, "
            f"{as_text('i.createddate')} AS {CREATED} FROM item i WHERE i.id IN ({id_list(ids)})"
        )
        prices = await self.client.suiteql_rows(
            "SELECT p.item, p.quantity, p.unitprice, cu.symbol AS currencysymbol FROM pricing p"
            " JOIN currency cu ON cu.id = p.currency"
            f" WHERE p.pricelevel = {BASE_PRICE_LEVEL} AND p.item IN ({id_list(ids)})"
            " ORDER BY p.item, p.currency, p.quantity"
        )
        base: dict[str, dict[str, str]] = {}
        for row in prices:  # the lowest tier first
            per_item = base.setdefault(str(row.get("item")), {})
            per_item.setdefault(str(row.get("currencysymbol")), str(row.get("unitprice")))
        for item in items:
            found = base.get(str(item.get("id")), {})
            item["baseprices"] = [{"currency": c, "unitprice": p} for c, p in found.items()]
        return items


class TransactionStream(SuiteQLStream):
    """One transaction type, with its lines and its customer's external id."""

    table = "transaction"
    filtered = True

    @property
    def where(self) -> str:  # type: ignore[override]
        return f"type = {quote(TRANSACTION_TYPES[self.name])}"

    async def records(self, ids: Sequence[Any]) -> list[dict[str, Any]]:
        return await self.client.suiteql_rows(
            f"SELECT t.*, {as_text('t.lastmodifieddate')} AS {STAMP}, "
            f"{as_text('t.createddate')} AS {CREATED}, "
            "cu.symbol AS currencysymbol, e.externalid AS entityexternalid "
            "FROM transaction t LEFT JOIN currency cu ON cu.id = t.currency "
            f"LEFT JOIN customer e ON e.id = t.entity WHERE t.id IN ({id_list(ids)})"
        )

    async def enrich(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        lines = await self.client.suiteql_rows(
            "SELECT tl.*, i.itemid AS itemsku FROM transactionline tl "
            "LEFT JOIN item i ON i.id = tl.item "
            f"WHERE tl.transaction IN ({id_list(r['id'] for r in rows)}) "
            "ORDER BY tl.transaction, tl.id"
        )
        by_transaction: dict[str, list[dict[str, Any]]] = {}
        for line in lines:
            by_transaction.setdefault(str(line.get("transaction")), []).append(line)
        for row in rows:
            row["lines"] = by_transaction.get(str(row["id"]), [])


class SalesOrderStream(TransactionStream):
    name = SALES_ORDER


class InvoiceStream(TransactionStream):
    name = INVOICE


class CreditMemoStream(TransactionStream):
    name = CREDIT_MEMO


class PaymentStream(TransactionStream):
    """Customer payments with the invoices they are applied to."""

    name = PAYMENT

    async def enrich(self, rows: list[dict[str, Any]]) -> None:
        await super().enrich(rows)
        if not rows:
            return
        links = await self.client.suiteql_rows(
            "SELECT * FROM previoustransactionlinelink "
            f"WHERE nextdoc IN ({id_list(r['id'] for r in rows)}) ORDER BY nextdoc, previousdoc"
        )
        by_payment: dict[str, list[dict[str, Any]]] = {}
        for link in links:
            by_payment.setdefault(str(link.get("nextdoc")), []).append(link)
        for row in rows:
            row["applications"] = by_payment.get(str(row["id"]), [])


class DeletedRecordStream(SuiteQLStream):
    """NetSuite's deletion log: a delete of each followed record type, at its
    ``deleteddate``."""

    name = table = "deletedrecord"
    replication_key = "deleteddate"
    # The log's own row id: record ids repeat across record types (customer 1, item 1).
    id_column = "id"

    def key_select(self) -> str:
        return f"SELECT d.*, {as_text('d.deleteddate')} AS {STAMP} FROM deletedrecord d"

    async def records(self, ids: Sequence[Any]) -> list[dict[str, Any]]:
        return []  # the log's rows are read whole by the page itself

    async def _keys(
        self,
        *,
        start: dt.datetime | None,
        end: dt.datetime | None,
        after: tuple[dt.datetime, RecordId] | None,
        limit: int,
    ) -> list[Row]:
        query = window_query(
            self.key_select(),
            start=start,
            end=end,
            after=after,
            zone=self.zone,
            key=self.replication_key,
            id_column=self.id_column,
        )
        page = await self.client.suiteql(query, limit=limit)
        rows: list[Row] = []
        for item in page["items"]:
            stamp = parse_time(item.get(STAMP), self.zone)
            if stamp is None:
                continue
            rows.append({**item, "id": int(item["id"]), self.replication_key: stamp})
        return rows

    async def changes(self, fresh: Sequence[Row]) -> list[RawChange]:
        observed = self.clock()
        found: list[RawChange] = []
        for row in fresh:
            logged: Mapping[str, Any] = {
                k: v for k, v in row.items() if k != self.replication_key
            } | {"id": str(row["id"]), self.replication_key: row[STAMP]}
            change = deleted_change(logged, self.zone, observed)
            if change is not None:
                found.append(change)
        return found


STREAMS: tuple[type[SuiteQLStream], ...] = (
    CustomerStream,
    ItemStream,
    SalesOrderStream,
    PaymentStream,
    InvoiceStream,
    CreditMemoStream,
    DeletedRecordStream,
)
"""Polled in this order: a customer before its orders, a payment before the invoice it
settles."""
