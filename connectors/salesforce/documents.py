"""What q2c makes of a document exactly as Salesforce delivers it: pure readers for
`q2c connector map salesforce STREAM` and the conformance suite.

- ``account``, ``contact``, ``opportunity``, ``product``: one REST record (with its
  ``attributes``), or a query answer page (``totalSize``, ``done``, ``records``,
  ``nextRecordsUrl``) of that object, read as the polling stream reads it (an update: the
  poll cannot tell a new record from a changed one, and the mapping treats both alike).
- ``quote``: one Quote record with its ``QuoteLineItems`` (as the source reads a synced
  quote), or a query page of them: each read as its opportunity (``OpportunityId``) with
  it as the synced quote, so the canonical quote shows the lines, currency, total and
  quote attributes the quote gives the deal; the deal's name, stage and close date are the
  opportunity's own and are left out.
- ``deleted``: a ``sobjects/{type}/deleted/`` answer; each entry a delete of the object its
  id's key prefix names, and the window the next call starts from.
- ``change-event``, ``change-event-cometd``: a Change Data Capture event as the Pub/Sub
  API client decodes it, and as the Streaming API (CometD) envelope carries it
  (:mod:`connectors.salesforce.cdc_documents`).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from connectors.base.spec import DocumentStream, Reading
from connectors.salesforce.cdc_documents import DOCUMENTS as CHANGE_EVENT_DOCUMENTS
from connectors.salesforce.mapping import (
    ACCOUNT,
    CONTACT,
    OPPORTUNITY,
    PRODUCT,
    QUOTE,
    SYNCED_QUOTE,
)
from connectors.salesforce.settings import WriteBackFields
from connectors.salesforce.source import deleted_change, q2c_fields, raw_change
from connectors.salesforce.wire import parse_datetime

KEY_PREFIXES: Mapping[str, str] = {
    "001": ACCOUNT,
    "003": CONTACT,
    "006": OPPORTUNITY,
    "01t": PRODUCT,
}
"""The documented key prefixes of the objects q2c follows."""

_IGNORED = q2c_fields(WriteBackFields())


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def records_of(obj: str, document: Any) -> list[Mapping[str, Any]]:
    """The ``obj`` records in a record or a query page."""
    if not isinstance(document, Mapping):
        raise ValueError(f"a {obj} record or query page was expected, not {_kind(document)}")
    if isinstance(document.get("records"), list) and "totalSize" in document:
        items: list[Any] = document["records"]
    elif "Id" in document:
        items = [document]
    else:
        raise ValueError(f"neither a {obj} record (no Id) nor a query page (no records)")
    found: list[Mapping[str, Any]] = []
    for position, item in enumerate(items):
        if not isinstance(item, Mapping) or not isinstance(item.get("Id"), str):
            raise ValueError(f"record {position} is not an sObject record with an Id")
        kind = (
            item.get("attributes", {}).get("type")
            if isinstance(item.get("attributes"), Mapping)
            else None
        )
        if kind is not None and kind != obj:
            raise ValueError(f"record {position} is a {kind}, not a {obj}")
        found.append(item)
    return found


def record_reader(name: str, obj: str) -> DocumentStream:
    def read(document: Any) -> Reading:
        now = dt.datetime.now(dt.UTC)
        cursor = f"poll@{now.isoformat()}"
        return Reading(
            [raw_change(obj, r, cursor, now, _IGNORED) for r in records_of(obj, document)]
        )

    return DocumentStream(
        name=name,
        description=f"one {obj} record as the REST API returns it, or a query page of {obj}",
        read=read,
    )


def read_quotes(document: Any) -> Reading:
    """Quotes, each as its opportunity with it as the synced quote (see the docstring)."""
    now = dt.datetime.now(dt.UTC)
    cursor = f"poll@{now.isoformat()}"
    changes = []
    for position, quote in enumerate(records_of(QUOTE, document)):
        opportunity = quote.get("OpportunityId")
        if not isinstance(opportunity, str):
            raise ValueError(f"quote {position} has no OpportunityId")
        deal = {
            "attributes": {"type": OPPORTUNITY},
            "Id": opportunity,
            "AccountId": quote.get("AccountId"),
            "SystemModstamp": quote.get("SystemModstamp"),
            "SyncedQuoteId": quote["Id"],
            SYNCED_QUOTE: quote,
        }
        changes.append(raw_change(OPPORTUNITY, deal, cursor, now, _IGNORED))
    return Reading(changes)


def read_deleted(document: Any) -> Reading:
    """A getDeleted answer: one delete per entry whose object q2c follows."""
    if not isinstance(document, Mapping) or not isinstance(document.get("deletedRecords"), list):
        raise ValueError("not a getDeleted answer (deletedRecords is required)")
    now = dt.datetime.now(dt.UTC)
    covered = document.get("latestDateCovered")
    following = parse_datetime(covered).isoformat() if covered else now.isoformat()
    changes = []
    for position, entry in enumerate(document["deletedRecords"]):
        if not isinstance(entry, Mapping) or not isinstance(entry.get("id"), str):
            raise ValueError(f"entry {position} has no id")
        obj = KEY_PREFIXES.get(entry["id"][:3])
        if obj is None:
            continue
        changes.append(deleted_change(obj, entry, f"deleted@{following}", now))
    if not changes:
        return Reading(
            action=f"nothing q2c follows was deleted; the next window starts {following}"
        )
    return Reading(changes)


DOCUMENTS: Mapping[str, DocumentStream] = {
    **{
        name: record_reader(name, obj)
        for name, obj in (
            ("account", ACCOUNT),
            ("contact", CONTACT),
            ("opportunity", OPPORTUNITY),
            ("product", PRODUCT),
        )
    },
    "quote": DocumentStream(
        name="quote",
        description="one Quote record with its QuoteLineItems, or a query page of them, read "
        "as the synced quote of its opportunity",
        read=lambda document: read_quotes(document),
    ),
    "deleted": DocumentStream(
        name="deleted",
        description="a sobjects/{type}/deleted/ answer (deletedRecords, earliestDateAvailable, "
        "latestDateCovered)",
        read=read_deleted,
    ),
    **CHANGE_EVENT_DOCUMENTS,
}
