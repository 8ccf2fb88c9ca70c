"""Strategy (c): a webhook receiver that checks each delivery's signature, then re-fetches.

A delivery is answered 2xx only after its change was acknowledged by Kafka, so the sender
retries one q2c could not take (503); an unsigned, forged or stale one is answered 401, a
signed one that is not an event 400, an event q2c does not follow 204.

Payloads are not trusted for content: deliveries are not ordered and often leave fields out
(custom fields, related records), so the change published is always the record as the API
returns it *now*; a record gone by then is published as a delete. The scan or poll that
follows repeats the same state at most once, with the same fingerprint (dropped downstream).

What a system implements (:class:`WebhookHandler`): ``verify`` (its signature scheme,
e.g. HMAC-SHA256 of a timestamp and the body), ``parse`` (a body into a
:class:`Notification`, or None for an event it does not follow), ``fetch`` (the record by
id, None when gone) and ``change`` (a record as a raw change).
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from connectors.base.publish import Publisher
from schemas import Operation, RawChange

log = logging.getLogger(__name__)


class InvalidSignature(Exception):
    """The request is unsigned, signed with another secret, malformed or too old."""


@dataclass(frozen=True)
class Notification:
    """What a delivery says happened: which record, and when the system sent it."""

    object: str
    record_id: str
    operation: Operation
    sent_at: datetime
    event_id: str = ""

    @property
    def cursor(self) -> str:
        """The change's cursor field: which delivery it came from."""
        return f"webhook:{self.event_id}"


class WebhookHandler(ABC):
    """The per-system part of a webhook receiver."""

    system: str

    @abstractmethod
    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> None:
        """Raise :class:`InvalidSignature` unless ``body`` is signed by the system, recently."""

    @abstractmethod
    def parse(self, body: bytes) -> Notification | None:
        """The notification in ``body``; None for an event q2c does not follow; raises
        ``ValueError`` (or ``KeyError``/``TypeError``) for a body that is not an event."""

    @abstractmethod
    async def fetch(self, obj: str, record_id: str) -> Mapping[str, Any] | None:
        """The record as the system has it now; None when it is gone."""

    @abstractmethod
    def change(
        self, notice: Notification, record: Mapping[str, Any], observed_at: datetime
    ) -> RawChange:
        """The raw change for ``notice`` (``record`` empty for a delete)."""


async def refetched(handler: WebhookHandler, notice: Notification) -> RawChange:
    """The change a notification stands for, with the record read again from the system."""
    record: Mapping[str, Any] | None = None
    if notice.operation is not Operation.DELETE:
        record = await handler.fetch(notice.object, notice.record_id)
    if record is None:  # a delete, or deleted since: its own event may come later
        gone = Notification(
            notice.object, notice.record_id, Operation.DELETE, notice.sent_at, notice.event_id
        )
        return handler.change(gone, {}, datetime.now(UTC))
    return handler.change(notice, record, datetime.now(UTC))


class WebhookReceiver:
    """An aiohttp endpoint for one system's webhooks; run it as a connector service
    (:meth:`serve` has the runtime's service signature). Listens on ``host`` (loopback
    unless configured otherwise)."""

    def __init__(
        self,
        handler: WebhookHandler,
        host: str = "127.0.0.1",
        port: int = 0,
        path: str = "/webhook",
        max_body: int = 1024**2,
    ) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self.path = path
        self.max_body = max_body
        self.publisher: Publisher | None = None
        self.ready = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{self.path}"

    def app(self) -> web.Application:
        app = web.Application(client_max_size=self.max_body)
        app.router.add_post(self.path, self.handle)
        return app

    async def serve(self, stop: asyncio.Event, publisher: Publisher) -> None:
        """Serves until ``stop`` is set."""
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
        system = self.handler.system
        try:
            self.handler.verify(request.headers, body, time.time())
        except InvalidSignature as exc:
            log.warning("refused a %s webhook: %s", system, exc)
            return web.Response(status=401, text="invalid signature")
        try:
            notice = self.handler.parse(body)
        except (ValueError, KeyError, TypeError):
            return web.Response(status=400, text=f"not a {system} event")
        if notice is None:
            return web.Response(status=204)  # an event q2c does not follow
        try:
            change = await refetched(self.handler, notice)
            if self.publisher is None:
                raise RuntimeError("the receiver is not serving")
            await self.publisher.publish_changes([change])
        except Exception:
            log.exception(
                "could not take %s event for %s %s", system, notice.object, notice.record_id
            )
            return web.Response(status=503, text="try again later")
        return web.Response(status=204)
