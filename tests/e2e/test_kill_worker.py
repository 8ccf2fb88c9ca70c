"""Effectively once under SIGKILL, on the real peers: deals closed won while the worker is
killed three times and each connector once, at fixed points, still become exactly one
confirmed Tryton sale each, and `q2c reconcile` finds nothing to report.

Also: a worker started in place of a killed one says it is ready only once it holds the
partitions (it used to answer ready while it still waited for the dead member to expire).
(`python -m bench chaos` runs the same property at 200 deals with random kill times.)
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from aiokafka.admin import AIOKafkaAdminClient

from schemas import UpsertCustomer
from schemas.changes import SystemRole
from tests.e2e.conftest import Stack
from tests.e2e.helpers import (
    account_in_both,
    crm_product,
    make_item,
    one_confirmed_sale_each,
    won_deal,
)
from tests.plugins.worker import WorkerProcess
from tests.streams.factories import change, customer
from tests.streams.kafka_io import Collector, produce

pytestmark = pytest.mark.integration

DEALS = 12
KILL_WORKER_AFTER = (3, 6, 9)  # deal numbers, 1-based: killed right after its close
KILL_CONNECTOR_AFTER = {4: "tryton", 8: "bottlecrm"}


async def kill_worker(stack: Stack) -> None:
    """SIGKILL the worker once it runs (so each kill interrupts real work), start another
    and go on without waiting for it: deals keep being closed while no worker runs."""
    if stack.worker.proc is not None:
        await asyncio.to_thread(stack.worker.wait_ready)
    await asyncio.to_thread(stack.worker.kill)
    await asyncio.to_thread(stack.worker.start, False)


async def kill_connector(stack: Stack, system: str) -> None:
    connector = stack.connectors[system]
    await asyncio.to_thread(connector.kill)
    connector.start()


async def test_every_won_deal_is_one_sale_through_sigkills(stack: Stack) -> None:
    await make_item(stack, "K-1", "100")
    product = await crm_product(stack, "K-1")
    account, party = await account_in_both(stack, "Kill Corp")

    totals: dict[str, int] = {}  # deal: its sale's total
    for n in range(1, DEALS + 1):
        quantity = n % 3 + 1
        deal = await won_deal(stack, account, [(product, str(quantity), "100")], f"Deal {n}")
        totals[deal] = 100 * quantity
        if n in KILL_WORKER_AFTER:
            await kill_worker(stack)
        if n in KILL_CONNECTOR_AFTER:
            await kill_connector(stack, KILL_CONNECTOR_AFTER[n])
    await asyncio.to_thread(stack.worker.wait_ready)

    await one_confirmed_sale_each(stack, party, totals)
    parties = await stack.erp.search("party.party", [("identifiers.code", "=", account)])
    assert parties == [party]

    checked = await asyncio.to_thread(stack.q2c, "reconcile")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "no discrepancy" in checked.stdout


async def _group(bootstrap: str, group_id: str) -> tuple[str, list[Any]]:
    """The consumer group's state and members, as the broker describes them."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (response,) = await admin.describe_consumer_groups([group_id])
    finally:
        await admin.close()
    (described,) = response.groups
    _error, _group_id, state, _protocol_type, _protocol, members = described[:6]
    return str(state), list(members)


async def test_a_replacement_worker_is_ready_once_it_holds_the_partitions(
    kafka_bootstrap: str, sync_worker: WorkerProcess
) -> None:
    await asyncio.to_thread(sync_worker.start)
    await asyncio.to_thread(sync_worker.kill)
    await asyncio.to_thread(sync_worker.start)  # returns once /q2c/ready answers 200

    state, members = await _group(kafka_bootstrap, sync_worker.env["Q2C_WORKER__APP_ID"])
    assert state == "Stable"
    assert len(members) == 1  # the killed worker's membership has expired; this one holds all

    topics = sync_worker.topics
    async with Collector(kafka_bootstrap, topics.commands("tryton")) as out:
        await produce(
            kafka_bootstrap,
            topics.changes,
            [("customer/acc-1", change(customer(), SystemRole.CRM))],
        )
        upsert = await out.wait_for(UpsertCustomer, lambda c: c.customer.ids.crm_id == "acc-1")
    assert upsert.target_system == "tryton"
