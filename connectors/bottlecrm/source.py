"""BottleCRM's changes: a periodic full scan with fingerprints, and signed webhooks.

BottleCRM cannot list what changed since a time (no list filters or sorts by update time,
accounts and deals carry no ``updated_at``), so each stream reads every record of its
object and compares fingerprints with the previous scan, kept in the cursor: new ids are
creates, changed fingerprints updates, ids no longer listed deletes (after a read by id
confirms the record is gone, so a record that moved between pages mid-scan is not
mistaken for a deletion).

The custom fields q2c writes back are left out of the fingerprint: q2c's own write is not a
change of the record (see :func:`fingerprint_of`).

Webhooks make changes visible within a second. Their payloads omit custom fields, so each
event re-fetches the record; the change event carries the same record shape and
fingerprint as the scan's, and the scan that follows repeats it at most once (downstream
drops the repeat by fingerprint). Deliveries are not ordered, so the state published is
always the one read from the API, never the payload's.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, ClassVar

import orjson
from aiohttp import web
from pydantic import SecretStr

from connectors.base import Batch, ConnectorError, ErrorKind, Publisher, Stream
from connectors.bottlecrm.client import BottleCrmClient, ObjectName
from connectors.bottlecrm.fields import Q2C_FIELDS
from connectors.bottlecrm.mapping import SYSTEM
from connectors.bottlecrm.webhooks import SIGNATURE_HEADER, InvalidSignature, verify_signature
from schemas import Operation, RawChange, fingerprint

log = logging.getLogger(__name__)

Q2C_KEYS = frozenset(field.key for field in Q2C_FIELDS)

# Fields that change without the record changing: derived from other records (rollups,
# the next activity, how often a product is used) or from the clock ("3 days ago").
_VOLATILE: Mapping[str, frozenset[str]] = {
    "account": frozenset({"rollups", "cases", "contacts", "opportunities", "tasks"}),
    "contact": frozenset(),
    "deal": frozenset({"created_on_arrow", "days_in_stage", "aging_status", "next_activity"}),
}
_VOLATILE_PRODUCT = frozenset({"used_on"})
_FINGERPRINT_CHARS = 20  # of the hex digest kept per record in the cursor


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
    short = {
        rid: fp.removeprefix("sha256:")[:_FINGERPRINT_CHARS] for rid, fp in fingerprints.items()
    }
    packed = zlib.compress(orjson.dumps(short, option=orjson.OPT_SORT_KEYS), 9)
    return "scan1:" + base64.urlsafe_b64encode(packed).decode()


def decode_snapshot(cursor: str | None) -> dict[str, str]:
    if not cursor:
        return {}
    if not cursor.startswith("scan1:"):
        raise ConnectorError(
            ErrorKind.FATAL, f"unknown BottleCRM cursor format {cursor[:10]!r}", system=SYSTEM
        )
    data: dict[str, str] = orjson.loads(zlib.decompress(base64.urlsafe_b64decode(cursor[6:])))
    return data


def _short(fp: str) -> str:
    return fp.removeprefix("sha256:")[:_FINGERPRINT_CHARS]


class ScanStream(Stream):
    """All records of one object, compared with the previous scan."""

    system: ClassVar[str] = SYSTEM
    name: ClassVar[ObjectName]

    def __init__(self, client: BottleCrmClient) -> None:
        self.client = client
        self.obj: ObjectName = self.name

    async def read(self, cursor: str | None) -> Batch:
        previous = decode_snapshot(cursor)
        now = datetime.now(UTC)
        marker = f"scan@{now.isoformat()}"
        changes: list[RawChange] = []
        seen: dict[str, str] = {}
        async for record in self.client.records(self.obj):
            record_id = str(record["id"])
            if record_id in seen:  # listed twice while records moved between pages
                continue
            operation = Operation.UPDATE if record_id in previous else Operation.CREATE
            change = change_of(self.obj, record_id, operation, record, now, marker, now)
            seen[record_id] = _short(change.fingerprint)
            if previous.get(record_id) != seen[record_id]:
                changes.append(change)
        for record_id in sorted(set(previous) - set(seen)):
            if await self._still_there(record_id):
                seen[record_id] = previous[record_id]  # missed by this scan; next one sees it
                continue
            changes.append(change_of(self.obj, record_id, Operation.DELETE, {}, now, marker, now))
        return Batch(changes, encode_snapshot(seen))

    async def _still_there(self, record_id: str) -> bool:
        try:
            await self.client.record(self.obj, record_id)
        except ConnectorError as exc:
            if exc.status == 404:
                return False
            raise
        return True


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


class WebhookReceiver:
    """An aiohttp endpoint for BottleCRM's webhooks; run it as a connector service.

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
        self.client = client
        self.secret = secret
        self.host = host
        self.port = port
        self.path = path
        self.tolerance = tolerance
        self.publisher: Publisher | None = None
        self.ready = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=1024**2)
        app.router.add_post(self.path, self.handle)
        return app

    async def serve(self, stop: asyncio.Event, publisher: Publisher) -> None:
        """Serves until ``stop`` is set (the connector runtime's service signature)."""
        self.publisher = publisher
        runner = web.AppRunner(self.app(), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, self.host, self.port)
        await site.start()
        if self.port == 0 and runner.addresses:
            self.port = int(runner.addresses[0][1])
        self.ready.set()
        try:
            await stop.wait()
        finally:
            await runner.cleanup()

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            verify_signature(
                self.secret,
                request.headers.get(SIGNATURE_HEADER),
                body,
                time.time(),
                self.tolerance,
            )
        except InvalidSignature as exc:
            log.warning("refused a BottleCRM webhook: %s", exc)
            return web.Response(status=401, text="invalid signature")
        try:
            event = orjson.loads(body)
            name = str(event["event"])
            record_id = str(event["data"]["id"])
            sent_at = datetime.fromisoformat(str(event["created_at"]))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return web.Response(status=400, text="not a BottleCRM event")
        prefix, _, action = name.partition(".")
        obj = _EVENT_OBJECTS.get(prefix)
        operation = _OPERATIONS.get(action)
        if obj is None or operation is None:
            return web.Response(status=204)  # an event q2c does not follow
        try:
            change = await self.change_for(obj, record_id, operation, sent_at, event)
            if self.publisher is None:
                raise RuntimeError("the receiver is not serving")
            await self.publisher.publish_changes([change])
        except Exception:
            log.exception("could not take BottleCRM event %s for %s %s", name, obj, record_id)
            return web.Response(status=503, text="try again later")
        return web.Response(status=204)

    async def change_for(
        self,
        obj: ObjectName,
        record_id: str,
        operation: Operation,
        sent_at: datetime,
        event: Mapping[str, Any],
    ) -> RawChange:
        now = datetime.now(UTC)
        cursor = f"webhook:{event.get('id', '')}"
        if operation is not Operation.DELETE:
            try:
                record = await self.client.record(obj, record_id)
            except ConnectorError as exc:
                if exc.status != 404:
                    raise
                operation = Operation.DELETE  # deleted since; its own event may come later
            else:
                return change_of(obj, record_id, operation, record, sent_at, cursor, now)
        return change_of(obj, record_id, Operation.DELETE, {}, sent_at, cursor, now)
