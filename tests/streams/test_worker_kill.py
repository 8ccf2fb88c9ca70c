"""A sync worker SIGKILLed again and again while it works loses nothing: every won deal
gets its order command, every account its upsert (a repeat is possible and is absorbed by
the sinks' natural-key look-ups)."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime

import pytest

from schemas import (
    CommandResult,
    Contract,
    CreateSalesOrder,
    EntityKind,
    ExternalIds,
    Outcome,
    UpsertCustomer,
)
from schemas.changes import SystemRole
from tests.plugins.worker import WorkerProcess
from tests.streams.factories import change, customer, item, line, quote
from tests.streams.kafka_io import Collector, produce

pytestmark = pytest.mark.integration
DEALS = 40


async def test_nothing_is_lost_when_the_worker_is_killed(
    kafka_bootstrap: str, sync_worker: WorkerProcess
) -> None:
    topics = sync_worker.topics
    await produce(
        kafka_bootstrap,
        topics.changes,
        [("item/W-1", change(item("W-1", "100.00"), SystemRole.ERP))],
    )
    results: list[tuple[str, Contract]] = [
        (
            f"customer:acc-{i}",
            CommandResult(
                idempotency_key=f"k{i}",
                command="upsert_customer",
                target_system="tryton",
                entity=EntityKind.CUSTOMER,
                outcome=Outcome.CREATED,
                ids=ExternalIds(crm_id=f"acc-{i}", erp_id=str(100 + i)),
                completed_at=datetime.now(UTC),
            ),
        )
        for i in range(DEALS)
    ]
    customers: list[tuple[str, Contract]] = [
        (f"c{i}", change(customer(f"acc-{i}", name=f"Co {i}"), SystemRole.CRM))
        for i in range(DEALS)
    ]
    deals: list[tuple[str, Contract]] = []
    for i in range(DEALS):
        won = quote(line(1, "W-1", "1", "100.00"), crm_id=f"deal-{i}")
        linked = won.model_copy(update={"customer": ExternalIds(crm_id=f"acc-{i}")})
        deals.append((f"d{i}", change(linked, SystemRole.CRM)))

    async with Collector(kafka_bootstrap, topics.commands("tryton")) as out:
        sync_worker.start()
        # Every account is created in the ERP first (the sink's results come back) ...
        await produce(kafka_bootstrap, topics.changes, customers)
        async with asyncio.timeout(120):
            while len({c.customer.ids.crm_id for c in out.of(UpsertCustomer)}) < DEALS:
                await out.poll()
        await produce(kafka_bootstrap, topics.results("tryton"), results)
        # ... then each account's deal is won, while the worker is killed again and again.
        kills = 0
        for chunk in range(0, DEALS, 10):
            await produce(kafka_bootstrap, topics.changes, deals[chunk : chunk + 10])
            await asyncio.sleep(1.5)  # let it get going, then pull the plug mid-work
            sync_worker.kill()
            kills += 1
            sync_worker.start()
        try:
            async with asyncio.timeout(180):
                while len({c.reference for c in out.of(CreateSalesOrder)}) < DEALS:
                    await out.poll()
        except TimeoutError:
            got = {c.reference for c in out.of(CreateSalesOrder)}
            missing = sorted({f"deal-{i}" for i in range(DEALS)} - got)
            raise AssertionError(f"no order for {missing}") from None
    orders = Counter(c.reference for c in out.of(CreateSalesOrder))
    assert kills == DEALS // 10
    assert set(orders) == {f"deal-{i}" for i in range(DEALS)}
    # Every repeat carries the same idempotency key as the first: a sink sees the same command.
    for reference in orders:
        keys = {c.idempotency_key for c in out.of(CreateSalesOrder) if c.reference == reference}
        assert len(keys) == 1
