"""The worker's scheduled reconcile on the real peers: with Q2C_WORKER__RECONCILE_INTERVAL
set, a deal q2c rejected is counted in the explained gauges and shown as the console's last
report, though nobody pressed Run now; no run failed."""

from __future__ import annotations

import aiohttp
import pytest

from connectors.bottlecrm.models import ProductInput
from tests.e2e.conftest import Stack
from tests.e2e.helpers import account_in_both, deal_fields, won_deal
from tests.metrics_text import Samples, parse_samples

pytestmark = pytest.mark.integration


async def _get(url: str, token: str | None = None) -> str:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with aiohttp.ClientSession() as session, session.get(url, headers=headers) as reply:
        assert reply.status == 200
        return await reply.text()


@pytest.mark.q2c_env(Q2C_SYNC__POLICY='{"max_wait": "PT10S"}', Q2C_WORKER__RECONCILE_INTERVAL="2")
async def test_the_worker_reconciles_on_its_interval_and_exports_what_it_found(
    stack: Stack,
) -> None:
    account, _ = await account_in_both(stack, "Reconciled Ltd")
    missing = await stack.crm.create_product(ProductInput(name="Item R-404", sku="R-404", price=5))
    deal = await won_deal(stack, account, [(missing, "2", "5")], "Unmatched")
    await deal_fields(stack, deal, q2c_sync_status="rejected")

    async def counted() -> Samples | None:
        samples = parse_samples(await _get(f"{stack.worker.url}/q2c/metrics"))
        rejected = samples.total("q2c_reconcile_explained", section="rejected")
        return samples if rejected == 1 else None

    samples = await stack.eventually(counted, "the scheduled reconcile's rejected deal")
    assert samples.total("q2c_reconcile_last_run_timestamp_seconds") > 0
    assert samples.total("q2c_reconcile_failures_total") == 0
    page = await _get(
        f"{stack.worker.url}/q2c/console/reconcile", stack.env["Q2C_WORKER__ADMIN_TOKEN"]
    )
    assert "rejected (1)" in page
    assert deal in page
