"""NetSuite's failures end consistent: with the account's concurrency limit below q2c's
(429 CONCURRENCY_LIMIT_EXCEEDED), 5xx answers, and a write NetSuite applied whose answer
was lost, every deal closed won is still exactly one sales order, synced back to the CRM.
The lost answer is absorbed by the external-id upsert (or, in async mode, by the
idempotency key, which finds the job the first request started)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from q2c.devstack.bottlecrm import OrgAccess
from tests.e2e.helpers import crm_product, deal_fields
from tests.e2e.netsuite_stack import (
    NetSuiteStack,
    account_in_both,
    make_item,
    netsuite_stack,
    order_of,
    orders_of,
    won_deal,
)
from tests.plugins.netsuite import NetSuitePeer

pytestmark = pytest.mark.integration


@pytest.fixture(params=[False, True], ids=["upsert", "async"])
async def stack(
    request: pytest.FixtureRequest,
    kafka_bootstrap: str,
    netsuite_peer: NetSuitePeer,
    bottlecrm_org: OrgAccess,
    tmp_path: Path,
) -> AsyncIterator[NetSuiteStack]:
    extra = {
        "Q2C_NETSUITE__CONCURRENCY": "6",
        "Q2C_NETSUITE__ASYNC_WRITES": "true" if request.param else "false",
    }
    async with netsuite_stack(
        kafka_bootstrap, netsuite_peer, bottlecrm_org, tmp_path, extra
    ) as made:
        yield made


async def test_faults_end_consistent(stack: NetSuiteStack) -> None:
    await make_item(stack, "F-1", "100")
    product = await crm_product(stack, "F-1")
    account, customer = await account_in_both(stack, "Faulty Corp")
    # The account's limit below q2c's own, and every call slow enough to overlap.
    await stack.peer.control("latency", {"seconds": 0.15})
    await stack.peer.control("concurrency", {"limit": 1})

    await stack.peer.control("drop-next-write", {"count": 1})
    lost = await won_deal(stack, account, product, 2, "Lost answer")
    await stack.peer.control("faults", {"fail_next": 3, "status": 503})
    failed = await won_deal(stack, account, product, 3, "Server errors")
    plain = await won_deal(stack, account, product, 1, "Plain")

    for deal, total in ((lost, 200), (failed, 300), (plain, 100)):
        order = await order_of(stack, deal)
        assert order["entity"] == customer
        assert int(float(order["foreigntotal"])) == total
        await deal_fields(stack, deal, q2c_sync_status="synced", erp_order_number=order["tranid"])
    for deal in (lost, failed, plain):  # still one each once everything settled
        assert len(await orders_of(stack, deal)) == 1, stack.diagnostics()
    stats = await stack.peer.control("stats")
    assert stats["drop_next_writes"] == 0
    assert stats["fail_next"] == 0
    assert stats["refused"] > 0, "the concurrency limit never refused a call"
    assert stats["peak_in_flight"] <= 1
