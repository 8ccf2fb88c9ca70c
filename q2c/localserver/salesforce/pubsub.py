"""The local Pub/Sub API (gRPC, ``eventbus.v1.PubSub``) publishing Change Data Capture events.

It is the data store's :class:`~q2c.localserver.salesforce.changes.ChangeFeed`: every
committed change becomes an Avro change event in the durable log
(:mod:`~q2c.localserver.salesforce.cdc_log`), delivered on ``/data/ChangeEvents`` (every
object) and ``/data/<Object>ChangeEvent``.

As documented for Subscribe: the first ``FetchRequest`` names the topic and where to start
(``LATEST``, the default; ``EARLIEST``; ``CUSTOM``: after ``replay_id``); each request adds
``num_requested`` to what the server may still send (at most 100 requested and undelivered:
more counts as 100), and each response says what is left (``pending_num_requested``). An
idle subscription gets an empty response carrying ``latest_replay_id`` every keep-alive
interval (270 s documented). A replay id that is corrupt or past the retention period ends
the call with ``INVALID_ARGUMENT`` and the trailer ``error-code:
sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted``; bad credentials with
``UNAUTHENTICATED`` and ``sfdc.platform.eventbus.grpc.service.auth.error``. Every call
authenticates with the ``accesstoken``, ``instanceurl`` and ``tenantid`` metadata, checked
by the validator the server is given.

Gap events (``GAP_CREATE``, … header and ids only) and ``GAP_OVERFLOW`` are published on
demand (:meth:`PubSubServer.inject_gap`, :meth:`PubSubServer.inject_overflow`), and
:meth:`PubSubServer.drop_streams` ends every open subscription as a network failure would.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn, cast

import grpc
import grpc.aio
from aiohttp import web

from connectors.salesforce.pubsub import pubsub_api_pb2 as pb
from connectors.salesforce.pubsub import pubsub_api_pb2_grpc as pb_grpc
from q2c.localserver.salesforce.cdc_log import (
    RETENTION_S,
    ChangeEventLog,
    ReplayIdCorrupt,
    StoredEvent,
    encode_replay_id,
)
from q2c.localserver.salesforce.changes import ChangeFeed, ChangeType, RecordChange

if TYPE_CHECKING:
    from q2c.localserver.salesforce.server import LocalSalesforce

log = logging.getLogger(__name__)

KEEPALIVE_S = 270.0
"""The documented longest wait before an idle subscription gets an empty response."""
MAX_REQUESTED = 100
"""The documented most events requested and not yet delivered in one Subscribe call."""
ALL_CHANGES = "/data/ChangeEvents"

ERROR_CODE = "error-code"
AUTH_ERROR = "sfdc.platform.eventbus.grpc.service.auth.error"
REPLAY_ID_CORRUPTED = "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"
TOPIC_INVALID = "sfdc.platform.eventbus.grpc.topic.invalid"
SCHEMA_NOT_FOUND = "sfdc.platform.eventbus.grpc.schema.not.found"
PUBLISH_NOT_PERMITTED = "sfdc.platform.eventbus.grpc.publish.not.permitted"

Validator = Callable[[str, str, str], bool]
"""``(accesstoken, instanceurl, tenantid) -> valid``: checked against the OAuth server."""

Context = grpc.aio.ServicerContext[Any, Any]


def entity_of_topic(topic: str) -> str | None:
    """The object of a change-event channel (None: every object); ValueError when the
    topic is not a change-event channel."""
    if topic == ALL_CHANGES:
        return None
    name = topic.removeprefix("/data/")
    if name != topic and name.endswith("__ChangeEvent") and len(name) > len("__ChangeEvent"):
        return name.removesuffix("__ChangeEvent") + "__c"
    if name != topic and name.endswith("ChangeEvent") and len(name) > len("ChangeEvent"):
        return name.removesuffix("ChangeEvent")
    raise ValueError(f"{topic!r} is not a change event channel")


class _Subscription:
    def __init__(self) -> None:
        self.wakeup = asyncio.Event()
        self.dropped = False


class PubSubServer(pb_grpc.PubSubServicer):
    """The Pub/Sub API servicer and the store's change feed; see the module docstring."""

    def __init__(
        self,
        state_dir: Path,
        validator: Validator,
        *,
        org_id: str,
        keepalive_s: float = KEEPALIVE_S,
        retention_s: float = RETENTION_S,
        clock: Callable[[], float] | None = None,
    ) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        extra = {"clock": clock} if clock is not None else {}
        self.log = ChangeEventLog(state_dir / "cdc.sqlite3", retention_s=retention_s, **extra)
        self.validator = validator
        self.org_id = org_id
        self.keepalive_s = keepalive_s
        self._subscriptions: set[_Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: grpc.aio.Server | None = None
        self.port = 0

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    async def start(self, port: int = 0) -> str:
        self._loop = asyncio.get_running_loop()
        self._server = grpc.aio.server()
        pb_grpc.add_PubSubServicer_to_server(self, self._server)
        self.port = self._server.add_insecure_port(f"127.0.0.1:{port}")
        await self._server.start()
        log.info("Pub/Sub API listening on %s", self.address)
        return self.address

    async def stop(self) -> None:
        if self._server is not None:
            server, self._server = self._server, None
            self.drop_streams()
            await server.stop(grace=1.0)
        self.log.close()

    # The change feed ----------------------------------------------------------------------

    def publish(self, changes: list[RecordChange]) -> None:
        """One committed transaction: stored as change events, then delivered. Changes
        whose events cannot be made become gap events (header and ids), as documented for
        an internal error that prevents a change event."""
        if not changes:
            return
        try:
            self.log.append(changes)
        except Exception:
            log.exception("no change events for %d committed changes: gap events", len(changes))
            self.log.append(
                [
                    RecordChange(
                        c.entity,
                        cast(ChangeType, f"GAP_{c.change_type}"),
                        c.record_ids,
                        transaction_key=c.transaction_key,
                        commit_timestamp_ms=c.commit_timestamp_ms,
                        commit_number=c.commit_number,
                        commit_user=c.commit_user,
                    )
                    for c in changes
                    if not c.change_type.startswith("GAP_")
                ]
            )
        self._wake_all()

    def inject_gap(
        self, entity: str, record_ids: Sequence[str], change_type: ChangeType = "GAP_UPDATE"
    ) -> None:
        """A gap event: changes of these records that the channel cannot deliver."""
        if not change_type.startswith("GAP_") or change_type == "GAP_OVERFLOW":
            raise ValueError(f"{change_type} is not a gap event with record ids")
        self.publish([RecordChange(entity, change_type, tuple(record_ids))])

    def inject_overflow(self, entity: str) -> None:
        """A ``GAP_OVERFLOW`` event: too many changes of ``entity`` to list."""
        self.publish([RecordChange(entity, "GAP_OVERFLOW", ())])

    def drop_streams(self) -> int:
        """End every open subscription with ``UNAVAILABLE``; how many there were."""
        for subscription in list(self._subscriptions):
            subscription.dropped = True
        self._wake_all()
        return len(self._subscriptions)

    def _wake_all(self) -> None:
        """Wakes the subscriptions; safe from the store's thread as from the loop's."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake)

    def _wake(self) -> None:
        for subscription in self._subscriptions:
            subscription.wakeup.set()

    # The RPCs ----------------------------------------------------------------------------

    async def _abort(
        self, context: Context, code: grpc.StatusCode, error: str, msg: str
    ) -> NoReturn:
        rpc_id = uuid.uuid4().hex
        context.set_trailing_metadata(((ERROR_CODE, error), ("rpc-id", rpc_id)))
        await context.abort(code, f"{msg} rpcId: {rpc_id}")
        raise AssertionError("abort returns only by raising")  # pragma: no cover

    async def _authenticate(self, context: Context) -> None:
        metadata = {key: str(value) for key, value in context.invocation_metadata() or ()}
        token = metadata.get("accesstoken", "")
        instance = metadata.get("instanceurl", "")
        tenant = metadata.get("tenantid", "")
        if not (token and instance and tenant) or not self.validator(token, instance, tenant):
            await self._abort(
                context,
                grpc.StatusCode.UNAUTHENTICATED,
                AUTH_ERROR,
                "An authentication exception occurred. Provide valid authentication via "
                "metadata headers.",
            )

    async def _entity(self, context: Context, topic: str) -> str | None:
        try:
            return entity_of_topic(topic)
        except ValueError as exc:
            await self._abort(context, grpc.StatusCode.INVALID_ARGUMENT, TOPIC_INVALID, str(exc))

    async def GetTopic(self, request: pb.TopicRequest, context: Context) -> pb.TopicInfo:
        await self._authenticate(context)
        entity = await self._entity(context, request.topic_name)
        schema_id = "" if entity is None else self.log.topic_schema_id(entity)
        return pb.TopicInfo(
            topic_name=request.topic_name,
            tenant_guid=self.org_id,
            can_publish=False,
            can_subscribe=True,
            schema_id=schema_id,
            rpc_id=uuid.uuid4().hex,
        )

    async def GetSchema(self, request: pb.SchemaRequest, context: Context) -> pb.SchemaInfo:
        await self._authenticate(context)
        schema_json = self.log.schema_json(request.schema_id)
        if schema_json is None:
            await self._abort(
                context,
                grpc.StatusCode.NOT_FOUND,
                SCHEMA_NOT_FOUND,
                f"no schema with id {request.schema_id!r}",
            )
        return pb.SchemaInfo(
            schema_json=schema_json, schema_id=request.schema_id, rpc_id=uuid.uuid4().hex
        )

    async def Publish(self, request: pb.PublishRequest, context: Context) -> pb.PublishResponse:
        await self._authenticate(context)
        await self._abort(
            context,
            grpc.StatusCode.PERMISSION_DENIED,
            PUBLISH_NOT_PERMITTED,
            "change event channels cannot be published to",
        )

    async def PublishStream(
        self, request_iterator: AsyncIterator[pb.PublishRequest], context: Context
    ) -> AsyncIterator[pb.PublishResponse]:
        await self.Publish(pb.PublishRequest(), context)
        yield pb.PublishResponse()  # pragma: no cover

    async def ManagedSubscribe(
        self, request_iterator: AsyncIterator[pb.ManagedFetchRequest], context: Context
    ) -> AsyncIterator[pb.ManagedFetchResponse]:
        await self._authenticate(context)
        await context.abort(
            grpc.StatusCode.UNIMPLEMENTED, "managed subscriptions are not offered here"
        )
        yield pb.ManagedFetchResponse()  # pragma: no cover

    async def _start(self, context: Context, first: pb.FetchRequest) -> int:
        if first.replay_preset == pb.CUSTOM:
            try:
                return self.log.check(first.replay_id)
            except ReplayIdCorrupt as exc:
                await self._abort(
                    context,
                    grpc.StatusCode.INVALID_ARGUMENT,
                    REPLAY_ID_CORRUPTED,
                    f"The Replay ID validation failed: {exc}.",
                )
        if first.replay_preset == pb.EARLIEST:
            return self.log.earliest()
        return self.log.latest()

    async def Subscribe(
        self, request_iterator: AsyncIterator[pb.FetchRequest], context: Context
    ) -> AsyncIterator[pb.FetchResponse]:
        await self._authenticate(context)
        first = await anext(aiter(request_iterator), None)
        if first is None:
            return
        topic = first.topic_name
        entity = await self._entity(context, topic)
        cursor = await self._start(context, first)
        rpc_id = uuid.uuid4().hex
        subscription = _Subscription()
        pending = min(max(first.num_requested, 0), MAX_REQUESTED)  # more counts as 100
        problem: list[str] = []

        async def read_requests() -> None:
            nonlocal pending
            async for request in request_iterator:
                if request.topic_name and request.topic_name != topic:
                    problem.append(f"the topic cannot change from {topic!r}")
                pending = min(pending + max(request.num_requested, 0), MAX_REQUESTED)
                subscription.wakeup.set()

        reader = asyncio.create_task(read_requests())
        self._subscriptions.add(subscription)
        loop = asyncio.get_running_loop()
        idle_since = loop.time()
        try:
            while True:
                if problem:
                    await self._abort(
                        context, grpc.StatusCode.INVALID_ARGUMENT, TOPIC_INVALID, problem[0]
                    )
                if subscription.dropped:
                    await context.abort(grpc.StatusCode.UNAVAILABLE, "RST_STREAM closed stream")
                subscription.wakeup.clear()
                if pending > 0:
                    delivered, cursor = self._next_events(cursor, entity, pending)
                    if delivered:
                        pending -= len(delivered)
                        idle_since = loop.time()
                        yield pb.FetchResponse(
                            events=[
                                pb.ConsumerEvent(
                                    event=pb.ProducerEvent(
                                        id=str(uuid.uuid5(uuid.NAMESPACE_OID, str(e.position))),
                                        schema_id=e.schema_id,
                                        payload=e.payload,
                                    ),
                                    replay_id=e.replay_id,
                                )
                                for e in delivered
                            ],
                            latest_replay_id=encode_replay_id(cursor),
                            rpc_id=rpc_id,
                            pending_num_requested=pending,
                        )
                        continue
                remaining = self.keepalive_s - (loop.time() - idle_since)
                if remaining <= 0:
                    idle_since = loop.time()
                    yield pb.FetchResponse(
                        latest_replay_id=encode_replay_id(cursor),
                        rpc_id=rpc_id,
                        pending_num_requested=pending,
                    )
                    continue
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(subscription.wakeup.wait(), remaining)
        finally:
            self._subscriptions.discard(subscription)
            reader.cancel()

    def _next_events(
        self, cursor: int, entity: str | None, pending: int
    ) -> tuple[list[StoredEvent], int]:
        """Up to ``pending`` events of ``entity`` after ``cursor``, and the cursor after the
        events examined (other objects' events are passed over)."""
        delivered: list[StoredEvent] = []
        while len(delivered) < pending:
            batch = self.log.after(cursor, MAX_REQUESTED)
            if not batch:
                break
            for event in batch:
                if entity is not None and event.entity != entity:
                    cursor = event.position
                    continue
                if len(delivered) == pending:
                    break
                delivered.append(event)
                cursor = event.position
        return delivered, cursor


@contextlib.asynccontextmanager
async def running_pubsub(
    state_dir: Path,
    validator: Validator,
    *,
    org_id: str,
    port: int = 0,
    keepalive_s: float = KEEPALIVE_S,
    retention_s: float = RETENTION_S,
    clock: Callable[[], float] | None = None,
) -> AsyncIterator[PubSubServer]:
    """A started Pub/Sub API server on 127.0.0.1, stopped on exit."""
    server = PubSubServer(
        state_dir,
        validator,
        org_id=org_id,
        keepalive_s=keepalive_s,
        retention_s=retention_s,
        clock=clock,
    )
    await server.start(port)
    try:
        yield server
    finally:
        await server.stop()


class Feeds:
    """Several change feeds as one."""

    def __init__(self, *feeds: ChangeFeed) -> None:
        self.feeds = feeds

    def publish(self, changes: list[RecordChange]) -> None:
        for feed in self.feeds:
            feed.publish(changes)


class CdcControl:
    """Change Data Capture on demand: gap and overflow events, dropped subscriptions.
    In-process, and over HTTP under ``/_local/cdc/`` on the instance host (this local
    server's own endpoints, not Salesforce API)."""

    def __init__(self) -> None:
        self.server: PubSubServer | None = None

    def _running(self) -> PubSubServer:
        if self.server is None:
            raise ValueError("the Pub/Sub API is not running")
        return self.server

    def gap(
        self, entity: str, record_ids: Sequence[str], change_type: ChangeType = "GAP_UPDATE"
    ) -> None:
        self._running().inject_gap(entity, record_ids, change_type)

    def overflow(self, entity: str) -> None:
        self._running().inject_overflow(entity)

    def drop_streams(self) -> int:
        return self._running().drop_streams()

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/_local/cdc/gap", self._gap),
            web.post("/_local/cdc/overflow", self._overflow),
            web.post("/_local/cdc/drop", self._drop),
        ]

    async def _gap(self, request: web.Request) -> web.Response:
        body = await request.json()
        change_type = str(body.get("change_type", "GAP_UPDATE"))
        if change_type not in ("GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE"):
            raise ValueError(f"{change_type} is not a gap event with record ids")
        ids = [str(record_id) for record_id in body["ids"]]
        self.gap(str(body["sobject"]), ids, cast(ChangeType, change_type))
        return web.json_response({"ok": True})

    async def _overflow(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.overflow(str(body["sobject"]))
        return web.json_response({"ok": True})

    async def _drop(self, request: web.Request) -> web.Response:
        del request
        return web.json_response({"dropped": self.drop_streams()})


def local_pubsub(
    cdc: CdcControl,
    *,
    keepalive_s: float = KEEPALIVE_S,
    retention_s: float = RETENTION_S,
) -> Callable[[LocalSalesforce, int], contextlib.AbstractAsyncContextManager[str]]:
    """The local server's Pub/Sub API: its store's change feed, authenticating with the
    sessions of its OAuth token endpoint, controlled through ``cdc``."""

    @contextlib.asynccontextmanager
    async def start(server: LocalSalesforce, port: int) -> AsyncIterator[str]:
        org_id = str(server.credentials["org_id"])

        def valid(token: str, instance: str, tenant: str) -> bool:
            return (
                server.control.sessions.check(token) is not None
                and tenant in (org_id, org_id[:15])
                and instance.rstrip("/") == server.instance_url
            )

        async with running_pubsub(
            server.state_dir,
            valid,
            org_id=org_id,
            port=port,
            keepalive_s=keepalive_s,
            retention_s=retention_s,
        ) as pubsub:
            previous = server.store.feed
            server.store.feed = Feeds(previous, pubsub)
            cdc.server = pubsub
            try:
                yield pubsub.address
            finally:
                cdc.server = None
                server.store.feed = previous

    return start
