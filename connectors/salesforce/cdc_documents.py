"""What q2c makes of one change event exactly as Salesforce delivers it (pure readers for
`q2c connector map salesforce STREAM` and the conformance suite).

Two deliveries of the same event are read:

- as the Pub/Sub API client decodes it: the Avro record (``ChangeEventHeader`` and the
  object's fields, unchanged ones null, datetimes in epoch milliseconds, the field lists
  as bitmaps), bare or wrapped as ``{"schema_id", "replay_id", "payload"}``;
- as the Streaming API (CometD) envelope carries it: ``{"channel", "data": {"schema",
  "payload", "event": {"replayId"}}}`` (or its ``data``), null and unchanged fields left
  out.

A DELETE is the change itself, one per record id. A CREATE, UPDATE or UNDELETE carries
only some fields (an UPDATE only the changed ones), so the connector re-reads the records
through the REST API and publishes them whole: the reader says so, as it does for a
``GAP_*`` event (re-read the records) and ``GAP_OVERFLOW`` (re-snapshot the object), and for
q2c's own writes (``changeOrigin`` with q2c's client id), which are left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from connectors.base.spec import DocumentStream, Reading
from connectors.salesforce.cdc_events import GAP_TYPES, OVERFLOW, is_echo
from schemas import Operation, RawChange

SYSTEM = "salesforce"
DEFAULT_CLIENT_ID = "q2c"
_CHANGES = frozenset({"CREATE", "UPDATE", "DELETE", "UNDELETE"})


def _header(payload: Any) -> Mapping[str, Any]:
    if not isinstance(payload, Mapping) or not isinstance(
        payload.get("ChangeEventHeader"), Mapping
    ):
        raise ValueError("not a change event: no ChangeEventHeader")
    header: Mapping[str, Any] = payload["ChangeEventHeader"]
    return header


def _commit_time(value: Any) -> dt.datetime:
    """``commitTimestamp``: epoch milliseconds (a number, or digits in CometD's JSON)."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"commitTimestamp {value!r} is not epoch milliseconds")
    return dt.datetime.fromtimestamp(value / 1000, dt.UTC)


def delete_change(
    entity: str, record_id: str, at: dt.datetime, cursor: str, observed_at: dt.datetime
) -> RawChange:
    """The raw change of a deleted record (the record itself is gone: empty)."""
    return RawChange.of(
        system=SYSTEM,
        object=entity,
        record_id=record_id,
        operation=Operation.DELETE,
        source_ts=at,
        cursor=cursor,
        record={},
        observed_at=observed_at,
    )


def read_change_event(payload: Any, position: str, client_id: str = DEFAULT_CLIENT_ID) -> Reading:
    """The reading of a decoded change event (``payload``: header plus fields)."""
    header = _header(payload)
    try:
        entity = str(header["entityName"])
        change_type = str(header["changeType"])
        raw_ids = header.get("recordIds") or []
        record_ids = [str(i) for i in (raw_ids if isinstance(raw_ids, list) else [raw_ids])]
        at = _commit_time(header["commitTimestamp"])
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise ValueError(f"the ChangeEventHeader is not CDC's: {exc}") from None
    ids = ", ".join(record_ids)
    if change_type == OVERFLOW:
        return Reading(
            action=f"re-snapshot {entity} by polling since the last event handled "
            "(GAP_OVERFLOW: too many changes to list), then resubscribe after this event"
        )
    if change_type in GAP_TYPES:
        return Reading(action=f"re-read {entity} {ids} through the REST API ({change_type})")
    if change_type not in _CHANGES:
        raise ValueError(f"changeType {change_type!r} is not a CDC change type")
    if not record_ids:
        raise ValueError("a change event without recordIds")
    if is_echo(str(header.get("changeOrigin") or ""), client_id):
        return Reading(action=f"leave out: q2c's own {change_type} of {entity} {ids}")
    if change_type == "DELETE":
        now = dt.datetime.now(dt.UTC)
        return Reading([delete_change(entity, rid, at, position, now) for rid in record_ids])
    return Reading(
        action=f"re-read {entity} {ids} through the REST API and publish the records whole "
        f"({change_type} at {at.isoformat()}; a delete for any gone by then)"
    )


def read_pubsub_event(document: Any) -> Reading:
    """A change event as the Pub/Sub API client decodes it, bare or with its ids."""
    if isinstance(document, Mapping) and "payload" in document:
        position = str(document.get("replay_id") or "")
        return read_change_event(document["payload"], f"replay:{position}")
    return read_change_event(document, "replay:")


def read_cometd_event(document: Any) -> Reading:
    """A change event in the Streaming API (CometD) envelope, or its ``data``."""
    data = document.get("data", document) if isinstance(document, Mapping) else None
    if not isinstance(data, Mapping) or "payload" not in data:
        raise ValueError("not a CometD change event: no data.payload")
    event = data.get("event")
    replay = event.get("replayId", "") if isinstance(event, Mapping) else ""
    return read_change_event(data["payload"], f"replay:{replay}")


DOCUMENTS: Mapping[str, DocumentStream] = {
    "change-event": DocumentStream(
        name="change-event",
        description="a change event as the Pub/Sub API client decodes it (ChangeEventHeader "
        "plus fields), bare or as {schema_id, replay_id, payload}",
        read=read_pubsub_event,
    ),
    "change-event-cometd": DocumentStream(
        name="change-event-cometd",
        description="a change event in the Streaming API (CometD) envelope "
        "(channel, data.schema, data.payload, data.event.replayId)",
        read=read_cometd_event,
    ),
}
