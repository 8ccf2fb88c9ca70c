"""The sync stores an event's new state only after its outputs were acknowledged.

A worker SIGKILLed after storing a won deal's state ("ordering") but before the broker
acknowledged its sales-order command lost the order: on restart the redelivered change
looked already handled and nothing was sent again (found by `python -m bench chaos`: one
deal of 200 without a sale). Here the broker's acknowledgement never comes; the state must
stay as it was, so the redelivered change sends the order again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import Any

import faust
import pytest
from aiokafka import AIOKafkaConsumer

from q2c.core.settings import KafkaSettings, Settings
from schemas import CODEC, CommandResult, CreateSalesOrder, EntityKind, ExternalIds, Outcome
from schemas.changes import SystemRole
from streams.agents import SyncApp
from streams.batch import Batch, StateWrite
from streams.config import SyncConfig
from streams.handlers.common import Step
from tests.plugins.worker import WorkerProcess
from tests.streams.factories import Delivered, change, customer, item, line, quote
from tests.streams.kafka_io import produce

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


class BrokerGone(Exception):
    """The worker died before the broker acknowledged the step's outputs."""


class KilledBeforeAck(SyncApp):
    """A sync whose sends are never acknowledged; stored states are recorded, not written
    (Faust tables only accept writes inside a running stream)."""

    def __init__(self) -> None:
        settings = Settings(kafka=KafkaSettings(bootstrap="127.0.0.1:9", topic_prefix="t"))
        app = faust.App("q2c-outputs-first", broker="kafka://127.0.0.1:9", store="memory://")
        super().__init__(app, settings, SyncConfig())
        self.published: list[Step] = []
        self.stored: list[StateWrite[Any]] = []

    async def publish(self, step: Step, acks: list[Any]) -> None:
        self.published.append(step)
        refused: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        refused.set_exception(BrokerGone())
        acks.append(refused)

    def store(self, writes: Iterable[StateWrite[Any]]) -> None:
        self.stored.extend(writes)


def orders_sent(steps: list[Step]) -> list[str]:
    commands = [emit.command for step in steps for emit in step.commands]
    return [c.reference for c in commands if isinstance(c, CreateSalesOrder)]


async def handled(sync: SyncApp, event: Delivered, acked: list[Delivered]) -> None:
    """``event`` taken into a batch of its own and checkpointed."""

    async def ack(done: Delivered) -> None:
        acked.append(done)

    batch: Batch[Delivered] = Batch(max_events=10, max_age=1.0)
    batch.add(event, 0.0)
    await sync.take(event, batch, NOW)
    await sync.checkpoint(batch, ack)


async def test_a_won_deal_whose_order_was_not_acknowledged_is_ordered_again() -> None:
    sync = KilledBeforeAck()
    sync.views.apply(CODEC.encode(customer(erp_id="42")))
    sync.views.apply(CODEC.encode(item("W-1", "100.00")))
    won = Delivered(
        b"deal:deal-1", CODEC.encode(change(quote(line(1, "W-1", "2", "100.00")), SystemRole.CRM))
    )
    acked: list[Delivered] = []

    with pytest.raises(BrokerGone):
        await handled(sync, won, acked)
    assert sync.stored == []  # nothing stored: the event is not handled yet
    assert acked == []  # nor acknowledged: its offset is not committed
    assert sync.orders.get(b"deal:deal-1") is None

    # Redelivered after the restart: the order goes out again (the sink finds the sale by
    # reference if the first command did reach Tryton after all).
    with pytest.raises(BrokerGone):
        await handled(sync, won, acked)
    assert orders_sent(sync.published) == ["deal-1", "deal-1"]


async def test_the_state_to_store_follows_the_outputs() -> None:
    sync = KilledBeforeAck()
    sync.views.apply(CODEC.encode(customer(erp_id="42")))
    sync.views.apply(CODEC.encode(item("W-1", "100.00")))
    won = change(quote(line(1, "W-1", "1", "100.00")), SystemRole.CRM)

    step, writes = sync.step("deal:deal-1", won, NOW)
    assert orders_sent([step]) == ["deal-1"]
    ((table, key, state),) = writes
    assert table is sync.orders
    assert key == "deal:deal-1"
    assert state is not None
    assert state.model_dump()["status"] == "ordering"


async def first_record(
    bootstrap: str, topics: list[str], matches: Callable[[str, bytes], bool]
) -> dict[str, int]:
    """The CreateTime (ms) of the first record of each topic that ``matches`` (topic,
    value), read from the real broker until every topic had one."""
    consumer = AIOKafkaConsumer(*topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    found: dict[str, int] = {}
    try:
        async with asyncio.timeout(90):
            while len(found) < len(topics):
                batch = await consumer.getmany(timeout_ms=200)
                for records in batch.values():
                    for record in records:
                        if record.topic not in found and matches(record.topic, record.value or b""):
                            found[record.topic] = record.timestamp
    finally:
        await consumer.stop()
    return found


@pytest.mark.integration
async def test_the_worker_acknowledges_the_order_before_it_stores_the_state(
    kafka_bootstrap: str, sync_worker: WorkerProcess
) -> None:
    """On the real broker: the deal's sales-order command is written before the deal's
    new state reaches the table's changelog (sent at the next commit, after the state, the
    command was lost when the worker died in between)."""
    topics = sync_worker.topics
    changelog = f"{sync_worker.env['Q2C_WORKER__APP_ID']}-orders-changelog"
    sync_worker.start()
    won = change(quote(line(1, "W-1", "2", "100.00"), crm_id="deal-7"), SystemRole.CRM)
    await produce(
        kafka_bootstrap,
        topics.changes,
        [
            ("item:W-1", change(item("W-1", "100.00"), SystemRole.ERP)),
            ("customer:acc-1", change(customer(), SystemRole.CRM)),
        ],
    )
    created = CommandResult(
        idempotency_key="upsert_customer-acc-1",
        command="upsert_customer",
        target_system="tryton",
        entity=EntityKind.CUSTOMER,
        outcome=Outcome.CREATED,
        ids=ExternalIds(crm_id="acc-1", erp_id="42"),
        completed_at=NOW,
    )
    await produce(kafka_bootstrap, topics.results("tryton"), [("customer:acc-1", created)])
    await produce(kafka_bootstrap, topics.changes, [("deal:deal-7", won)])

    def ordered(topic: str, value: bytes) -> bool:
        if topic == changelog:
            return b'"deal-7"' in value and b'"ordering"' in value
        message = CODEC.decode(value)
        return isinstance(message, CreateSalesOrder) and message.reference == "deal-7"

    written = await first_record(kafka_bootstrap, [topics.commands("tryton"), changelog], ordered)
    assert written[topics.commands("tryton")] <= written[changelog]
