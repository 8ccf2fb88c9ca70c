"""The sync stores an event's new state only after its outputs were acknowledged.

A worker SIGKILLed after storing a won deal's state ("ordering") but before the broker
acknowledged its sales-order command lost the order: on restart the redelivered change
looked already handled and nothing was sent again (found by `python -m bench chaos`: one
deal of 200 without a sale). Here the broker's acknowledgement never comes; the state must
stay as it was, so the redelivered change sends the order again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import faust
import pytest

from q2c.settings import KafkaSettings, Settings
from schemas import CODEC, CreateSalesOrder
from schemas.changes import SystemRole
from streams.agents import SyncApp, Write
from streams.config import SyncConfig
from streams.handlers.common import Step
from tests.streams.factories import change, customer, item, line, quote

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
        self.stored: list[Write] = []

    async def publish(self, step: Step) -> None:
        self.published.append(step)
        raise BrokerGone

    def store(self, writes: Iterable[Write]) -> None:
        self.stored.extend(writes)


def orders_sent(steps: list[Step]) -> list[str]:
    commands = [emit.command for step in steps for emit in step.commands]
    return [c.reference for c in commands if isinstance(c, CreateSalesOrder)]


async def test_a_won_deal_whose_order_was_not_acknowledged_is_ordered_again() -> None:
    sync = KilledBeforeAck()
    sync.views.apply(CODEC.encode(customer(erp_id="42")))
    sync.views.apply(CODEC.encode(item("W-1", "100.00")))
    won = change(quote(line(1, "W-1", "2", "100.00")), SystemRole.CRM)

    with pytest.raises(BrokerGone):
        await sync.handle("deal:deal-1", won, NOW)
    assert sync.stored == []  # nothing stored: the event is not handled yet
    assert sync.orders.get(b"deal:deal-1") is None

    # Redelivered after the restart: the order goes out again (the sink finds the sale by
    # reference if the first command did reach Tryton after all).
    with pytest.raises(BrokerGone):
        await sync.handle("deal:deal-1", won, NOW)
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
    assert state.model_dump()["status"] == "ordering"
