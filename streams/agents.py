"""The Faust wiring of the sync: one agent, three tables, the join views and the recheck
loop. Every decision is made by the pure handlers in :mod:`streams.handlers`; this module
only reads and writes tables and topics.

``sync`` reads canonical changes, sink results and control messages where they were
published: each is keyed by the record it concerns (:mod:`schemas.keys`), so a record's
messages arrive in order in one partition. A message keyed otherwise (written by an older
normalizer) is re-keyed onto the internal ``sync`` topic, which the agent also reads.

It handles one event at a time and checkpoints a batch of them at a time
(:mod:`streams.batch`): it reads the state through the batch's overlay, runs the handler,
sends the commands, audit records and view updates without awaiting each, and once the
batch is full, due, or nothing more is waiting, awaits the broker's acknowledgement of all
of them, stores the new state, and only then acknowledges the events. A worker killed in
between handles the whole batch again from the old state and sends its outputs again (the
sinks absorb repeats). Stored first, the new state would make the repeat look already
handled, and a command that never reached the broker would be lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import Any, TypeVar

import faust
from aiokafka import ConsumerRecord
from faust.streams import _current_event
from mode import CrashingSupervisor
from pydantic import BaseModel

from q2c.core import metrics
from q2c.core.settings import Settings
from q2c.core.topics import Topics
from q2c.core.tracing import span_from_headers, with_trace_headers
from schemas import (
    CODEC,
    AuditRecord,
    CommandResult,
    Contract,
    CreateSalesOrder,
    DeadLetter,
    DecodeError,
    MessageOrigin,
)
from schemas.changes import EntityChange, SystemRole
from schemas.decisions import DealApproval, EraseRecord, RecheckDeal, RecheckLedger
from schemas.entities import EntityKind
from schemas.keys import (
    customer_key,
    deal_key,
    identity_key,
    item_key,
    key_of_change,
    ledger_key,
)
from streams.batch import Batch, Overlay, StateWrite
from streams.config import SyncConfig
from streams.handlers.common import Emit, Step
from streams.handlers.deals import (
    OrderState,
    OrderStatus,
    on_approval,
    on_order_result,
    on_quote_change,
    on_recheck,
)
from streams.handlers.erasure import anonymise_commands
from streams.handlers.finance import (
    FinanceState,
    balance_stale,
    new_finance_state,
    on_finance_change,
    on_ledger_recheck,
    renewal_due,
)
from streams.handlers.master import DELETE_COMMAND, MASTER, on_master_change, on_master_result
from streams.rules.erasure import (
    ErasedMarker,
    entity_of_key,
    erased_audit,
    erased_key,
    reference_keys,
    skipped_audit,
)
from streams.rules.golden import GoldenRecord
from streams.views import JoinViews, deletion_header

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)
Write = tuple[Any, str, BaseModel | None]
"""A table, a key, and the state to store there once the step's outputs are acknowledged
(None: the key is deleted, which leaves a tombstone on the table's changelog)."""

FINANCE = (EntityKind.SALES_ORDER, EntityKind.INVOICE, EntityKind.CREDIT_MEMO, EntityKind.PAYMENT)
_RAW: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw"}
ROCKSDB = {
    "write_buffer_size": 8 * 2**20,
    "max_write_buffer_number": 2,
    "block_cache_size": 32 * 2**20,
    "block_cache_compressed_size": 8 * 2**20,
}
"""Each table's RocksDB memory: Faust's defaults (64 MiB write buffers, three of them, and a
2 GiB block cache) let a worker grow by hundreds of MiB as its tables fill."""
BATCH_EVENTS = 500
"""The most events checkpointed together."""
BATCH_SECONDS = 0.2
"""The longest a batch waits for more events while the stream is not idle."""


class Rejected(Exception):
    """A message the sync's rules give up on (its reason is the dead letter's)."""


def _headers(event: Any) -> list[tuple[str, bytes]]:
    headers = event.headers or {}
    items: Iterable[tuple[str, bytes]] = headers.items() if isinstance(headers, dict) else headers
    return [(str(k), bytes(v)) for k, v in items if v is not None]


def route_key(message: Contract, kafka_key: bytes | None) -> str | None:
    """The ``sync`` partition key of an input message."""
    if isinstance(message, EntityChange):
        return key_of_change(message)
    if isinstance(message, DealApproval | RecheckDeal):
        return deal_key(message.deal_crm_id)
    if isinstance(message, RecheckLedger):
        return ledger_key(message.customer_erp_id)
    if isinstance(message, EraseRecord):
        return message.key
    if isinstance(message, CommandResult) and kafka_key:
        return _text_key(kafka_key)
    return None


def _text_key(kafka_key: bytes | None) -> str:
    """A Kafka key as the text q2c keys are (DecodeError: not a key q2c wrote)."""
    raw = bytes(kafka_key or b"")
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise DecodeError(f"a key of {len(raw)} bytes that are not UTF-8 text") from None


@contextlib.contextmanager
def _as_current(event: Any) -> Any:
    """Make ``event`` Faust's current event: a table write goes to the changelog partition
    of the event that caused it, and Faust finds that event in a context variable (which
    a batch stored after its last event would otherwise point at the wrong one)."""
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


class SyncApp:
    def __init__(
        self,
        app: faust.App,
        settings: Settings,
        cfg: SyncConfig,
        *,
        batch_events: int = BATCH_EVENTS,
        batch_seconds: float = BATCH_SECONDS,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.app = app
        self.cfg = cfg
        offset = settings.worker.clock_offset
        self.clock = clock or (lambda: datetime.now(UTC) + offset)
        """The time the rules see: due dates, waits, write-backs' ``as_of``."""
        self.topics = Topics(settings.kafka.topic_prefix)
        partitions = settings.kafka.partitions
        self.inputs = app.topic(
            self.topics.changes,
            self.topics.results(cfg.crm_system),
            self.topics.results(cfg.erp_system),
            self.topics.control,
            self.topics.sync,
            **_RAW,
        )
        self.sync_topic = app.topic(self.topics.sync, partitions=partitions, internal=True, **_RAW)
        self.control = app.topic(self.topics.control, **_RAW)
        self.audit = app.topic(self.topics.audit, **_RAW)
        self.dead_letters = app.topic(self.topics.dead_letter, **_RAW)
        self.commands = {
            role: app.topic(self.topics.commands(cfg.system(role)), **_RAW) for role in SystemRole
        }
        self.ref_customers = app.topic(self.topics.reference("customers"), **_RAW)
        self.ref_items = app.topic(self.topics.reference("items"), **_RAW)
        tables: dict[str, Any] = {
            "partitions": partitions,
            "key_type": bytes,
            "value_type": bytes,
            "options": dict(ROCKSDB),
        }
        self.golden = app.Table("golden", **tables)
        self.orders = app.Table("orders", **tables)
        self.finance = app.Table("finance", **tables)
        self.tables: dict[str, Any] = {
            "golden": self.golden,
            "orders": self.orders,
            "finance": self.finance,
        }
        self.views = JoinViews(
            self.topics.reference("customers"),
            self.topics.reference("items"),
            settings.kafka.client_kwargs(),
            on_unreadable=self._unreadable_reference,
        )
        self.recheck_interval = cfg.recheck_interval.total_seconds()
        self.max_dead_letter_payload = settings.dead_letters.max_payload_bytes
        self.batch_events = batch_events
        self.batch_seconds = batch_seconds
        self._confirmed: list[float] = []
        """Won-to-order latencies of the current step, observed once its state is stored."""
        self._overlay: Overlay[Any] = Overlay()
        """The table state as the current step sees it."""
        app.agent(self.inputs, name="q2c.sync", supervisor_strategy=CrashingSupervisor)(self.sync)
        app.task(self.follow_views)
        app.task(self.recheck_loop)
        app.task(self.ledger_loop)

    # -- the agent ------------------------------------------------------------------------
    # Events are acknowledged by hand, once what they produced was sent and their state
    # stored: Faust acknowledges an event in a ``finally`` when the agent body raises (and
    # ``take()`` acknowledges its whole batch so), and its commit timer then commits the
    # offset of an event whose outputs were never sent. An exception escaping the body
    # crashes the worker (CrashingSupervisor) with the batch unacknowledged, so no offset
    # of it is committed and the batch is processed again after the restart.
    async def sync(self, stream: Any) -> AsyncIterator[None]:
        await self.views.ready.wait()
        _settle_garbage_collection()
        events = stream.noack()
        queue = getattr(events.channel, "queue", None)
        batch: Batch[Any] = Batch(self.batch_events, self.batch_seconds)
        upcoming: asyncio.Future[Any] | None = None
        iterator = events.events().__aiter__()
        loop = asyncio.get_running_loop()
        try:
            while True:
                if not batch:
                    try:
                        event = await iterator.__anext__()
                    except StopAsyncIteration:
                        return  # the stream stopped (the worker is stopping)
                else:
                    # A batch waits for more events at most until it is due: also when
                    # Faust holds the events back (a rebalance waits for every event
                    # taken to be acknowledged).
                    if upcoming is None:
                        upcoming = asyncio.ensure_future(iterator.__anext__())
                    done, _ = await asyncio.wait({upcoming}, timeout=batch.remaining(loop.time()))
                    if not done:
                        await self.checkpoint(batch, events.ack)
                        yield None
                        continue
                    try:
                        event = upcoming.result()
                    except StopAsyncIteration:
                        return  # the batch stays unacknowledged: it comes again
                    upcoming = None
                _current_event.set(weakref.ref(event))
                batch.add(event, loop.time())
                await self.take(event, batch, self.clock())
                idle = queue is None or queue.empty()
                if idle or batch.full() or batch.remaining(loop.time()) == 0.0:
                    await self.checkpoint(batch, events.ack)
                    yield None
        finally:
            if upcoming is not None:
                upcoming.cancel()

    async def take(self, event: Any, batch: Batch[Any], now: datetime) -> None:
        """Handle one event into ``batch``: its outputs sent (not yet acknowledged), its
        new state in the batch's overlay. A message that cannot be read, or that its
        handler refuses, is dead-lettered (the dead letter is an output of the batch too)."""
        if event.value is None and event.message.topic != self.control.get_topic_name():
            # A tombstone on a compacted input (an erasure's, for the log cleaner): no
            # message. The control topic is not compacted: nothing q2c writes is empty there.
            return
        value = bytes(event.value or b"")
        try:
            message = CODEC.decode(value)
            key = self.views_key(message) or route_key(message, event.key)
            if key is None:
                raise DecodeError(f"{message.schema_subject} names no record to route it to")
        except Exception as exc:  # pure decoding: a bad message, dead-lettered
            await self._dead_letter(value, event, exc, "route", batch.acks)
            return
        headers = _headers(event)
        if bytes(event.key or b"") != key.encode():
            # Keyed otherwise than by its record: re-keyed, to be handled in its partition.
            with span_from_headers(f"route {message.schema_subject}", headers):
                batch.acks.append(await self._enqueue(self.sync_topic, key, value))
            return
        with span_from_headers(f"sync {message.schema_subject}", headers, {"q2c.key": key}):
            try:
                step, writes = self.step(key, message, now, batch.overlay)
            except Exception as exc:  # the handlers are pure: the message is at fault
                await self._dead_letter(value, event, exc, "sync", batch.acks)
                return
            await self.publish(step, batch.acks)
            for reason in step.dead_letters:
                await self._dead_letter(value, event, Rejected(reason), "sync", batch.acks)
        for table, table_key, state in writes:
            batch.overlay.put(table.name, table_key, state, event)
        batch.latencies.extend(self._confirmed)
        self._confirmed.clear()

    def views_key(self, message: Contract) -> str | None:
        """The key of a deleted customer or item, found in the join views: a delete carries
        only the deleting system's id, while the record is kept under its SKU (an item) or
        its CRM id (a customer); None when the views do not know it (or it is no delete)."""
        if not isinstance(message, EntityChange) or message.data is not None:
            return None
        ids = message.ids
        if message.entity is EntityKind.ITEM:
            item = next(
                (found for i in (ids.erp_id, ids.crm_id) if i and (found := self.views.item(i))),
                None,
            )
            if item is not None:
                return item_key(item.sku)
            # Deleted already (a delete seen again): where the item was kept.
            gone = next(
                (d for i in (ids.erp_id, ids.crm_id) if i and (d := self.views.deleted_item(i))),
                None,
            )
            return item_key(gone.sku) if gone is not None else None
        if message.entity is EntityKind.CUSTOMER and ids.crm_id is None:
            known = self.views.customer(ids)
            return customer_key(known.ids) if known is not None else None
        return None

    async def checkpoint(self, batch: Batch[Any], ack: Callable[[Any], Awaitable[Any]]) -> None:
        """Outputs acknowledged → state stored → events acknowledged (offsets committable)."""
        if batch.acks:
            await asyncio.gather(*batch.acks)
        self.store(batch.overlay.writes())
        # Observed with the state that records the order: a repeat of the result after a
        # restart finds the deal ordered already and is not observed twice.
        for latency in batch.latencies:
            metrics.DEAL_WON_TO_ORDER.observe(latency)
        for event in batch.events:
            await ack(event)
        batch.clear()

    def store(self, writes: Iterable[StateWrite[Any]]) -> None:
        for write in writes:
            table = self.tables[write.table]
            with _as_current(write.event):
                if write.state is None:
                    del table[write.key.encode()]  # a tombstone on the changelog
                else:
                    table[write.key.encode()] = write.state.model_dump_json().encode()

    # -- one step: table state in; outputs, then the table state to store ----------------
    def step(
        self, key: str, message: Contract, now: datetime, overlay: Overlay[Any] | None = None
    ) -> tuple[Step, list[Write]]:
        """What ``message`` produces, and the state to store once that is acknowledged
        (the tables, seen through ``overlay``, are only read here). Its commands carry the
        source time of the change that caused them, for the latency the sinks measure."""
        self._confirmed.clear()
        self._overlay = overlay if overlay is not None else Overlay()
        step, writes = self._step(key, message, now)
        source_ts = getattr(message, "source_ts", None)
        if step.commands:
            step.commands[:] = [_with_source_time(emit, source_ts) for emit in step.commands]
        return step, writes

    def _step(self, key: str, message: Contract, now: datetime) -> tuple[Step, list[Write]]:
        cfg = self.cfg
        if isinstance(message, EraseRecord):
            return self._erase(key, message, now)
        if isinstance(message, EntityChange | CommandResult) and self._erased(key):
            # The record was erased: what its systems still send is not imported again.
            if isinstance(message, CommandResult):
                return Step(), []
            audit = skipped_audit(message.entity, message.ids, message.origin_system, now)
            return Step(audits=[audit]), []
        if isinstance(message, EntityChange) and message.entity in MASTER:
            golden, step = on_master_change(
                self._load(self.golden, key, GoldenRecord), message, key, cfg, now
            )
            return step, [(self.golden, key, golden)]
        if isinstance(message, EntityChange) and message.entity is EntityKind.QUOTE:
            state, step = on_quote_change(self._order(key), message, self.views, cfg, now)
            return step, [(self.orders, key, state)]
        if isinstance(message, EntityChange) and message.entity in FINANCE:
            customer = key.removeprefix("ledger:")
            finance = self._load(self.finance, key, FinanceState) or new_finance_state(customer)
            finance, step = on_finance_change(
                finance, message, self.views.account_of(customer), cfg, now, self.views
            )
            return step, [(self.finance, key, finance)]
        if isinstance(message, DealApproval):
            state, step = on_approval(self._order(key), message, self.views, cfg, now)
            return step, [(self.orders, key, state)]
        if isinstance(message, RecheckDeal):
            state, step = on_recheck(self._order(key), self.views, cfg, now)
            return step, [(self.orders, key, state)]
        if isinstance(message, RecheckLedger):
            ledger = self._load(self.finance, key, FinanceState)
            if ledger is None:
                return Step(), []
            ledger, step = on_ledger_recheck(ledger, cfg, now, self.views)
            return step, [(self.finance, key, ledger)]
        if isinstance(message, CommandResult):
            return self._result(key, message, now)
        raise DecodeError(f"{message.schema_subject} is not a message the sync handles")

    def _result(self, key: str, result: CommandResult, now: datetime) -> tuple[Step, list[Write]]:
        if result.command == "create_sales_order" and key.startswith("deal:"):
            before = self._order(key)
            state, step = on_order_result(before, result, self.cfg, now)
            if before.status is not OrderStatus.ORDERED and state.status is OrderStatus.ORDERED:
                latency = metrics.seconds_between(result.source_ts, result.completed_at)
                if latency is not None:
                    self._confirmed.append(latency)
            return step, [(self.orders, key, state)]
        if result.command.startswith("upsert_") or result.command == DELETE_COMMAND:
            golden, step = on_master_result(
                self._load(self.golden, key, GoldenRecord), result, key, self.cfg, now
            )
            return step, [] if golden is None else [(self.golden, key, golden)]
        if result.outcome.value == "failed":
            log.error("%s in %s failed: %s", result.command, result.target_system, result.message)
        return Step(), []

    def _erased(self, key: str) -> bool:
        return self._load(self.golden, erased_key(key), ErasedMarker) is not None

    def _erase(self, key: str, message: EraseRecord, now: datetime) -> tuple[Step, list[Write]]:
        """Delete every table entry at ``key`` (tombstones on the changelogs), remember the
        key as erased (by its hash), withdraw a customer from the reference view, and ask
        the systems named to anonymise a customer or contact."""
        golden = self._load(self.golden, key, GoldenRecord)
        held: dict[str, Any] = {
            "golden": golden,
            "orders": self._load(self.orders, key, OrderState),
            "finance": self._load(self.finance, key, FinanceState),
        }
        writes: list[Write] = [(self.tables[name], key, None) for name in held]
        writes.append((self.golden, erased_key(key), ErasedMarker(erased_at=now)))
        step = Step()
        refs = reference_keys(message.customer) if key.startswith("customer:") else set()
        if golden is not None and golden.entity is EntityKind.CUSTOMER:
            refs |= reference_keys(golden.ids)
        step.withdrawn = sorted(refs)
        if golden is not None:
            step.commands += anonymise_commands(self.cfg, key, golden, message.anonymise, now)
        what = [f"{name} entry" for name, state in held.items() if state is not None]
        what += [f"reference {ref}" for ref in step.withdrawn]
        what += [f"anonymise in {self.cfg.system(e.role)}" for e in step.commands]
        record = golden.ids if golden is not None else message.customer
        entity = golden.entity if golden is not None else entity_of_key(key)
        step.audits.append(
            erased_audit(key, message.customer, record, entity, what, message.actor, now)
        )
        return step, writes

    def _order(self, key: str) -> OrderState:
        deal = key.removeprefix("deal:")
        if not key.startswith("deal:") or not deal:
            # Routing keys deal messages by their deal; anything else is a stray message.
            raise DecodeError(f"a deal message keyed {key!r} is not a message the sync handles")
        return self._load(self.orders, key, OrderState) or OrderState(deal=deal)

    def _load(self, table: Any, key: str, model: type[M]) -> M | None:
        def stored() -> M | None:
            raw = table.get(key.encode())
            return None if raw is None else model.model_validate_json(raw)

        return self._overlay.get(table.name, key, model, stored)

    # -- output ---------------------------------------------------------------------------
    async def publish(self, step: Step, acks: list[Any]) -> None:
        """Send everything ``step`` produced, adding the futures of the broker's
        acknowledgements to ``acks`` (the batch awaits them together before storing).

        Sent now, not attached to the event (``stream_publish_on_commit``): attached
        messages go out at the next commit, after the step's new state is already in the
        table (RocksDB and its changelog), and a worker killed in between restarts with a
        state saying the order was sent when it never was (the chaos bench lost orders so).
        """
        headers = with_trace_headers()
        for emit in step.commands:
            command = CODEC.encode(emit.command)
            acks.append(await self._enqueue(self.commands[emit.role], emit.key, command, headers))
            system = self.cfg.system(emit.role)
            metrics.COMMANDS_SENT.labels(system, emit.command.schema_subject).inc()
        for audit in step.audits:
            encoded = CODEC.encode(audit)
            key = identity_key(_audit_key(audit), encoded)
            acks.append(await self._enqueue(self.audit, key, encoded, headers))
        for customer in step.customers:
            encoded = CODEC.encode(customer)
            key = customer.ids.crm_id or f"erp:{customer.ids.erp_id}"
            self.views.apply_own(self.ref_customers.get_topic_name(), key, encoded, customer)
            acks.append(await self._enqueue(self.ref_customers, key, encoded, headers))
        for item in step.items:
            encoded = CODEC.encode(item)
            self.views.apply_own(self.ref_items.get_topic_name(), item.sku, encoded, item)
            acks.append(await self._enqueue(self.ref_items, item.sku, encoded, headers))
        for deletion in step.deleted_items:
            # A tombstone: the item leaves every worker's view (and, compacted, the topic).
            self.views.retire_own(self.ref_items.get_topic_name(), deletion)
            tombstone_headers = [*headers, deletion_header(deletion)]
            acks.append(await self._enqueue(self.ref_items, deletion.sku, None, tombstone_headers))
        for ref in step.withdrawn:
            self.views.withdraw_own(self.ref_customers.get_topic_name(), ref)
            acks.append(await self._enqueue(self.ref_customers, ref, None, headers))

    async def _enqueue(
        self,
        topic: Any,
        key: str,
        value: bytes | None,
        headers: list[tuple[str, bytes]] | None = None,
    ) -> Any:
        """Hand a message to the producer now, also from inside an agent (straight to it:
        Faust's ``Topic.send`` adds its own bookkeeping per message); the future of the
        broker's acknowledgement."""
        if headers is None:
            headers = with_trace_headers()
        return await self.app.producer.send(
            topic.get_topic_name(), key.encode(), value, None, None, headers
        )

    @staticmethod
    async def _send(topic: Any, key: str, value: bytes) -> None:
        """Send from outside an agent, acknowledged before returning."""
        delivered = await topic.send(key=key.encode(), value=value, headers=with_trace_headers())
        await delivered

    async def _dead_letter(
        self, value: bytes, event: Any, error: Exception, stage: str, acks: list[Any]
    ) -> None:
        letter = DeadLetter.of(
            payload=value,
            error=error,
            stage=f"streams.{stage}",
            failed_at=datetime.now(UTC),
            origin=MessageOrigin.of(event.message),
            key=None if event.key is None else bytes(event.key),
            reason=_reason(error),
            max_payload_bytes=self.max_dead_letter_payload,
        )
        log.warning("dead letter from streams.%s: %s", stage, letter.reason)
        encoded = CODEC.encode(letter)
        acks.append(
            await self._enqueue(self.dead_letters, identity_key(letter.stage, encoded), encoded)
        )
        metrics.DEAD_LETTERS.labels(letter.stage, letter.error_class).inc()

    async def _unreadable_reference(
        self, record: ConsumerRecord[bytes, bytes], error: DecodeError
    ) -> None:
        """A reference record the views cannot read: dead letter, acknowledged."""
        letter = DeadLetter.of(
            payload=record.value,
            error=error,
            stage="streams.views",
            failed_at=datetime.now(UTC),
            origin=MessageOrigin.of(record),
            key=record.key,
            max_payload_bytes=self.max_dead_letter_payload,
        )
        log.warning("dead letter from streams.views: %s", letter.reason)
        encoded = CODEC.encode(letter)
        await self._send(self.dead_letters, identity_key(letter.stage, encoded), encoded)
        metrics.DEAD_LETTERS.labels(letter.stage, letter.error_class).inc()

    # -- background ----------------------------------------------------------------------
    async def follow_views(self) -> None:
        await self.views.follow()

    async def recheck_loop(self) -> None:
        """Nudge parked deals when the views change (and every interval regardless)."""
        await self.views.ready.wait()
        last = 0.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.views.changed.wait(), self.recheck_interval)
            await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - last)))
            self.views.changed.clear()
            last = time.monotonic()
            statuses = dict.fromkeys(DEAL_STATUS.values(), 0)
            for raw in list(self.orders.values()):
                state = OrderState.model_validate_json(raw)
                if state.status in DEAL_STATUS:
                    statuses[DEAL_STATUS[state.status]] += 1
                if state.status is OrderStatus.WAITING:
                    nudge = RecheckDeal(deal_crm_id=state.deal, at=datetime.now(UTC))
                    await self._send(self.control, deal_key(state.deal), CODEC.encode(nudge))
            for status, count in statuses.items():
                metrics.DEALS.labels(status).set(count)

    async def ledger_loop(self) -> None:
        """Overdue balances change as due dates pass, and renewals come due, with no change
        in the ERP to say so: every interval, each customer (of this worker's partitions)
        whose invoice fell due since its balance was computed, or whose subscription's
        renewal came due without a renewal deal, is sent a :class:`RecheckLedger`, which the
        agent handles in the customer's partition like any ledger change."""
        await self.views.ready.wait()
        while True:
            await asyncio.sleep(self.cfg.ledger_interval.total_seconds())
            now = self.clock()
            for raw in list(self.finance.values()):
                state = FinanceState.model_validate_json(raw)
                today = now.date()
                if balance_stale(state, today) or renewal_due(state, today, self.cfg):
                    nudge = RecheckLedger(customer_erp_id=state.ledger.customer, at=now)
                    key = ledger_key(state.ledger.customer)
                    await self._send(self.control, key, CODEC.encode(nudge))


DEAL_STATUS = {
    OrderStatus.ORDERED: "synced",
    OrderStatus.ORDERING: "ordering",
    OrderStatus.WAITING: "waiting",
    OrderStatus.APPROVAL: "held",
    OrderStatus.REJECTED: "rejected",
}
"""The ``q2c_deals`` status of a won deal's order state (a deal not won is not counted)."""


def _with_source_time(emit: Emit, source_ts: datetime | None) -> Emit:
    """``emit`` with the source time of the change that caused it (``source_ts``: that of
    the message handled). A sales order's cause is the won quote it carries, also when an
    approval or a recheck released it later."""
    command = emit.command
    if isinstance(command, CreateSalesOrder):
        source_ts = command.quote.updated_at
    if command.source_ts is not None or source_ts is None:
        return emit
    return Emit(emit.role, emit.key, command.model_copy(update={"source_ts": source_ts}))


GC_YOUNG_THRESHOLD = 20_000
"""Allocations between two collections of the youngest generation (Python's default: 700).
A batch keeps its decoded messages, states and outputs alive until its checkpoint, so with
the default most of them survive a collection or two and are scanned again and again in the
older generations."""


def _settle_garbage_collection() -> None:
    """Once the worker is up and its join views are read: what exists now (modules, the
    app, the views) lives as long as the process, and is moved out of the collector's
    sight (``gc.freeze``), so a full collection no longer scans it; and the youngest
    generation is collected less often (:data:`GC_YOUNG_THRESHOLD`). Cycles are still
    collected: only how often and over what changes."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, middle, old)


def _reason(error: Exception) -> str:
    """A DecodeError or a rejection says what is wrong; anything else a handler tripped over
    is named."""
    if isinstance(error, DecodeError | Rejected):
        return str(error)
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _audit_key(audit: AuditRecord) -> str:
    return f"{audit.entity}/{audit.record.crm_id or audit.record.erp_id}"


def register(app: faust.App, settings: Settings, cfg: SyncConfig) -> SyncApp:
    return SyncApp(app, settings, cfg)
