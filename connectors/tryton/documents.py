"""What q2c makes of a document exactly as Tryton delivers it: pure readers for
`q2c connector map tryton STREAM` and the conformance suite.

A stream's document is what its JSON-RPC reads return, in Tryton's own JSON (decimals,
dates and datetimes as tagged objects): one record, the list of records ``model.read`` or
``model.search_read`` returns, or the whole answer ``{"id": .., "result": [..]}``. The
records carry what the source reads with them: the stream's fields, ``last_modified_at``,
the creation and write dates, and the related records the source adds in place of their
ids (a sale's lines, a party's identifiers, addresses and contact mechanisms). A record
read without them maps all the same, with less in it.

An address, contact mechanism or identifier does not travel on its own: the source reads
the party it belongs to and publishes that, so their readers say which party. A customer
shipment does not travel on its own either: the source publishes the sales it ships; nor
does a subscription: the source publishes the sale made for the same deal. A
delete scan's document is the list of ids it found gone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from connectors.base.spec import DocumentStream, Reading
from connectors.tryton.codec import revive
from connectors.tryton.errors import from_error_member
from connectors.tryton.records import deleted_change
from connectors.tryton.source import STREAMS, ModifiedStream, PartyPartStream, raw_change
from schemas import Operation


def _rows(document: Any) -> list[dict[str, Any]]:
    """The records in ``document`` (a record, a list of them, or a JSON-RPC answer)."""
    if isinstance(document, Mapping) and "error" in document and "result" not in document:
        error = from_error_member("", document["error"])
        raise ValueError(f"an error answer, not records: {error.describe()} ({error.kind})")
    if isinstance(document, Mapping) and "result" in document:
        document = document["result"]
    records = [document] if isinstance(document, Mapping) else document
    if not isinstance(records, list):
        raise ValueError(f"a record or a list of records was expected, not {_kind(document)}")
    rows: list[dict[str, Any]] = []
    for position, record in enumerate(records):
        if not isinstance(record, Mapping) or "id" not in record:
            raise ValueError(f"item {position} is not a Tryton record (an object with an id)")
        try:
            rows.append(dict(revive(record)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"item {position} has a malformed tagged value ({exc!r})") from None
    return rows


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _stamp(row: Mapping[str, Any], name: str) -> dt.datetime:
    stamp = row.get(name)
    if not isinstance(stamp, dt.datetime):
        raise ValueError(f"record {row.get('id')} has no {name} (the source reads it with each)")
    return stamp


def _operation(row: Mapping[str, Any]) -> Operation:
    # As the source decides: a record never written since its creation is a create.
    written = row.get("write_date")
    return Operation.CREATE if written in (None, row.get("create_date")) else Operation.UPDATE


def record_reader(model: str) -> DocumentStream:
    def read(document: Any) -> Reading:
        observed = dt.datetime.now(dt.UTC)
        changes = [
            raw_change(model, row, _stamp(row, "last_modified_at"), _operation(row), observed)
            for row in _rows(document)
        ]
        return Reading(changes)

    return DocumentStream(
        name=model,
        description=f"one {model} record as model.read returns it, a list of them, or the answer",
        read=read,
    )


def part_reader(model: str) -> DocumentStream:
    def read(document: Any) -> Reading:
        parties: list[int] = []
        for row in _rows(document):
            party = row.get("party")
            if isinstance(party, int) and party not in parties:
                parties.append(party)
        if not parties:
            return Reading(action=f"nothing: no party named by the {model} record")
        ids = ", ".join(str(p) for p in parties)
        return Reading(
            action=f"re-read party.party {ids} with its addresses, contact mechanisms and "
            "identifiers, and publish it as an update"
        )

    return DocumentStream(
        name=model,
        description=f"one {model} record (with its party): the source publishes the party",
        read=read,
    )


def listing_reader(model: str, field: str, owner: str) -> DocumentStream:
    def read(document: Any) -> Reading:
        ids = ", ".join(str(row["id"]) for row in _rows(document))
        return Reading(
            action=f"re-read the {owner} records whose {field} list {model} {ids}, and "
            "publish each as an update"
        )

    return DocumentStream(
        name=model,
        description=f"one {model} record: the source publishes the {owner} records listing it",
        read=read,
    )


def reference_reader(model: str, owner: str) -> DocumentStream:
    def read(document: Any) -> Reading:
        references = sorted({str(r["reference"]) for r in _rows(document) if r.get("reference")})
        if not references:
            return Reading(action=f"nothing: the {model} record has no reference")
        return Reading(
            action=f"re-read the {owner} records with reference {', '.join(references)}, and "
            "publish each as an update"
        )

    return DocumentStream(
        name=model,
        description=f"one {model} record: the source publishes the {owner} records sharing "
        "its reference",
        read=read,
    )


def repricing_reader(model: str, owner: str) -> DocumentStream:
    def read(document: Any) -> Reading:
        ids = ", ".join(str(row["id"]) for row in _rows(document))
        return Reading(
            action=f"re-read every {owner} record with its prices per price book, currency "
            f"and tier (after {model} {ids}), and publish each as an update"
        )

    return DocumentStream(
        name=model,
        description=f"one {model} record: the source publishes every {owner} record, priced again",
        read=read,
    )


def deleted_reader(model: str) -> DocumentStream:
    def read(document: Any) -> Reading:
        if not isinstance(document, list):
            raise ValueError(f"a list of {model} ids was expected, not {_kind(document)}")
        ids: list[int] = []
        for value in document:
            if isinstance(value, bool) or not isinstance(value, int | str):
                raise ValueError(f"{value!r} is not a {model} id")
            try:
                ids.append(int(value))
            except ValueError:
                raise ValueError(f"{value!r} is not a {model} id") from None
        now = dt.datetime.now(dt.UTC)  # Tryton keeps no time of the deletion
        return Reading([deleted_change(model, rid, now) for rid in sorted(set(ids))])

    return DocumentStream(
        name=f"{model}.deleted",
        description=f"the {model} ids a delete scan found gone (a JSON list)",
        read=read,
    )


def _documents(streams: tuple[type[ModifiedStream], ...]) -> dict[str, DocumentStream]:
    found: dict[str, DocumentStream] = {}
    for stream in streams:
        if issubclass(stream, PartyPartStream):
            reader = part_reader(stream.model)
        elif stream.listed_in is not None:
            field, owner = stream.listed_in
            reader = listing_reader(stream.model, field, owner.model)
        elif stream.same_reference_as is not None:
            reader = reference_reader(stream.model, stream.same_reference_as.model)
        elif stream.reprices is not None:
            reader = repricing_reader(stream.model, stream.reprices.model)
        else:
            reader = record_reader(stream.model)
        found[reader.name] = reader
        if stream.reports_deletes:
            deleted = deleted_reader(stream.model)
            found[deleted.name] = deleted
    return found


DOCUMENTS: Mapping[str, DocumentStream] = _documents(STREAMS)
