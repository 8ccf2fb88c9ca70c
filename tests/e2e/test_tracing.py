"""One trace per change: the change that closes a deal is followed from the CRM poll through
normalize and sync (one hop: the change is keyed by its deal when normalized) to the ERP
sink's call, across four processes."""

from __future__ import annotations

import itertools

import pytest

from bench.traces import Span, TraceCollector
from tests.e2e.conftest import Stack
from tests.e2e.helpers import account_in_both, crm_product, make_item, sale_of, won_deal

pytestmark = pytest.mark.integration

HOPS = [
    "poll bottlecrm",
    "normalize bottlecrm",
    "sync entity_change",
    "apply create_sales_order",
]


async def test_the_trace_of_a_won_deal_covers_every_hop(
    otlp_collector: TraceCollector, stack: Stack
) -> None:
    await make_item(stack, "W-1", "100")
    widget = await crm_product(stack, "W-1")
    account, _ = await account_in_both(stack, "Traced Inc")
    deal = await won_deal(stack, account, [(widget, "1", "100")], "Traced deal")
    await sale_of(stack, deal, ("confirmed", "processing"))

    async def order_trace() -> list[Span] | None:
        applied = [s for s in otlp_collector.spans if s.name == "apply create_sales_order"]
        if not applied:
            return None
        spans = otlp_collector.trace(applied[0].trace_id)
        return spans if {s.name for s in spans} >= set(HOPS) else None

    spans = await stack.eventually(order_trace, "a trace with every hop of the order", 60)
    by_name = {s.name: s for s in spans}
    # Each hop is a child of the previous one, whichever process it ran in.
    for parent, child in itertools.pairwise(HOPS):
        assert by_name[child].parent_id == by_name[parent].span_id, (parent, child)
    assert by_name["poll bottlecrm"].attributes["q2c.record_id"] == deal
    assert by_name["poll bottlecrm"].parent_id == ""  # the change starts the trace
