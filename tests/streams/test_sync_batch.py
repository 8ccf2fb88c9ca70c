"""Checkpointed batches: the overlay a batch reads its state through, and a batch of the
sync interrupted by a refused output (the worker crashes with it unacknowledged) and taken
again whole after the restart.

The sync's handlers are idempotent by design: a command's idempotency key is derived from
what caused it (the deal, the change's fingerprint), and a state records the fingerprint
of the change it absorbed. A batch handled again from the state stored before it therefore
sends the same commands with the same keys, and the sinks absorb the repeats.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import faust
import pytest

from q2c.core.settings import KafkaSettings, Settings
from schemas import CODEC, CreateSalesOrder
from schemas.changes import EntityChange, SystemRole
from schemas.commands import Command, UpsertCustomer
from schemas.keys import key_of_change
from streams.agents import GC_YOUNG_THRESHOLD, SyncApp, _settle_garbage_collection
from streams.batch import Batch, Overlay, StateWrite
from streams.config import SyncConfig
from streams.handlers.common import Step
from streams.handlers.deals import OrderState, OrderStatus
from streams.handlers.finance import FinanceState
from tests.streams.factories import Delivered, change, customer, item, line, quote

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


class Refused(Exception):
    """The broker refused an output."""


# -- the overlay and the bounds, pure ---------------------------------------------------
def test_the_overlay_reads_the_table_until_the_batch_wrote_the_key() -> None:
    overlay: Overlay[str] = Overlay()
    stored = OrderState(deal="d-1")
    reads: list[str] = []

    def table() -> OrderState:
        reads.append("table")
        return stored

    assert overlay.get("orders", "deal:d-1", OrderState, table) is stored
    ordering = stored.model_copy(update={"status": OrderStatus.ORDERING})
    overlay.put("orders", "deal:d-1", ordering, "event-1")
    assert overlay.get("orders", "deal:d-1", OrderState, table) is ordering
    assert reads == ["table"]
    assert overlay.get("golden", "deal:d-1", OrderState, lambda: None) is None


def test_the_overlay_stores_the_last_state_of_each_key_with_the_event_that_made_it() -> None:
    overlay: Overlay[str] = Overlay()
    overlay.put("orders", "deal:d-1", OrderState(deal="d-1"), "event-1")
    overlay.put("orders", "deal:d-2", OrderState(deal="d-2"), "event-2")
    last = OrderState(deal="d-1", status=OrderStatus.ORDERED)
    overlay.put("orders", "deal:d-1", last, "event-3")
    writes = {(w.table, w.key): (w.state, w.event) for w in overlay.writes()}
    assert len(overlay) == 2
    assert writes[("orders", "deal:d-1")] == (last, "event-3")
    assert writes[("orders", "deal:d-2")] == (OrderState(deal="d-2"), "event-2")


def test_the_overlay_refuses_to_read_a_state_as_another_model() -> None:
    overlay: Overlay[str] = Overlay()
    overlay.put("orders", "deal:d-1", OrderState(deal="d-1"), "event-1")
    with pytest.raises(TypeError, match="holds a OrderState"):
        overlay.get("orders", "deal:d-1", FinanceState, lambda: None)


def test_the_overlay_writes_nothing_for_a_state_returned_as_it_was_read() -> None:
    overlay: Overlay[str] = Overlay()
    stored = OrderState(deal="d-1")
    same = overlay.get("orders", "deal:d-1", OrderState, lambda: stored)
    overlay.put("orders", "deal:d-1", same, "event-1")  # a duplicate: nothing changed
    assert list(overlay.writes()) == []
    equal_copy = stored.model_copy()
    overlay.put("orders", "deal:d-1", equal_copy, "event-2")  # a new state is written
    assert [(w.state, w.event) for w in overlay.writes()] == [(equal_copy, "event-2")]
    overlay.put("orders", "deal:d-1", stored, "event-3")  # back to what the table holds
    assert [(w.state, w.event) for w in overlay.writes()] == [(stored, "event-3")]


def test_a_batch_is_due_by_count_or_age() -> None:
    batch: Batch[str] = Batch(max_events=3, max_age=0.5)
    assert batch.remaining(10.0) is None
    batch.add("a", 10.0)
    batch.add("b", 10.2)
    assert not batch.full()
    assert batch.remaining(10.3) == pytest.approx(0.2)
    assert batch.remaining(11.0) == 0.0
    batch.add("c", 10.4)
    assert batch.full()
    batch.overlay.put("orders", "k", OrderState(deal="k"), "c")
    batch.clear()
    assert len(batch) == 0
    assert len(batch.overlay) == 0
    assert batch.remaining(12.0) is None


# -- the sync, a batch at a time --------------------------------------------------------
class RecordingSync(SyncApp):
    """A sync whose outputs are acknowledged or refused by ``refuses``, with the state it
    stores kept in a dict (Faust tables only accept writes inside a running worker)."""

    def __init__(self) -> None:
        settings = Settings(kafka=KafkaSettings(bootstrap="127.0.0.1:9", topic_prefix="t"))
        app = faust.App("q2c-batch", broker="kafka://127.0.0.1:9", store="memory://")
        super().__init__(app, settings, SyncConfig())
        self.sent: list[Command] = []
        self.stored: dict[tuple[str, str], Any] = {}
        self.refuses: Callable[[Command], bool] = lambda _: False
        self.views.apply(CODEC.encode(customer(erp_id="42")))
        self.views.apply(CODEC.encode(item("W-1", "100.00")))

    async def publish(self, step: Step, acks: list[Any]) -> None:
        for emit in step.commands:
            self.sent.append(emit.command)
            ack: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            if self.refuses(emit.command):
                ack.set_exception(Refused())
            else:
                ack.set_result(None)
            acks.append(ack)

    def store(self, writes: Iterable[StateWrite[Any]]) -> None:
        for write in writes:
            self.stored[(write.table, write.key)] = (write.state, write.event)

    def _load(self, table: Any, key: str, model: Any) -> Any:
        # The state stored by earlier batches, read through the current batch's overlay.
        def stored() -> Any:
            found = self.stored.get((table.name, key))
            return None if found is None else found[0]

        return self._overlay.get(table.name, key, model, stored)


def delivered(message: EntityChange) -> Delivered:
    return Delivered(key_of_change(message).encode(), CODEC.encode(message))


async def run_batch(sync: SyncApp, events: list[Delivered]) -> list[Delivered]:
    """Take ``events`` as one batch and checkpoint it; the events acknowledged."""
    acked: list[Delivered] = []

    async def ack(event: Delivered) -> None:
        acked.append(event)

    batch: Batch[Delivered] = Batch(max_events=len(events), max_age=1.0)
    try:
        for event in events:
            batch.add(event, 0.0)
            await sync.take(event, batch, NOW)
        await sync.checkpoint(batch, ack)
    finally:
        batch.clear()
    return acked


def keys_sent(sync: RecordingSync) -> list[str]:
    return [c.idempotency_key for c in sync.sent]


async def test_a_later_event_of_a_batch_sees_the_state_an_earlier_one_left() -> None:
    sync = RecordingSync()
    first = delivered(change(quote(line(1, "W-1", "2", "100.00")), SystemRole.CRM))
    edited = delivered(change(quote(line(1, "W-1", "3", "100.00")), SystemRole.CRM, minutes=1))

    acked = await run_batch(sync, [first, edited])

    orders = [c for c in sync.sent if isinstance(c, CreateSalesOrder)]
    assert [o.reference for o in orders] == ["deal-1"]  # the edit finds the order under way
    state, event = sync.stored[("orders", "deal:deal-1")]
    assert state.status is OrderStatus.ORDERING
    assert event is edited  # stored once, in the partition of the last event that wrote it
    assert acked == [first, edited]


async def test_a_batch_interrupted_by_a_refused_output_is_taken_again_whole() -> None:
    sync = RecordingSync()
    batch = [
        delivered(change(customer("acc-7", name="Beta AG"), SystemRole.CRM)),
        delivered(change(quote(line(1, "W-1", "2", "100.00")), SystemRole.CRM)),
        delivered(change(customer("acc-8", name="Gamma SA"), SystemRole.CRM)),
    ]
    sync.refuses = lambda command: isinstance(command, CreateSalesOrder)

    with pytest.raises(Refused):
        await run_batch(sync, batch)
    first_attempt = keys_sent(sync)
    assert sync.stored == {}  # nothing stored, nothing acknowledged: the worker crashes
    assert any(isinstance(c, UpsertCustomer) for c in sync.sent)

    # After the restart the whole batch comes again, from the state stored before it: the
    # same commands with the same idempotency keys (the sinks absorb the repeats).
    sync.sent.clear()
    sync.refuses = lambda _: False
    acked = await run_batch(sync, batch)
    assert keys_sent(sync) == first_attempt
    assert acked == batch
    assert sync.stored[("orders", "deal:deal-1")][0].status is OrderStatus.ORDERING
    assert {key for _, key in sync.stored} >= {"customer:acc-7", "customer:acc-8"}

    # Delivered once more (a worker killed after storing, before committing): the stored
    # state absorbs it, nothing is sent again, and no state is written again.
    sync.sent.clear()
    before = dict(sync.stored)
    again = [Delivered(event.key, event.value) for event in batch]
    assert await run_batch(sync, again) == again
    assert sync.sent == []
    assert sync.stored == before
    rewritten = [key for key, (_, event) in sync.stored.items() if any(event is e for e in again)]
    assert rewritten == []


def test_the_worker_settles_the_collector_once_started() -> None:
    threshold = gc.get_threshold()
    try:
        _settle_garbage_collection()
        assert gc.get_threshold() == (GC_YOUNG_THRESHOLD, *threshold[1:])
        assert gc.get_freeze_count() > 0  # what exists at start-up is no longer scanned
        assert gc.isenabled()
    finally:
        gc.unfreeze()
        gc.set_threshold(*threshold)
