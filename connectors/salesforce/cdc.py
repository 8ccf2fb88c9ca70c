"""Salesforce Change Data Capture over the Pub/Sub API, on the kit's event-stream strategy
(:mod:`connectors.base.tracking.events`).

:class:`PubSubChannel` subscribes (gRPC, ``eventbus.v1.PubSub/Subscribe``) to a change-event
channel (``/data/ChangeEvents`` by default) with the ``accesstoken``/``instanceurl``/``tenantid``
metadata, decodes each event with the schema ``GetSchema`` returns (cached by schema id), and
hands on deliveries: change events, ``GAP_*`` events as :class:`Gap` (re-read the records),
``GAP_OVERFLOW`` as :class:`Overflow` (re-snapshot the object by polling). The position is
the replay id (hex); a replay id the service calls corrupt (expired past the retention
period, or invalid) raises :class:`PositionExpired`, on which the stream re-snapshots by
polling from the last known time and resubscribes. A first start (or a re-snapshot) ends
with a subscription from ``LATEST`` and a catch-up poll once the service has answered it
(the kit's safe order, :mod:`connectors.base.tracking.events`): the service registers a
``LATEST`` subscription when it reads the first ``FetchRequest``, and its first response
(events, or a keep-alive naming ``latest_replay_id``) is the first sign that it has.

Flow control: each fetch requests at most the batch size (``num_requested``); the trailing
transaction of a full fetch waits for the next one, so one transaction's events stay
together. A stream the service drops is reopened on the next read after the last replay id
handed on (the runner backs off).

:class:`CdcStream` turns events into raw changes: one per record id; a DELETE as such; a
CREATE, UPDATE or UNDELETE by re-reading the records through the REST API, in one query per
object and batch (an UPDATE carries only the changed fields, a raw change the whole record),
so CDC and polling deliver the same records; q2c's own writes, recognised by their
``changeOrigin`` client id, are left out (they repeat what q2c wrote). An object read with
its parent (an opportunity's line items) stands for the parent: any change, gap or delete
of a line item re-reads its opportunity, an overflow re-snapshots the opportunities.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import grpc
import grpc.aio
from pydantic import SecretStr

from connectors.base.errors import ConnectorError, ErrorKind
from connectors.base.source import Batch
from connectors.base.tracking.events import (
    ChannelEvent,
    Delivery,
    EventChannel,
    EventCursor,
    EventStream,
    Gap,
    Overflow,
    PositionExpired,
    Preset,
    Subscription,
    resync_step,
)
from connectors.base.tracking.modified import Clock, ModifiedSinceStream, utc_now
from connectors.salesforce.cdc_documents import delete_change
from connectors.salesforce.cdc_events import (
    ChangeEvent,
    EventSchema,
    UndecodableEvent,
    complete_transactions,
    decode_event,
    is_echo,
)
from connectors.salesforce.client import SalesforceClient
from connectors.salesforce.pubsub import pubsub_api_pb2 as pb
from connectors.salesforce.pubsub import pubsub_api_pb2_grpc as pb_grpc
from connectors.salesforce.settings import SalesforceSettings
from connectors.salesforce.source import ObjectStream, raw_change
from connectors.salesforce.wire import soql_literal
from schemas import DeadLetter, Operation, RawChange

log = logging.getLogger(__name__)

SYSTEM = "salesforce"
ALL_CHANGES = "/data/ChangeEvents"
MAX_REQUESTED = 100
"""The documented largest ``num_requested``."""
REPLAY_ID_CORRUPTED = "sfdc.platform.eventbus.grpc.subscription.fetch.replayid.corrupted"


@dataclass(frozen=True)
class PubSubAuth:
    """What a Pub/Sub API call authenticates with (the REST session's)."""

    access_token: SecretStr
    instance_url: str
    org_id: str


AuthProvider = Callable[[bool], Awaitable[PubSubAuth]]
"""The current session (``True``: the last one was refused, get a new one)."""
Reread = Callable[[str, Sequence[str]], Awaitable[Sequence[RawChange]]]
"""Records of an object by id as they are now, deletes for gone ones (the REST API)."""
Parents = Callable[[str, str, Sequence[str]], Awaitable[Mapping[str, str]]]
"""``(child object, parent field, child ids)`` → the parent id of each child found
(deleted children included)."""


@dataclass(frozen=True)
class Undecodable:
    """An event that could not be decoded: dead-lettered with the reason."""

    payload: bytes
    schema_id: str
    reason: str


def _error_code(error: grpc.aio.AioRpcError) -> str:
    for key, value in error.trailing_metadata() or ():
        if key == "error-code":
            return value if isinstance(value, str) else value.decode(errors="replace")
    return ""


class PubSubChannel(EventChannel):
    """A change-event channel of the Pub/Sub API; see the module docstring."""

    def __init__(
        self,
        address: str,
        auth: AuthProvider,
        *,
        topic: str = ALL_CHANGES,
        secure: bool = True,
    ) -> None:
        self.address = address
        self.auth = auth
        self.topic = topic
        self.secure = secure
        self._channel: grpc.aio.Channel | None = None
        self._schemas: dict[str, EventSchema] = {}
        self._renew = False
        self.latest_replay_id: bytes | None = None
        """The newest ``latest_replay_id`` the service sent (keep-alives included)."""
        self.objects: frozenset[str] | None = None
        """The objects followed (None: all); gap and overflow events of others are passed
        over like their change events."""
        self.children: Mapping[str, str] = {}
        """Objects followed through their parent (child → parent object): an overflow of
        a child re-snapshots its parent."""

    def stub(self) -> pb_grpc.PubSubAsyncStub:
        if self._channel is None:
            if self.secure:
                credentials = grpc.ssl_channel_credentials()
                self._channel = grpc.aio.secure_channel(self.address, credentials)
            else:
                self._channel = grpc.aio.insecure_channel(self.address)
        return pb_grpc.PubSubStub(self._channel)

    async def metadata(self) -> tuple[tuple[str, str], ...]:
        renew, self._renew = self._renew, False
        session = await self.auth(renew)
        return (
            ("accesstoken", session.access_token.get_secret_value()),
            ("instanceurl", session.instance_url),
            ("tenantid", session.org_id),
        )

    def failure(self, error: grpc.aio.AioRpcError, doing: str) -> ConnectorError:
        """A failed call as the kit classifies it: every Pub/Sub failure but a corrupt
        replay id (raised by the subscription) is retried; a refused session is renewed."""
        code = error.code()
        if code == grpc.StatusCode.UNAUTHENTICATED:
            self._renew = True
        detail = f"{code.name}: {error.details() or ''} {_error_code(error)}".strip()
        return ConnectorError(
            ErrorKind.RETRIABLE, f"Pub/Sub API {doing} failed", system=SYSTEM, detail=detail
        )

    async def schema(self, schema_id: str) -> EventSchema:
        """The event schema of ``schema_id`` (``GetSchema``, once per id)."""
        if schema_id not in self._schemas:
            try:
                info = await self.stub().GetSchema(
                    pb.SchemaRequest(schema_id=schema_id), metadata=await self.metadata()
                )
            except grpc.aio.AioRpcError as exc:
                if exc.code() in (grpc.StatusCode.NOT_FOUND, grpc.StatusCode.INVALID_ARGUMENT):
                    # No schema will ever read the event: dead-letter it, do not retry.
                    raise UndecodableEvent(
                        f"GetSchema: {exc.details() or exc.code().name}"
                    ) from None
                raise self.failure(exc, "GetSchema") from None
            self._schemas[schema_id] = EventSchema.of(schema_id, info.schema_json)
        return self._schemas[schema_id]

    async def subscribe(self, start: str | Preset) -> PubSubSubscription:
        return PubSubSubscription(self, start)

    async def close(self) -> None:
        if self._channel is not None:
            channel, self._channel = self._channel, None
            await channel.close()


def _first_request(start: str | Preset, topic: str, n: int) -> pb.FetchRequest:
    if start == Preset.EARLIEST:
        return pb.FetchRequest(topic_name=topic, replay_preset=pb.EARLIEST, num_requested=n)
    if start == Preset.LATEST:
        return pb.FetchRequest(topic_name=topic, replay_preset=pb.LATEST, num_requested=n)
    try:
        replay_id = bytes.fromhex(start)
    except ValueError:
        raise PositionExpired(start, "not a replay id") from None
    return pb.FetchRequest(
        topic_name=topic, replay_preset=pb.CUSTOM, replay_id=replay_id, num_requested=n
    )


class PubSubSubscription(Subscription):
    """One Subscribe call, reopened after the last replay id handed on when it fails."""

    def __init__(self, channel: PubSubChannel, start: str | Preset) -> None:
        self.channel = channel
        self.resume = start
        self._requests: asyncio.Queue[pb.FetchRequest | None] | None = None
        self._responses: asyncio.Queue[pb.FetchResponse | BaseException] = asyncio.Queue()
        self._call: Any = None
        self._reader: asyncio.Task[None] | None = None
        self._outstanding = 0
        self._held: list[tuple[bytes, ChangeEvent | Undecodable]] = []
        self._answered = False

    @property
    def answered(self) -> bool:
        """A response came (events or a keep-alive): the service has registered the
        subscription, so a ``LATEST`` start is fixed from then on."""
        return self._answered

    def position(self) -> str | None:
        return None if isinstance(self.resume, Preset) else self.resume

    async def _send(self, n: int) -> None:
        if self._requests is None:
            first = _first_request(self.resume, self.channel.topic, n)
            self._requests = asyncio.Queue()
            self._requests.put_nowait(first)
            requests = self._requests

            async def stream() -> AsyncIterator[pb.FetchRequest]:
                while (request := await requests.get()) is not None:
                    yield request

            call = self.channel.stub().Subscribe(stream(), metadata=await self.channel.metadata())
            self._call = call
            self._reader = asyncio.create_task(self._read(call))
        else:
            self._requests.put_nowait(pb.FetchRequest(num_requested=n))
        self._outstanding += n

    async def _read(self, call: Any) -> None:
        try:
            async for response in call:
                self._responses.put_nowait(response)
            self._responses.put_nowait(
                ConnectorError(
                    ErrorKind.RETRIABLE, "the Pub/Sub API ended the subscription", system=SYSTEM
                )
            )
        except grpc.aio.AioRpcError as exc:
            self._responses.put_nowait(exc)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # anything else the call raises ends it the same way
            self._responses.put_nowait(exc)

    def _reset(self) -> None:
        if self._requests is not None:
            self._requests.put_nowait(None)
        if self._call is not None:
            self._call.cancel()
        if self._reader is not None:
            self._reader.cancel()
        self._requests, self._call, self._reader = None, None, None
        self._responses = asyncio.Queue()
        self._outstanding = 0
        self._held = []

    def _failed(self, error: BaseException) -> Exception:
        self._reset()
        if isinstance(error, grpc.aio.AioRpcError):
            code = _error_code(error)
            if code == REPLAY_ID_CORRUPTED or "replayid" in code:
                # What the service said was latest may be as old as the expired id.
                self.channel.latest_replay_id = None
                return PositionExpired(self.resume, f"{code} ({error.code().name})")
            return self.channel.failure(error, "Subscribe")
        if isinstance(error, ConnectorError):
            return error
        return ConnectorError(
            ErrorKind.RETRIABLE, f"Pub/Sub API subscription failed: {error}", system=SYSTEM
        )

    async def _decode(self, event: pb.ConsumerEvent) -> ChangeEvent | Undecodable:
        schema_id = event.event.schema_id
        try:
            return decode_event(await self.channel.schema(schema_id), event.event.payload)
        except UndecodableEvent as exc:
            return Undecodable(event.event.payload, schema_id, str(exc))

    async def fetch(self, n: int, wait: float) -> Sequence[Delivery]:
        try:
            return await self._fetch(max(1, min(n, MAX_REQUESTED)), wait)
        except BaseException:
            # What this fetch took off the call is handed on to no one: start again after
            # the last replay id handed on.
            self._reset()
            raise

    async def _fetch(self, n: int, wait: float) -> Sequence[Delivery]:
        got, self._held = self._held, []
        want = n - len(got) - self._outstanding
        if want > 0:
            await self._send(want)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        idle = False
        while len(got) < n:
            try:
                item = await asyncio.wait_for(self._responses.get(), deadline - loop.time())
            except TimeoutError:
                idle = True
                break
            if isinstance(item, BaseException):
                raise self._failed(item)
            self._answered = True
            if item.latest_replay_id:
                self.channel.latest_replay_id = item.latest_replay_id
            self._outstanding = item.pending_num_requested
            if not item.events:
                if isinstance(self.resume, Preset) and item.latest_replay_id and not got:
                    # Nothing delivered yet: the tip the keep-alive names is where this
                    # subscription stands (a reopened call resumes after it, not at a
                    # later tip).
                    self.resume = item.latest_replay_id.hex()
                idle = True  # a keep-alive: nothing more now
                break
            for event in item.events:
                got.append((event.replay_id, await self._decode(event)))
        keys = [e.transaction_key if isinstance(e, ChangeEvent) else "" for _, e in got]
        ready = complete_transactions(keys, idle=idle)
        got, self._held = got[:ready], got[ready:]
        if got:
            self.resume = got[-1][0].hex()
        return [
            _delivery(replay_id, event, self.channel.objects, self.channel.children)
            for replay_id, event in got
        ]

    async def close(self) -> None:
        self._reset()


def _delivery(
    replay_id: bytes,
    event: ChangeEvent | Undecodable,
    objects: frozenset[str] | None = None,
    children: Mapping[str, str] | None = None,
) -> Delivery:
    position = replay_id.hex()
    if isinstance(event, Undecodable):
        return ChannelEvent(position, dt.datetime.now(dt.UTC), event)
    if objects is not None and event.entity not in objects:
        return ChannelEvent(position, event.commit_timestamp, event)
    if event.is_gap:
        return Gap(position, event.commit_timestamp, event.entity, event.record_ids)
    if event.is_overflow:
        entity = (children or {}).get(event.entity, event.entity)
        return Overflow(position, event.commit_timestamp, entity)
    return ChannelEvent(position, event.commit_timestamp, event)


class CdcStream(EventStream):
    """Every synced object's changes from Change Data Capture; see the module docstring."""

    system = SYSTEM
    name = "cdc"

    def __init__(
        self,
        channel: EventChannel,
        fallback: Mapping[str, ModifiedSinceStream],
        reread: Reread,
        *,
        client_id: str = "",
        children: Mapping[str, tuple[str, str]] | None = None,
        parents: Parents | None = None,
        batch_size: int = MAX_REQUESTED,
        wait: float = 1.0,
        clock: Clock = utc_now,
    ) -> None:
        super().__init__(channel, fallback, batch_size=batch_size, wait=wait)
        self.children = {
            child: link for child, link in (children or {}).items() if link[0] in fallback
        }
        """Objects read through their parent: child → (parent object, parent id field)."""
        if self.children and parents is None:
            raise ValueError("following objects through their parent needs a parents lookup")
        self.parents = parents
        if isinstance(channel, PubSubChannel):
            channel.objects = frozenset(fallback) | frozenset(self.children)
            channel.children = {child: link[0] for child, link in self.children.items()}
        self.rereader = reread
        self.client_id = client_id
        self.clock = clock
        self.echoes = 0
        """Changes left out as q2c's own writes."""
        self._letters: list[DeadLetter] = []
        self._to_read: dict[int, tuple[str, str]] = {}

    def now(self) -> dt.datetime:
        return self.clock()

    async def close(self) -> None:
        await super().close()
        if isinstance(self.channel, PubSubChannel):
            await self.channel.close()

    async def _resync(self, state: EventCursor) -> Batch:
        """One read of the re-snapshot; a polling stream that answers no cursor is pacing
        itself (the API allowance is running low), so the re-snapshot waits, not ends."""
        assert state.resync is not None
        obj, polled = state.resync.pending[0]
        batch = await self.fallback[obj].read(polled)
        if batch.cursor is None and not batch.changes:
            return Batch([], state.encode(), more=False, dead_letters=batch.dead_letters)
        after = resync_step(state, batch.cursor, batch.more)
        return Batch(batch.changes, after.encode(), more=True, dead_letters=batch.dead_letters)

    async def reread(self, obj: str, record_ids: Sequence[str]) -> Sequence[RawChange]:
        if obj in self.children:
            parent, parent_ids = await self._parents_of(obj, record_ids)
            return await self.rereader(parent, parent_ids) if parent_ids else []
        if obj not in self.fallback:
            return []
        return await self.rereader(obj, record_ids)

    async def _parents_of(self, child: str, record_ids: Sequence[str]) -> tuple[str, list[str]]:
        parent, field = self.children[child]
        assert self.parents is not None
        found = await self.parents(child, field, record_ids)
        return parent, list(dict.fromkeys(found[i] for i in record_ids if i in found))

    def changes_of(self, event: ChannelEvent) -> Sequence[RawChange]:
        payload = event.payload
        if isinstance(payload, Undecodable):
            self._letters.append(
                DeadLetter.of(
                    payload=payload.payload,
                    error=UndecodableEvent(payload.reason),
                    stage="source.salesforce.cdc",
                    failed_at=self.clock(),
                    reason=f"change event {event.position} (schema {payload.schema_id}): "
                    f"{payload.reason}",
                )
            )
            return []
        if not isinstance(payload, ChangeEvent):
            return []
        if payload.entity not in self.fallback and payload.entity not in self.children:
            return []
        if is_echo(payload.change_origin, self.client_id):
            self.echoes += len(payload.record_ids)
            log.debug(
                "%s: q2c's own %s of %s", self.cursor_key, payload.change_type, payload.record_ids
            )
            return []
        cursor = EventCursor(event.position, event.at).encode()
        now = self.clock()
        if payload.change_type == "DELETE" and payload.entity not in self.children:
            return [
                delete_change(payload.entity, rid, payload.commit_timestamp, cursor, now)
                for rid in payload.record_ids
            ]
        changes: list[RawChange] = []
        for record_id in payload.record_ids:
            # Stands for the record (or a child's parent) until re-read in full (read()).
            change = RawChange.of(
                system=SYSTEM,
                object=payload.entity,
                record_id=record_id,
                operation=Operation.UPDATE,
                source_ts=payload.commit_timestamp,
                cursor=cursor,
                record={},
                observed_at=now,
            )
            self._to_read[id(change)] = (payload.entity, record_id)
            changes.append(change)
        return changes

    async def read(self, cursor: str | None) -> Batch:
        self._letters, self._to_read = [], {}
        batch = await super().read(cursor)
        changes = list(batch.changes)
        if self._to_read:
            changes = await self._complete(changes)
        letters = [*batch.dead_letters, *self._letters]
        self._letters, self._to_read = [], {}
        return Batch(changes, batch.cursor, more=batch.more, dead_letters=letters)

    async def _complete(self, changes: list[RawChange]) -> list[RawChange]:
        """The batch with each created/updated record re-read in full, a child's change
        standing for its parent's (once per record, at its last change in the batch)."""
        keys: dict[int, tuple[str, str]] = {}
        for index, change in enumerate(changes):
            if id(change) in self._to_read:
                keys[index] = self._to_read[id(change)]
        by_child: dict[str, list[str]] = {}
        for obj, record_id in keys.values():
            if obj in self.children:
                by_child.setdefault(obj, []).append(record_id)
        parent_of: dict[tuple[str, str], tuple[str, str]] = {}
        for child, ids in by_child.items():
            parent, field = self.children[child]
            assert self.parents is not None
            for child_id, parent_id in (await self.parents(child, field, ids)).items():
                parent_of[(child, child_id)] = (parent, parent_id)
        for index, key in list(keys.items()):
            if key[0] in self.children:
                if key in parent_of:
                    keys[index] = parent_of[key]
                else:
                    log.warning("%s: %s %s has no parent to re-read", self.cursor_key, *key)
                    del keys[index]
        last = {key: index for index, key in keys.items()}
        wanted: dict[str, list[str]] = {}
        for obj, record_id in last:
            wanted.setdefault(obj, []).append(record_id)
        read: dict[tuple[str, str], RawChange] = {}
        for obj, ids in wanted.items():
            for change in await self.rereader(obj, ids):
                read[(obj, change.record_id)] = change
        complete: list[RawChange] = []
        for index, change in enumerate(changes):
            if id(change) not in self._to_read:
                complete.append(change)
            elif index in keys and last[keys[index]] == index:
                if keys[index] in read:
                    complete.append(read[keys[index]])
                else:
                    log.warning("%s: %s %s was not found on re-read", self.cursor_key, *keys[index])
        return complete


REREAD_CHUNK = 200
"""Record ids per re-read query (keeps the SOQL well under its length limit)."""
_LOOPBACK = ("127.0.0.1", "localhost", "[::1]")


def session_auth(client: SalesforceClient) -> AuthProvider:
    """The REST client's session as Pub/Sub API credentials (renewed when refused)."""

    async def auth(renew: bool) -> PubSubAuth:
        session = await client.auth.session()
        if renew:
            session = await client.auth.renew(session)
        if not session.org_id:
            raise ConnectorError(
                ErrorKind.FATAL,
                "the token answer names no org (no identity URL): the Pub/Sub API needs it",
                system=SYSTEM,
            )
        return PubSubAuth(SecretStr(session.access_token), session.instance_url, session.org_id)

    return auth


def object_reread(streams: Mapping[str, ObjectStream]) -> Reread:
    """Re-reads records by id with the fields (and related records) their polling stream
    reads, as the polling stream would publish them; ids no longer found are deletes."""

    async def reread(obj: str, record_ids: Sequence[str]) -> Sequence[RawChange]:
        stream = streams[obj]
        await stream.prepare()
        now = stream.clock()
        cursor = f"cdc@{now.isoformat()}"
        changes: list[RawChange] = []
        for start in range(0, len(record_ids), REREAD_CHUNK):
            chunk = list(dict.fromkeys(record_ids[start : start + REREAD_CHUNK]))
            where = ", ".join(soql_literal(record_id) for record_id in chunk)
            soql = " ".join(("SELECT", stream.select(), "FROM", stream.name))
            records = await stream.client.query(f"{soql} WHERE Id IN ({where})")
            records = await stream.complete(records)
            found = {str(record["Id"]) for record in records}
            changes += [raw_change(obj, record, cursor, now, stream.ignore) for record in records]
            changes += [
                delete_change(obj, record_id, now, cursor, now)
                for record_id in chunk
                if record_id not in found
            ]
        return changes

    return reread


CHILDREN: Mapping[str, tuple[str, str]] = {
    "OpportunityLineItem": ("Opportunity", "OpportunityId"),
    "Quote": ("Opportunity", "OpportunityId"),
    "QuoteLineItem": ("Opportunity", "Quote.OpportunityId"),
}
"""Objects q2c reads with their parent: an opportunity's line items ride along with it, and
so do its synced quote and that quote's lines (``QuoteChangeEvent`` and
``QuoteLineItemChangeEvent`` where enabled; a change of a quote that is not the synced one
re-reads its opportunity for nothing, and downstream drops the repeat)."""


def _path(record: Mapping[str, Any], field: str) -> Any:
    """A field of a query row, through parent relationships (``Quote.OpportunityId``)."""
    value: Any = record
    for part in field.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def parent_lookup(client: SalesforceClient) -> Parents:
    """Children's parent ids by SOQL ``queryAll`` (deleted children keep theirs)."""

    async def parents(child: str, field: str, record_ids: Sequence[str]) -> Mapping[str, str]:
        found: dict[str, str] = {}
        unique = list(dict.fromkeys(record_ids))
        for start in range(0, len(unique), REREAD_CHUNK):
            where = ", ".join(soql_literal(i) for i in unique[start : start + REREAD_CHUNK])
            soql = " ".join(("SELECT", f"Id, {field}", "FROM", child))
            async for page in client.query_pages(f"{soql} WHERE Id IN ({where})", all_rows=True):
                for record in page["records"]:
                    if isinstance(parent := _path(record, field), str):
                        found[str(record["Id"])] = parent
        return found

    return parents


def streams(
    client: SalesforceClient, config: SalesforceSettings, polling: Sequence[ObjectStream]
) -> list[CdcStream]:
    """The Change Data Capture stream over the objects the polling streams follow; it
    re-snapshots and re-reads through streams of its own (their paging state is theirs)."""
    own = {
        stream.name: type(stream)(client, config)
        for stream in polling
        if stream.stands_for is None  # quotes come as their opportunity's children
    }
    host = config.pubsub_address.rsplit(":", 1)[0]
    channel = PubSubChannel(
        config.pubsub_address,
        session_auth(client),
        topic=config.pubsub_topic,
        secure=host not in _LOOPBACK,
    )
    return [
        CdcStream(
            channel,
            own,
            object_reread(own),
            client_id=config.call_client,
            children=CHILDREN,
            parents=parent_lookup(client),
        )
    ]
