"""Tryton's changes, polled through ``last_modified_at``.

Every Tryton model has a searchable, sortable ``last_modified_at`` (the write date, or the
create date of a record never written). A stream asks for the records modified since its
high-water mark, oldest first, ordered by (``last_modified_at``, ``id``) and paged by that
key, so a record modified while a poll pages through moves to the end instead of shifting
the pages.

Tryton stamps a record with the time its *transaction started*, not when it committed: a
long transaction can commit records older than the high-water mark after a poll has passed
them. So each poll reaches back an overlap window before the mark, and the cursor keeps
(id, timestamp) of every record already published within that window, so the re-read ones
are not published again. A record changed again has a new timestamp and is published.

A party's addresses, contact mechanisms and identifiers are records of their own: their
streams publish the party they belong to (see :class:`PartyPartStream`).

Deletions leave no trace in Tryton, so the streams of parties, products and sales find
them by comparing ids: the cursor keeps the ids the stream has published and not seen
deleted (as ranges, so it stays small), and every so often (``delete_scan``) the stream
lists the ids Tryton still has and publishes a delete, with an empty record, for each one
gone. Archiving (``active`` False) is an update, not a delete.
"""

from __future__ import annotations

import base64
import datetime as dt
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any, ClassVar

import orjson
from pydantic import JsonValue

from connectors.base import Batch, ConnectorError, ErrorKind, Stream
from connectors.tryton.client import TrytonClient
from connectors.tryton.errors import SYSTEM
from schemas import Operation, RawChange

Row = dict[str, Any]
_EVERYTHING = {"active_test": False}  # archived records are changes too
_CURSOR_PREFIX = "lm1:"


def jsonable(value: Any) -> JsonValue:
    """``value`` as JSON the way q2c's contracts carry it: decimals as fixed-point strings,
    timestamps as ISO 8601 in UTC, dates as ISO dates."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def id_runs(ids: frozenset[int]) -> list[int]:
    """``ids`` packed as runs: ids are handed out in sequence, so a set of live ids is a few
    runs, one more for each gap a deletion left. Each run is two small numbers, its distance
    from the end of the previous run and its length, which compress well."""
    packed: list[int] = []
    end = 0  # the last id of the previous run
    start = previous = None
    for rid in sorted(ids):
        if previous is not None and rid == previous + 1:
            previous = rid
            continue
        if start is not None and previous is not None:
            packed += [start - end, previous - start + 1]
            end = previous
        start = previous = rid
    if start is not None and previous is not None:
        packed += [start - end, previous - start + 1]
    return packed


def ids_of(packed: Sequence[int]) -> frozenset[int]:
    """The ids of :func:`id_runs`."""
    ids: set[int] = set()
    end = 0
    for i in range(0, len(packed) - 1, 2):
        start = end + int(packed[i])
        end = start + int(packed[i + 1]) - 1
        ids.update(range(start, end + 1))
    return frozenset(ids)


@dataclass(frozen=True)
class ModifiedCursor:
    """Where a stream resumes: the high-water mark and what it published near it; for a
    stream that reports deletions, the ids it published and not seen deleted (``known``,
    None when not tracked yet) and when it last compared them with Tryton's."""

    high_water: dt.datetime | None = None
    seen: frozenset[tuple[int, str]] = frozenset()
    known: frozenset[int] | None = None
    scanned_at: dt.datetime | None = None

    def encode(self) -> str:
        data: dict[str, Any] = {
            "hw": self.high_water.isoformat() if self.high_water else None,
            "seen": sorted([rid, ts] for rid, ts in self.seen),
        }
        # Added keys only: a cursor written before deletions were tracked still decodes.
        if self.known is not None:
            data["ids"] = id_runs(self.known)
        if self.scanned_at is not None:
            data["scan"] = self.scanned_at.isoformat()
        packed = zlib.compress(orjson.dumps(data), 9)
        return _CURSOR_PREFIX + base64.urlsafe_b64encode(packed).decode()

    @classmethod
    def decode(cls, text: str | None) -> ModifiedCursor:
        if not text:
            return cls()
        if not text.startswith(_CURSOR_PREFIX):
            raise ConnectorError(
                ErrorKind.FATAL, f"unknown Tryton cursor format {text[:10]!r}", system=SYSTEM
            )
        data = orjson.loads(zlib.decompress(base64.urlsafe_b64decode(text[len(_CURSOR_PREFIX) :])))
        high_water = dt.datetime.fromisoformat(data["hw"]) if data["hw"] else None
        runs = data.get("ids")
        scan = data.get("scan")
        return cls(
            high_water,
            frozenset((int(rid), str(ts)) for rid, ts in data["seen"]),
            known=ids_of(runs) if runs is not None else None,
            scanned_at=dt.datetime.fromisoformat(scan) if scan else None,
        )


def _stamp(value: dt.datetime) -> str:
    return value.astimezone(dt.UTC).isoformat()


class ModifiedStream(Stream):
    """One Tryton model read through ``last_modified_at``; subclasses name the model, the
    fields to publish, and may add related records to each row (:meth:`enrich`).

    A stream with ``reports_deletes`` compares, every ``delete_scan`` (None: never), the
    ids it published with those Tryton still has. Only a stream without a ``domain`` may
    report deletes: a record leaving the domain would look deleted."""

    system: ClassVar[str] = SYSTEM
    model: ClassVar[str]
    fields: ClassVar[tuple[str, ...]]
    domain: ClassVar[tuple[Any, ...]] = ()
    reports_deletes: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.reports_deletes and cls.domain:
            raise TypeError(f"{cls.__name__} filters by a domain: it cannot report deletes")

    def __init__(
        self,
        client: TrytonClient,
        *,
        overlap: dt.timedelta = dt.timedelta(minutes=2),
        page_size: int = 200,
        batch_size: int = 500,
        delete_scan: dt.timedelta | None = dt.timedelta(minutes=5),
        id_page_size: int = 5000,
    ) -> None:
        self.client = client
        self.overlap = overlap
        self.page_size = page_size
        self.batch_size = batch_size
        self.delete_scan = delete_scan
        self.id_page_size = id_page_size

    async def read(self, cursor: str | None) -> Batch:
        state = ModifiedCursor.decode(cursor)
        if cursor is None and self.reports_deletes:
            state = replace(state, known=frozenset())  # from the beginning: none published
        since = state.high_water - self.overlap if state.high_water else None
        fresh: list[Row] = []  # (id, last_modified_at) rows not published yet
        high_water = state.high_water
        after: tuple[dt.datetime, int] | None = None
        more = False
        while True:
            page = await self._page(since, after)
            for row in page:
                stamp: dt.datetime = row["last_modified_at"]
                after = (stamp, int(row["id"]))
                high_water = stamp if high_water is None else max(high_water, stamp)
                if (int(row["id"]), _stamp(stamp)) not in state.seen:
                    fresh.append(row)
            if len(page) < self.page_size:
                break
            if len(fresh) >= self.batch_size:
                more = True
                break
        changes = await self._changes(fresh)
        horizon = high_water - self.overlap if high_water else None
        seen = {
            key
            for key in state.seen | {(int(r["id"]), _stamp(r["last_modified_at"])) for r in fresh}
            if horizon is None or dt.datetime.fromisoformat(key[1]) >= horizon
        }
        polled = replace(state, high_water=high_water, seen=frozenset(seen))
        if self.reports_deletes:
            deleted, polled = await self._deletions(changes, polled)
            changes = [*changes, *deleted]
        return Batch(changes, polled.encode(), more=more)

    async def _deletions(
        self, changes: Sequence[RawChange], state: ModifiedCursor
    ) -> tuple[list[RawChange], ModifiedCursor]:
        """Deletes for the published ids Tryton no longer has, when a scan is due."""
        if self.delete_scan is None:
            # Not tracked: turned on again later, the stream starts afresh from Tryton's ids.
            return [], replace(state, known=None, scanned_at=None)
        now = dt.datetime.now(dt.UTC)
        published = frozenset(int(c.record_id) for c in changes)
        known = None if state.known is None else state.known | published
        if state.scanned_at is not None and now - state.scanned_at < self.delete_scan:
            return [], replace(state, known=known)
        present = await self._ids()
        if known is None:
            # A cursor from before deletions were tracked: what was deleted until now is
            # unknowable, so start from the ids Tryton has.
            return [], replace(state, known=present | published, scanned_at=now)
        gone = sorted(known - present)
        deletes = [
            RawChange.of(
                system=SYSTEM,
                object=self.model,
                record_id=str(rid),
                operation=Operation.DELETE,
                source_ts=now,  # Tryton keeps no time of the deletion: when q2c saw it
                cursor=f"deleted@{_stamp(now)}/{rid}",
                record={},
                observed_at=now,
            )
            for rid in gone
        ]
        return deletes, replace(state, known=known & present, scanned_at=now)

    async def _ids(self) -> frozenset[int]:
        """Every id of the model Tryton has now, archived ones included, paged by id."""
        found: set[int] = set()
        last = 0
        while True:
            page = await self.client.search(
                self.model,
                [*self.domain, ("id", ">", last)],
                limit=self.id_page_size,
                order=[("id", "ASC")],
                context=_EVERYTHING,
            )
            found.update(page)
            if len(page) < self.id_page_size:
                return frozenset(found)
            last = max(page)

    async def _page(
        self, since: dt.datetime | None, after: tuple[dt.datetime, int] | None
    ) -> list[Row]:
        domain: list[Any] = list(self.domain)
        if since is not None:
            domain.append(("last_modified_at", ">=", since))
        if after is not None:
            stamp, last_id = after
            domain.append(
                [
                    "OR",
                    ("last_modified_at", ">", stamp),
                    [("last_modified_at", "=", stamp), ("id", ">", last_id)],
                ]
            )
        return await self.client.search_read(
            self.model,
            domain,
            ["last_modified_at"],
            limit=self.page_size,
            order=[("last_modified_at", "ASC"), ("id", "ASC")],
            context=_EVERYTHING,
        )

    async def _changes(self, fresh: Sequence[Row]) -> list[RawChange]:
        if not fresh:
            return []
        ids = [int(r["id"]) for r in fresh]
        fields = sorted({*self.fields, "create_date", "write_date", "last_modified_at"})
        rows = await self.client.read(self.model, ids, fields, context=_EVERYTHING)
        by_id = {int(r["id"]): r for r in rows}
        present = [by_id[i] for i in ids if i in by_id]  # deleted since the search: gone
        await self.enrich(present)
        observed = dt.datetime.now(dt.UTC)
        return [self._change(row, observed) for row in present]

    def _change(self, row: Row, observed: dt.datetime) -> RawChange:
        # A record created with its lines is written in the same transaction, which stamps
        # both dates with the same (transaction start) time.
        written = row.get("write_date")
        operation = Operation.CREATE if written in (None, row["create_date"]) else Operation.UPDATE
        return raw_change(self.model, row, row["last_modified_at"], operation, observed)

    async def enrich(self, rows: list[Row]) -> None:
        """Add related records to ``rows`` (in place), so the change carries what the
        mapping needs without another call."""
        del rows


def raw_change(
    model: str, row: Row, stamp: dt.datetime, operation: Operation, observed: dt.datetime
) -> RawChange:
    record = jsonable(row)
    assert isinstance(record, dict)
    return RawChange.of(
        system=SYSTEM,
        object=model,
        record_id=str(row["id"]),
        operation=operation,
        source_ts=stamp,
        cursor=f"{_stamp(stamp)}/{row['id']}",
        record=record,
        observed_at=observed,
        # Saving a record unchanged moves its dates; the content is what counts.
        ignore=("write_date", "last_modified_at", "write_uid"),
    )


async def _related(
    client: TrytonClient, model: str, ids: Sequence[int], fields: Sequence[str]
) -> dict[int, Row]:
    if not ids:
        return {}
    rows = await client.read(model, sorted(set(ids)), list(fields), context=_EVERYTHING)
    return {int(r["id"]): r for r in rows}


async def party_identifiers(client: TrytonClient, party_ids: Sequence[int]) -> dict[int, list[Row]]:
    """Each party's identifiers (``type``, ``code``); the CRM id is one of them."""
    found: dict[int, list[Row]] = {pid: [] for pid in party_ids}
    if not party_ids:
        return found
    rows = await client.search_read(
        "party.identifier",
        [("party", "in", sorted(set(party_ids)))],
        ["party", "type", "code"],
        order=[("party", "ASC"), ("sequence", "ASC"), ("id", "ASC")],
    )
    for row in rows:
        found.setdefault(int(row["party"]), []).append({"type": row["type"], "code": row["code"]})
    return found


class PartyStream(ModifiedStream):
    name = model = "party.party"
    reports_deletes = True
    fields = ("name", "code", "active", "identifiers", "addresses", "contact_mechanisms", "lang")

    async def enrich(self, rows: list[Row]) -> None:
        identifiers = await party_identifiers(self.client, [int(r["id"]) for r in rows])
        addresses = await _related(
            self.client,
            "party.address",
            [a for r in rows for a in r["addresses"]],
            [
                "street",
                "postal_code",
                "city",
                "country.code",
                "subdivision.code",
                "invoice",
                "delivery",
                "active",
                "sequence",
            ],
        )
        mechanisms = await _related(
            self.client,
            "party.contact_mechanism",
            [m for r in rows for m in r["contact_mechanisms"]],
            ["type", "value", "invoice", "active", "sequence"],
        )
        for row in rows:
            row["identifiers"] = identifiers.get(int(row["id"]), [])
            row["addresses"] = [addresses[a] for a in row["addresses"] if a in addresses]
            row["contact_mechanisms"] = [
                mechanisms[m] for m in row["contact_mechanisms"] if m in mechanisms
            ]


class PartyPartStream(ModifiedStream):
    """Edits of a party's addresses, contact mechanisms or identifiers change those records,
    not the party. This stream reads the edited parts and publishes their party as it now
    is, stamped with the part's time; a part edit that changes nothing the party's record
    shows has the same fingerprint as before and is dropped downstream."""

    fields = ("party",)

    async def _changes(self, fresh: Sequence[Row]) -> list[RawChange]:
        if not fresh:
            return []
        parts = await self.client.read(
            self.model, [int(r["id"]) for r in fresh], ["party"], context=_EVERYTHING
        )
        stamps: dict[int, dt.datetime] = {}
        by_part = {int(r["id"]): r["last_modified_at"] for r in fresh}
        for part in parts:
            if part.get("party") is None:
                continue
            party, stamp = int(part["party"]), by_part[int(part["id"])]
            stamps[party] = max(stamps.get(party, stamp), stamp)
        fields = sorted({*PartyStream.fields, "create_date", "write_date", "last_modified_at"})
        rows = await self.client.read("party.party", sorted(stamps), fields, context=_EVERYTHING)
        await PartyStream(self.client).enrich(rows)
        observed = dt.datetime.now(dt.UTC)
        return [
            raw_change(PartyStream.model, row, stamps[int(row["id"])], Operation.UPDATE, observed)
            for row in rows
        ]


class AddressStream(PartyPartStream):
    name = model = "party.address"


class ContactMechanismStream(PartyPartStream):
    name = model = "party.contact_mechanism"


class IdentifierStream(PartyPartStream):
    name = model = "party.identifier"


class ProductStream(ModifiedStream):
    name = model = "product.product"
    reports_deletes = True
    fields = (
        "code",
        "name",
        "description",
        "active",
        "salable",
        "type",
        "default_uom.name",
        "list_price_used",
        "template",
    )


class _DocumentStream(ModifiedStream):
    """A document with lines and a party: the lines and the party's identifiers ride along."""

    line_model: ClassVar[str]
    line_fields: ClassVar[tuple[str, ...]]

    async def enrich(self, rows: list[Row]) -> None:
        lines = await _related(
            self.client, self.line_model, [i for r in rows for i in r["lines"]], self.line_fields
        )
        identifiers = await party_identifiers(self.client, [int(r["party"]) for r in rows])
        for row in rows:
            row["lines"] = [lines[i] for i in row["lines"] if i in lines]
            row["party_identifiers"] = identifiers.get(int(row["party"]), [])


class SaleStream(_DocumentStream):
    name = model = "sale.sale"
    reports_deletes = True
    fields = (
        "number",
        "reference",
        "description",
        "party",
        "state",
        "invoice_state",
        "shipment_state",
        "sale_date",
        "currency.code",
        "untaxed_amount",
        "tax_amount",
        "total_amount",
        "lines",
        "invoices",
    )
    line_model = "sale.line"
    line_fields = (
        "sequence",
        "type",
        "product",
        "product.code",
        "description",
        "quantity",
        "unit.name",
        "unit_price",
        "amount",
    )


class InvoiceStream(_DocumentStream):
    """Customer invoices and credit notes (a credit note is an invoice with a negative
    total in Tryton)."""

    name = model = "account.invoice"
    domain = (("type", "=", "out"),)
    fields = (
        "type",
        "number",
        "reference",
        "party",
        "state",
        "invoice_date",
        "payment_term_date",
        "currency.code",
        "untaxed_amount",
        "tax_amount",
        "total_amount",
        "amount_to_pay",
        "reconciled",
        "lines",
        "sales",
        "lines_to_pay",
    )
    line_model = "account.invoice.line"
    line_fields = (
        "sequence",
        "type",
        "product",
        "product.code",
        "description",
        "quantity",
        "unit.name",
        "unit_price",
        "amount",
    )

    async def enrich(self, rows: list[Row]) -> None:
        await super().enrich(rows)
        # The due dates are the maturity dates of the receivable lines.
        maturities = await _related(
            self.client,
            "account.move.line",
            [i for r in rows for i in r["lines_to_pay"]],
            ["maturity_date"],
        )
        for row in rows:
            row["lines_to_pay"] = [maturities[i] for i in row["lines_to_pay"] if i in maturities]


class PaymentStream(ModifiedStream):
    """Payments of customer invoices: the move lines Tryton links to an invoice as paying
    it (through the pay wizard or a bank statement)."""

    name = model = "account.move.line"
    domain = (("invoice_payment", "!=", None), ("invoice_payment.type", "=", "out"))
    fields = (
        "party",
        "date",
        "debit",
        "credit",
        "currency.code",
        "description",
        "journal.name",
        "move.number",
        "move_state",
        "invoice_payment",
        "invoice_payment.number",
    )

    async def enrich(self, rows: list[Row]) -> None:
        parties = [int(r["party"]) for r in rows if r.get("party") is not None]
        identifiers = await party_identifiers(self.client, parties)
        for row in rows:
            party = row.get("party")
            row["party_identifiers"] = identifiers.get(int(party), []) if party else []


# Polled in this order, so within one poll the records a change refers to come first:
# a customer before its sales, a payment before the invoice it settles (both are written
# by the same transaction).
STREAMS: tuple[type[ModifiedStream], ...] = (
    PartyStream,
    AddressStream,
    ContactMechanismStream,
    IdentifierStream,
    ProductStream,
    SaleStream,
    PaymentStream,
    InvoiceStream,
)
