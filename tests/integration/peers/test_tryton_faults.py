"""The Tryton client and sink behind a fault-injecting proxy in front of the real server:
reads ride out errors, writes are sent once, and the sink's natural-key look-up absorbs
a write whose answer was lost."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from aiohttp import web

from connectors.base import ErrorKind
from connectors.tryton import TrytonClient, TrytonTransportError
from connectors.tryton.sink import TrytonSink
from schemas import Customer, ExternalIds, Outcome, UpsertCustomer, idempotency_key
from tests.plugins.faults import Fault, FaultProxyFactory
from tests.plugins.tryton import TrytonPeer

pytestmark = pytest.mark.integration


def _statuses(seen: list[tuple[str, str, str]]) -> list[str]:
    return [what for _, _, what in seen]


async def test_reads_are_retried_through_errors_drops_and_rate_limits(
    tryton_db: TrytonPeer, fault_proxy: FaultProxyFactory
) -> None:
    proxy = await fault_proxy(tryton_db.server.base_url)
    async with TrytonClient(tryton_db.settings(url=proxy.url)) as client:
        proxy.seen.clear()
        proxy.inject(Fault.error(503), Fault.drop(), Fault.rate_limited("0"), Fault.error(502))
        assert await client.search_count("res.user", [("login", "=", "admin")]) == 1
    assert _statuses(proxy.seen) == ["HTTP 503", "dropped", "HTTP 429", "HTTP 502", "passed"]


async def test_a_write_is_sent_once_and_fails_as_retriable(
    tryton_db: TrytonPeer, fault_proxy: FaultProxyFactory
) -> None:
    proxy = await fault_proxy(tryton_db.server.base_url)
    async with TrytonClient(tryton_db.settings(url=proxy.url)) as client:
        proxy.seen.clear()
        proxy.inject(Fault.error(503))
        with pytest.raises(TrytonTransportError) as raised:
            await client.create("party.party", [{"name": "Once Ltd"}])
        assert raised.value.kind is ErrorKind.RETRIABLE
        assert raised.value.status == 503
        assert _statuses(proxy.seen) == ["HTTP 503"]
        assert await client.search_count("party.party", [("name", "=", "Once Ltd")]) == 0


class _Nth:
    """A proxy rule: ``fault`` for the ``n``-th request from now (1-based), then none."""

    def __init__(self, n: int, fault: Fault) -> None:
        self.left, self.fault = n, fault

    def __call__(self, request: web.Request) -> Fault | None:
        self.left -= 1
        return self.fault if self.left == 0 else None


async def test_a_lost_answer_to_a_write_does_not_duplicate_the_customer(
    tryton_db: TrytonPeer, fault_proxy: FaultProxyFactory
) -> None:
    proxy = await fault_proxy(tryton_db.server.base_url)
    now = datetime.now(UTC)
    command = UpsertCustomer(
        idempotency_key=idempotency_key("faults", "ACC-77"),
        target_system="tryton",
        issued_at=now,
        customer=Customer(ids=ExternalIds(crm_id="ACC-77"), name="Slow Answer Inc", updated_at=now),
    )
    async with TrytonClient(tryton_db.settings(url=proxy.url, timeout=1.5)) as client:
        sink = TrytonSink(client)
        # The sink searches by CRM id (request 1), then creates (request 2): the create is
        # held past the client's patience and then reaches Tryton: applied, unanswered.
        proxy.rule = _Nth(2, Fault.timeout(3.0))
        with pytest.raises(TrytonTransportError) as raised:
            await sink.apply(command)
        assert raised.value.retriable
        await asyncio.sleep(2.5)
        proxy.rule = None
        assert await client.search_count("party.party", [("name", "=", "Slow Answer Inc")]) == 1
        # The runner retries the whole command: the look-up finds the party Tryton made.
        again = await sink.apply(command)
        assert again.outcome is Outcome.UNCHANGED
        assert await client.search_count("party.party", [("name", "=", "Slow Answer Inc")]) == 1
