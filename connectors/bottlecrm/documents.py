"""What q2c makes of a document exactly as BottleCRM delivers it: pure readers for
`q2c connector map bottlecrm STREAM` and the conformance suite.

For accounts, contacts, deals and products the document is one record as the API returns
it (a list item, or the detail answer, wrapped in ``account_obj`` and the like or not) or a
whole page of the list endpoint, in that endpoint's own shape (accounts in their active and
closed halves, deals under ``opportunities``, contacts and products under ``results``).
The scan that reads them cannot tell a new record from a changed one without its cursor,
so a record reads as an update (the mapping treats both alike).

A webhook notification is the body BottleCRM posts (its signature is the receiver's
business, not the reader's). Its payload omits custom fields, so the receiver re-fetches
the record it names: the reader says which; a deletion needs no fetch and is the change.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from connectors.base.spec import DocumentStream, Reading
from connectors.bottlecrm.client import _LISTS, ObjectName
from connectors.bottlecrm.source import _EVENT_OBJECTS, _OPERATIONS, change_of
from schemas import Operation

_WRAPPERS: Mapping[ObjectName, str] = {
    "account": "account_obj",
    "contact": "contact_obj",
    "deal": "opportunity_obj",
}


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _records(obj: ObjectName, document: Any) -> list[Mapping[str, Any]]:
    """The records in ``document``: one record, a detail answer or a page of the list."""
    if not isinstance(document, Mapping):
        raise ValueError(f"a {obj} record or page was expected, not {_kind(document)}")
    wrapper = _WRAPPERS.get(obj)
    if wrapper is not None and isinstance(document.get(wrapper), Mapping):
        return [document[wrapper]]
    if "id" in document:
        return [document]
    _, page = _LISTS[obj]
    try:
        items, _total = page(document)
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            f"neither a {obj} record (no id) nor a page of the {obj} list endpoint"
        ) from None
    records: list[Mapping[str, Any]] = []
    for position, item in enumerate(items):
        if not isinstance(item, Mapping) or "id" not in item:
            raise ValueError(f"item {position} of the page is not a {obj} record")
        records.append(item)
    return records


def record_reader(obj: ObjectName, path: str) -> DocumentStream:
    def read(document: Any) -> Reading:
        now = dt.datetime.now(dt.UTC)
        marker = f"scan@{now.isoformat()}"
        return Reading(
            [
                change_of(obj, str(record["id"]), Operation.UPDATE, record, now, marker, now)
                for record in _records(obj, document)
            ]
        )

    return DocumentStream(
        name=obj,
        description=f"one {obj} record, its detail answer, or a page of GET {path}",
        read=read,
    )


def read_notification(document: Any) -> Reading:
    """A webhook body: the change it makes, or what the receiver does with it."""
    try:
        name = str(document["event"])
        record_id = str(document["data"]["id"])
        sent_at = dt.datetime.fromisoformat(str(document["created_at"]))
    except (KeyError, TypeError, ValueError):
        raise ValueError(
            "not a BottleCRM event (event, data.id and created_at are required)"
        ) from None
    prefix, _, action = name.partition(".")
    obj = _EVENT_OBJECTS.get(prefix)
    operation = _OPERATIONS.get(action)
    if obj is None or operation is None:
        return Reading(action=f"ignore: q2c does not follow {name} events (answered 204)")
    if operation is Operation.DELETE:
        cursor = f"webhook:{document.get('id', '')}"
        now = dt.datetime.now(dt.UTC)
        return Reading([change_of(obj, record_id, operation, {}, sent_at, cursor, now)])
    return Reading(
        action=f"re-fetch {obj} {record_id} and publish it as {operation.value} "
        f"(a delete if it is gone by then), stamped {sent_at.isoformat()}"
    )


def _documents() -> dict[str, DocumentStream]:
    found: dict[str, DocumentStream] = {
        obj: record_reader(obj, path) for obj, (path, _) in _LISTS.items()
    }
    webhook = DocumentStream(
        name="webhook",
        description="a webhook notification's body, as BottleCRM posts it",
        read=read_notification,
    )
    return {**found, webhook.name: webhook}


DOCUMENTS: Mapping[str, DocumentStream] = _documents()
