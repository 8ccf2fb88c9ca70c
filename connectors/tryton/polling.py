"""Tryton's models on the modified-since strategy: how a declared stream reads Tryton.

Every Tryton model has a searchable, sortable ``last_modified_at`` (the write date, or the
create date of a record never written) stamped at *transaction start*: the strategy's
overlap window and (id, timestamp) de-duplication are what make it safe
(:mod:`connectors.base.tracking.modified`).

A stream is declared by attributes (:mod:`connectors.tryton.streams`): ``name``,
``model``, ``fields``, an optional ``domain``, ``reports_deletes``, the related records
that ride along (``related``: :class:`Expand`, :class:`PartyIdentifiers`), or ``part_of``
for a model whose edits publish the record it belongs to. Archived records are read too
(``active`` False is an update, not a delete).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from connectors.base.tracking import ModifiedSinceStream, RecordId
from connectors.tryton.client import TrytonClient
from connectors.tryton.errors import SYSTEM
from connectors.tryton.prices import add_prices
from connectors.tryton.records import Row, deleted_change, raw_change
from schemas import Operation, RawChange

EVERYTHING = {"active_test": False}  # archived records are changes too
_DATES = ("create_date", "write_date", "last_modified_at")


@dataclass(frozen=True)
class Expand:
    """Replace the ids in ``field`` with those records of ``model`` (``fields`` of each)."""

    field: str
    model: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class PartyIdentifiers:
    """Put the identifiers (``type``, ``code``) of the party in ``party`` (``id``: the row
    is the party) into ``into``; the CRM id is one of them."""

    into: str
    party: str = "id"


@dataclass(frozen=True)
class SameReference:
    """Put the records of ``model`` whose ``reference`` is the row's (``fields`` of each)
    into ``into``: records of another model made for the same CRM deal."""

    into: str
    model: str
    fields: tuple[str, ...]


@dataclass(frozen=True)
class Prices:
    """Put the product's prices per price book, currency and tier into ``prices``, as
    Tryton computes them (:mod:`connectors.tryton.prices`); the row is a product."""


@dataclass(frozen=True)
class SameMove:
    """Put the other lines of the row's accounting move (``fields`` of each) into ``into``:
    the overpayment line the pay wizard writes beside the line that pays the invoice."""

    into: str
    fields: tuple[str, ...]


Related = Expand | PartyIdentifiers | SameReference | Prices | SameMove


async def read_related(
    client: TrytonClient, model: str, ids: Sequence[int], fields: Sequence[str]
) -> dict[int, Row]:
    if not ids:
        return {}
    rows = await client.read(model, sorted(set(ids)), list(fields), context=EVERYTHING)
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


async def _same_reference(client: TrytonClient, rows: list[Row], rel: SameReference) -> None:
    references = sorted({str(row["reference"]) for row in rows if row.get("reference")})
    found: dict[str, list[Row]] = {}
    if references:
        for match in await client.search_read(
            rel.model,
            [("reference", "in", references)],
            sorted({"reference", *rel.fields}),
            order=[("id", "ASC")],
            context=EVERYTHING,
        ):
            found.setdefault(str(match["reference"]), []).append(match)
    for row in rows:
        row[rel.into] = (
            found.get(str(row.get("reference") or ""), []) if row.get("reference") else []
        )


async def _same_move(client: TrytonClient, rows: list[Row], rel: SameMove) -> None:
    moves = sorted({int(row["move"]) for row in rows if row.get("move") is not None})
    found: dict[int, list[Row]] = {}
    if moves:
        for line in await client.search_read(
            "account.move.line",
            [("move", "in", moves)],
            sorted({"move", *rel.fields}),
            order=[("id", "ASC")],
            context=EVERYTHING,
        ):
            found.setdefault(int(line["move"]), []).append(line)
    for row in rows:
        siblings = found.get(int(row["move"]), []) if row.get("move") is not None else []
        row[rel.into] = [line for line in siblings if line["id"] != row["id"]]


async def add_related(client: TrytonClient, rows: list[Row], related: Sequence[Related]) -> None:
    """Add the ``related`` records to ``rows``, in place."""
    for rel in related:
        if isinstance(rel, Prices):
            await add_prices(client, rows)
            continue
        if isinstance(rel, SameReference):
            await _same_reference(client, rows, rel)
            continue
        if isinstance(rel, SameMove):
            await _same_move(client, rows, rel)
            continue
        if isinstance(rel, Expand):
            found = await read_related(
                client, rel.model, [i for r in rows for i in r[rel.field]], rel.fields
            )
            for row in rows:
                row[rel.field] = [found[i] for i in row[rel.field] if i in found]
            continue
        parties = {id(row): int(row[rel.party]) for row in rows if row.get(rel.party) is not None}
        identifiers = await party_identifiers(client, list(parties.values()))
        for row in rows:
            party = parties.get(id(row))
            row[rel.into] = identifiers.get(party, []) if party is not None else []


class ModifiedStream(ModifiedSinceStream):
    """One Tryton model read through ``last_modified_at``; see the module docstring."""

    system: ClassVar[str] = SYSTEM
    replication_key: ClassVar[str] = "last_modified_at"
    model: ClassVar[str]
    fields: ClassVar[tuple[str, ...]]
    domain: ClassVar[tuple[Any, ...]] = ()
    related: ClassVar[tuple[Related, ...]] = ()
    part_of: ClassVar[tuple[str, type[ModifiedStream]] | None] = None
    """(field, stream): an edit of this model publishes the record ``field`` points to, as
    that stream reads it, stamped with the edit's time."""
    same_reference_as: ClassVar[type[ModifiedStream] | None] = None
    """An edit of this model publishes the records of that stream with the same
    ``reference`` (the CRM deal id both keep), stamped with the edit's time."""
    reprices: ClassVar[type[ModifiedStream] | None] = None
    """An edit of this model changes how every record of that stream is priced: it
    publishes them all, as they now are, stamped with the edit's time."""
    listed_in: ClassVar[tuple[str, type[ModifiedStream]] | None] = None
    """(field, stream): an edit of this model publishes the records of that stream whose
    ``field`` (a searchable to-many field) lists it, stamped with the edit's time; for a
    record with no field pointing to its owner (a shipment is linked to its sale only
    through the sale lines' moves)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        cls.filtered = bool(cls.domain)  # a record leaving the domain would look deleted
        cls.republishes = any(
            other is not None
            for other in (cls.part_of, cls.same_reference_as, cls.reprices, cls.listed_in)
        )
        super().__init_subclass__(**kwargs)
        fields = getattr(cls, "fields", None)
        if fields is None:
            return
        read = {"id", *fields}
        for rel in cls.related:
            if isinstance(rel, Prices):
                continue
            if isinstance(rel, SameReference):
                needed = "reference"
            elif isinstance(rel, SameMove):
                needed = "move"
            else:
                needed = rel.field if isinstance(rel, Expand) else rel.party
            if needed not in read:
                raise TypeError(f"{cls.__name__}: {rel} needs {needed!r} among its fields")
        if cls.part_of is not None and cls.part_of[0] not in read:
            raise TypeError(f"{cls.__name__} is part of {cls.part_of[0]!r}: read that field")
        if cls.listed_in is not None and cls.listed_in[0] not in cls.listed_in[1].fields:
            raise TypeError(f"{cls.__name__}: its owner must read {cls.listed_in[0]!r}")

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
        super().__init__(
            overlap=overlap, page_size=page_size, batch_size=batch_size, delete_scan=delete_scan
        )
        self.client = client
        self.id_page_size = id_page_size

    async def page(
        self, since: dt.datetime | None, after: tuple[dt.datetime, RecordId] | None
    ) -> list[Row]:
        key = self.replication_key
        domain: list[Any] = list(self.domain)
        if since is not None:
            domain.append((key, ">=", since))
        if after is not None:
            stamp, last_id = after
            domain.append(["OR", (key, ">", stamp), [(key, "=", stamp), ("id", ">", last_id)]])
        return await self.client.search_read(
            self.model,
            domain,
            [key],
            limit=self.page_size,
            order=[(key, "ASC"), ("id", "ASC")],
            context=EVERYTHING,
        )

    async def newest(self) -> dt.datetime | None:
        key = self.replication_key
        rows = await self.client.search_read(
            self.model,
            list(self.domain),
            [key],
            limit=1,
            order=[(key, "DESC"), ("id", "DESC")],
            context=EVERYTHING,
        )
        stamp = rows[0][key] if rows else None
        return stamp if isinstance(stamp, dt.datetime) else None

    async def present_ids(self) -> frozenset[int]:
        """Every id of the model Tryton has now, archived ones included, paged by id."""
        found: set[int] = set()
        last = 0
        while True:
            page = await self.client.search(
                self.model,
                [*self.domain, ("id", ">", last)],
                limit=self.id_page_size,
                order=[("id", "ASC")],
                context=EVERYTHING,
            )
            found.update(page)
            if len(page) < self.id_page_size:
                return frozenset(found)
            last = max(page)

    def deleted(self, record_id: int, seen_at: dt.datetime) -> RawChange:
        return deleted_change(self.model, record_id, seen_at)

    async def changes(self, fresh: Sequence[Mapping[str, Any]]) -> list[RawChange]:
        if self.part_of is not None:
            return await self._owners(fresh, *self.part_of)
        if self.listed_in is not None:
            return await self._listing_owners(fresh, *self.listed_in)
        if self.same_reference_as is not None:
            return await self._referencing(fresh, self.same_reference_as)
        if self.reprices is not None:
            return await self._every(fresh, self.reprices)
        ids = [int(r["id"]) for r in fresh]
        rows = await self.client.read(
            self.model, ids, sorted({*self.fields, *_DATES}), context=EVERYTHING
        )
        by_id = {int(r["id"]): r for r in rows}
        present = [by_id[i] for i in ids if i in by_id]  # deleted since the search: gone
        await self.enrich(present)
        observed = self.clock()
        return [self._change(row, observed) for row in present]

    async def enrich(self, rows: list[Row]) -> None:
        """Add the declared related records to ``rows`` (in place), so the change carries
        what the mapping needs without another call."""
        await add_related(self.client, rows, self.related)

    def _change(self, row: Row, observed: dt.datetime) -> RawChange:
        # A record created with its lines is written in the same transaction, which stamps
        # both dates with the same (transaction start) time.
        written = row.get("write_date")
        operation = Operation.CREATE if written in (None, row["create_date"]) else Operation.UPDATE
        return raw_change(self.model, row, row[self.replication_key], operation, observed)

    async def _owners(
        self, fresh: Sequence[Mapping[str, Any]], field: str, owner: type[ModifiedStream]
    ) -> list[RawChange]:
        """The records the edited parts belong to, as they now are, each stamped with its
        latest part's time; a part edit that changes nothing the owner's record shows has
        the same fingerprint as before and is dropped downstream."""
        parts = await self.client.read(
            self.model, [int(r["id"]) for r in fresh], [field], context=EVERYTHING
        )
        stamps: dict[int, dt.datetime] = {}
        by_part = {int(r["id"]): r[self.replication_key] for r in fresh}
        for part in parts:
            if part.get(field) is None:
                continue
            key, stamp = int(part[field]), by_part[int(part["id"])]
            stamps[key] = max(stamps.get(key, stamp), stamp)
        if not stamps:
            return []
        rows = await self.client.read(
            owner.model, sorted(stamps), sorted({*owner.fields, *_DATES}), context=EVERYTHING
        )
        await add_related(self.client, rows, owner.related)
        observed = self.clock()
        return [
            raw_change(owner.model, row, stamps[int(row["id"])], Operation.UPDATE, observed)
            for row in rows
        ]

    async def _every(
        self, fresh: Sequence[Mapping[str, Any]], owner: type[ModifiedStream]
    ) -> list[RawChange]:
        """Every record of ``owner`` (archived ones too) as it now is, a page at a time,
        stamped with the latest edit's time, or the record's own when later (a first read
        finds edits older than the records: a change stamped before the record's own
        would be taken downstream for an older one, arriving late); those whose content
        did not change have the same fingerprint as before and are dropped downstream."""
        stamp = max(row[self.replication_key] for row in fresh)
        ids = await owner(self.client).present_ids()
        changes: list[RawChange] = []
        ordered = sorted(ids)
        for start in range(0, len(ordered), self.page_size):
            rows = await self.client.read(
                owner.model,
                ordered[start : start + self.page_size],
                sorted({*owner.fields, *_DATES}),
                context=EVERYTHING,
            )
            await add_related(self.client, rows, owner.related)
            observed = self.clock()
            changes += [
                raw_change(
                    owner.model,
                    row,
                    max(stamp, row[owner.replication_key]),
                    Operation.UPDATE,
                    observed,
                )
                for row in rows
            ]
        return changes

    async def _listing_owners(
        self, fresh: Sequence[Mapping[str, Any]], field: str, owner: type[ModifiedStream]
    ) -> list[RawChange]:
        """The records whose ``field`` lists an edited record, as they now are, each stamped
        with the time of the latest edited record it lists."""
        by_part = {int(r["id"]): r[self.replication_key] for r in fresh}
        rows = await self.client.search_read(
            owner.model,
            [(field, "in", sorted(by_part))],
            sorted({*owner.fields, *_DATES}),
            order=[("id", "ASC")],
            context=EVERYTHING,
        )
        stamps: dict[int, dt.datetime] = {}
        for row in rows:
            listed = [by_part[int(i)] for i in row.get(field) or () if int(i) in by_part]
            if listed:
                stamps[int(row["id"])] = max(listed)
        rows = [row for row in rows if int(row["id"]) in stamps]
        await add_related(self.client, rows, owner.related)
        observed = self.clock()
        return [
            raw_change(owner.model, row, stamps[int(row["id"])], Operation.UPDATE, observed)
            for row in rows
        ]

    async def _referencing(
        self, fresh: Sequence[Mapping[str, Any]], owner: type[ModifiedStream]
    ) -> list[RawChange]:
        """The records of ``owner`` with the reference of an edited record, as they now are,
        each stamped with the time of the latest edited record sharing its reference."""
        by_part = {int(r["id"]): r[self.replication_key] for r in fresh}
        parts = await self.client.read(
            self.model, sorted(by_part), ["reference"], context=EVERYTHING
        )
        stamps: dict[str, dt.datetime] = {}
        for part in parts:
            reference, stamp = part.get("reference"), by_part[int(part["id"])]
            if reference:
                stamps[str(reference)] = max(stamps.get(str(reference), stamp), stamp)
        if not stamps:
            return []
        rows = await self.client.search_read(
            owner.model,
            [("reference", "in", sorted(stamps))],
            sorted({*owner.fields, *_DATES}),
            order=[("id", "ASC")],
            context=EVERYTHING,
        )
        await add_related(self.client, rows, owner.related)
        observed = self.clock()
        return [
            raw_change(owner.model, row, stamps[str(row["reference"])], Operation.UPDATE, observed)
            for row in rows
        ]
