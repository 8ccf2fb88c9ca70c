"""BottleCRM's changes: a periodic full scan with fingerprints, and signed webhooks.

BottleCRM cannot list what changed since a time (no list filters or sorts by update time,
accounts and deals carry no ``updated_at``), so each stream reads every record of its
object and compares fingerprints with the previous scan, kept in the cursor: new ids are
creates, changed fingerprints updates, ids no longer listed deletes (after a read by id
confirms the record is gone, so a record that moved between pages mid-scan is not
mistaken for a deletion).

The custom fields q2c writes back are left out of the fingerprint: q2c's own write is not a
change of the record (see :func:`fingerprint_of`).

The scan is the full-scan strategy (:mod:`connectors.base.tracking.snapshot`), the webhooks
the webhook strategy (:mod:`connectors.base.tracking.webhook`); this module says how
BottleCRM is listed, fingerprinted, signed and re-fetched.

Webhooks make changes visible within a second. Their payloads omit custom fields, so each
event re-fetches the record; the change event carries the same record shape and
fingerprint as the scan's, and the scan that follows repeats it at most once (downstream
drops the repeat by fingerprint). Deliveries are not ordered, so the state published is
always the one read from the API, never the payload's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any, ClassVar

import orjson
from pydantic import SecretStr

from connectors.base import ConnectorError
from connectors.base.tracking import FullScanStream, Notification, WebhookHandler, snapshot
from connectors.base.tracking import WebhookReceiver as BaseWebhookReceiver
from connectors.bottlecrm.client import BottleCrmClient, ObjectName
from connectors.bottlecrm.fields import Q2C_FIELDS
from connectors.bottlecrm.mapping import SYSTEM
from connectors.bottlecrm.webhooks import SIGNATURE_HEADER, verify_signature
from schemas import Operation, RawChange, fingerprint

Q2C_KEYS = frozenset(field.key for field in Q2C_FIELDS)

# Fields that change without the record changing: derived from other records (rollups,
# the next activity, how often a product is used) or from the clock ("3 days ago").
_VOLATILE: Mapping[str, frozenset[str]] = {
    "account": frozenset({"rollups", "cases", "contacts", "opportunities", "tasks"}),
    "contact": frozenset(),
    "deal": frozenset({"created_on_arrow", "days_in_stage", "aging_status", "next_activity"}),
}
_VOLATILE_PRODUCT = frozenset({"used_on"})


def stable_view(obj: str, record: Mapping[str, Any]) -> dict[str, Any]:
    """``record`` without the fields that change on their own (what a fingerprint covers).

    The scan reads list answers, a webhook re-fetches the detail answer; both reduce to the
    same view, so the same record state has the same fingerprint either way.
    """
    view = {k: v for k, v in record.items() if k not in _VOLATILE.get(obj, frozenset())}
    if isinstance(view.get("line_items"), list):
        view["line_items"] = [_line_view(line) for line in view["line_items"]]
    return view


def _line_view(line: Any) -> Any:
    if isinstance(line, dict) and isinstance(line.get("product"), dict):
        product = {k: v for k, v in line["product"].items() if k not in _VOLATILE_PRODUCT}
        return {**line, "product": product}
    return line


def fingerprint_of(obj: str, view: Mapping[str, Any]) -> str:
    """The fingerprint of a record's stable view, leaving out the custom fields q2c itself
    writes: a record that differs only there is q2c's own echo, and has the fingerprint of
    the change it answers (downstream drops it as a repeat; a scan does not publish it)."""
    custom = view.get("custom_fields")
    if isinstance(custom, dict) and Q2C_KEYS.intersection(custom):
        own = {k: v for k, v in custom.items() if k not in Q2C_KEYS}
        view = {**view, "custom_fields": own}
    return fingerprint(view)


def change_of(
    obj: str,
    record_id: str,
    operation: Operation,
    record: Mapping[str, Any],
    source_ts: datetime,
    cursor: str,
    observed_at: datetime,
) -> RawChange:
    """A raw change carrying ``record`` as the API sent it (minus the volatile fields)."""
    view = stable_view(obj, record) if operation is not Operation.DELETE else {}
    return RawChange(
        system=SYSTEM,
        object=obj,
        record_id=record_id,
        operation=operation,
        source_ts=source_ts,
        cursor=cursor,
        fingerprint=fingerprint_of(obj, view),
        record=view,
        observed_at=observed_at,
    )


def encode_snapshot(fingerprints: Mapping[str, str]) -> str:
    """The cursor of a scan: each record id with (a prefix of) its fingerprint."""
    return snapshot.encode_snapshot(fingerprints)


def decode_snapshot(cursor: str | None) -> dict[str, str]:
    return snapshot.decode_snapshot(cursor, SYSTEM)


async def _fetch(client: BottleCrmClient, obj: ObjectName, record_id: str) -> dict[str, Any] | None:
    """The record by id; None when BottleCRM answers 404."""
    try:
        return await client.record(obj, record_id)
    except ConnectorError as exc:
        if exc.status == 404:
            return None
        raise


class ScanStream(FullScanStream):
    """All records of one object, compared with the previous scan."""

    system: ClassVar[str] = SYSTEM
    name: ClassVar[ObjectName]

    def __init__(self, client: BottleCrmClient) -> None:
        super().__init__()
        self.client = client
        self.obj: ObjectName = self.name

    async def records(self) -> AsyncIterator[tuple[str, Mapping[str, Any]]]:
        async for record in self.client.records(self.obj):
            yield str(record["id"]), record

    def change(
        self, record_id: str, operation: Operation, record: Mapping[str, Any], at: datetime
    ) -> RawChange:
        return change_of(self.obj, record_id, operation, record, at, f"scan@{at.isoformat()}", at)

    async def exists(self, record_id: str) -> bool:
        return await _fetch(self.client, self.obj, record_id) is not None


class AccountStream(ScanStream):
    name: ClassVar[ObjectName] = "account"


class ContactStream(ScanStream):
    name: ClassVar[ObjectName] = "contact"


class DealStream(ScanStream):
    name: ClassVar[ObjectName] = "deal"


class ProductStream(ScanStream):
    """Products are the ERP's items: their CRM side is read so edits made there are seen
    (and, the ERP owning them, overwritten back) and so reconciliation can compare them."""

    name: ClassVar[ObjectName] = "product"


_EVENT_OBJECTS: Mapping[str, ObjectName] = {
    "account": "account",
    "contact": "contact",
    "deal": "deal",
}
_OPERATIONS: Mapping[str, Operation] = {
    "created": Operation.CREATE,
    "updated": Operation.UPDATE,
    "won": Operation.UPDATE,
    "lost": Operation.UPDATE,
    "deleted": Operation.DELETE,
}


class BottleCrmWebhooks(WebhookHandler):
    """BottleCRM's part of the webhook receiver: its signature header, its event names, a
    re-fetch through the client."""

    system = SYSTEM

    def __init__(self, client: BottleCrmClient, secret: SecretStr, tolerance: float = 300.0):
        self.client = client
        self.secret = secret
        self.tolerance = tolerance

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        verify_signature(self.secret, headers.get(SIGNATURE_HEADER), body, now, self.tolerance)

    def parse(self, body: bytes) -> Notification | None:
        event = orjson.loads(body)
        name = str(event["event"])
        record_id = str(event["data"]["id"])
        sent_at = datetime.fromisoformat(str(event["created_at"]))
        prefix, _, action = name.partition(".")
        obj = _EVENT_OBJECTS.get(prefix)
        operation = _OPERATIONS.get(action)
        if obj is None or operation is None:
            return None
        return Notification(obj, record_id, operation, sent_at, str(event.get("id", "")))

    async def fetch(self, obj: str, record_id: str) -> Mapping[str, Any] | None:
        return await _fetch(self.client, _EVENT_OBJECTS[obj], record_id)

    def change(
        self, notice: Notification, record: Mapping[str, Any], observed_at: datetime
    ) -> RawChange:
        return change_of(
            notice.object,
            notice.record_id,
            notice.operation,
            record,
            notice.sent_at,
            notice.cursor,
            observed_at,
        )


class WebhookReceiver(BaseWebhookReceiver):
    """The receiver of BottleCRM's signed webhooks; run it as a connector service.

    A delivery is answered 2xx only after its change was acknowledged by Kafka, so BottleCRM
    retries one that q2c could not take; an unsigned, forged or stale one is answered 401.
    """

    def __init__(
        self,
        client: BottleCrmClient,
        secret: SecretStr,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/bottlecrm/webhook",
        tolerance: float = 300.0,
    ) -> None:
        super().__init__(BottleCrmWebhooks(client, secret, tolerance), host, port, path)
