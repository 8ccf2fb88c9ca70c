"""The BottleCRM client against the real server behind a fault-injecting proxy: reads are
retried through rate limits, errors and dropped connections; creates are sent once."""

from __future__ import annotations

import asyncio
import time

import pytest

from connectors.base import ConnectorError, ErrorKind, RetryPolicy
from connectors.bottlecrm import BottleCrmClient
from connectors.bottlecrm.models import AccountInput
from q2c.devstack.bottlecrm import OrgAccess
from tests.plugins.faults import Fault, FaultProxyFactory

pytestmark = pytest.mark.integration
QUICK = RetryPolicy(max_attempts=4, base_delay=0.01, max_delay=0.05)


async def test_reads_ride_out_rate_limits_errors_and_drops(
    bottlecrm_org: OrgAccess, fault_proxy: FaultProxyFactory
) -> None:
    proxy = await fault_proxy(bottlecrm_org.url)
    async with BottleCrmClient(bottlecrm_org.settings(url=proxy.url), retry=QUICK) as crm:
        account_id = await crm.create_account(AccountInput(name="Sturdy Ltd"))
        proxy.inject(Fault.rate_limited("0.5"), Fault.error(503), Fault.drop())
        started = time.monotonic()
        account = await crm.get_account(account_id)
        assert account.name == "Sturdy Ltd"
        assert time.monotonic() - started >= 0.5  # Retry-After was honoured
    assert [what for method, _, what in proxy.seen if method == "GET"] == [
        "HTTP 429",
        "HTTP 503",
        "dropped",
        "passed",
    ]


async def test_retriable_failures_surface_after_the_last_attempt(
    bottlecrm_org: OrgAccess, fault_proxy: FaultProxyFactory
) -> None:
    proxy = await fault_proxy(bottlecrm_org.url)
    proxy.inject(*[Fault.error(502)] * 4)
    async with BottleCrmClient(bottlecrm_org.settings(url=proxy.url), retry=QUICK) as crm:
        with pytest.raises(ConnectorError) as failed:
            await crm.get_deal("00000000-0000-4000-8000-000000000000")
    assert (failed.value.kind, failed.value.status) == (ErrorKind.RETRIABLE, 502)
    assert len(proxy.seen) == 4


async def test_creates_are_sent_once(
    bottlecrm_org: OrgAccess, fault_proxy: FaultProxyFactory
) -> None:
    proxy = await fault_proxy(bottlecrm_org.url)
    settings = bottlecrm_org.settings(url=proxy.url, timeout=1.0)
    async with BottleCrmClient(settings, retry=QUICK) as crm:
        proxy.inject(Fault.error(503))
        with pytest.raises(ConnectorError) as refused:
            await crm.create_account(AccountInput(name="Never Ltd"))
        assert refused.value.kind is ErrorKind.RETRIABLE

        # A create that times out may still happen: the client does not repeat it, and the
        # record shows up, which is why sinks look records up before creating them.
        proxy.inject(Fault.timeout(delay=1.5))
        with pytest.raises(ConnectorError) as timed_out:
            await crm.create_account(AccountInput(name="Slow Ltd"))
        assert timed_out.value.kind is ErrorKind.RETRIABLE
        await asyncio.sleep(2.0)
        assert [a.name async for a in crm.accounts()] == ["Slow Ltd"]
    assert [(m, what) for m, _, what in proxy.seen if m == "POST"] == [
        ("POST", "HTTP 503"),
        ("POST", "delayed"),
    ]
