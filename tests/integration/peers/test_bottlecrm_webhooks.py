"""BottleCRM's signed webhooks, delivered by the real server to a local receiver."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import orjson
import pytest
from aiohttp import web
from pydantic import SecretStr

from connectors.bottlecrm import BottleCrmClient
from connectors.bottlecrm.models import AccountInput, DealInput
from connectors.bottlecrm.webhooks import (
    EVENT_HEADER,
    SIGNATURE_HEADER,
    InvalidSignature,
    verify_signature,
)
from q2c.devstack import procs
from q2c.devstack.bottlecrm import OrgAccess

pytestmark = pytest.mark.integration


@dataclass
class Receiver:
    url: str
    deliveries: asyncio.Queue[tuple[dict[str, str], bytes]] = field(default_factory=asyncio.Queue)

    async def next(self) -> tuple[dict[str, str], bytes]:
        async with asyncio.timeout(15):
            return await self.deliveries.get()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    port = procs.free_port()
    hooks = Receiver(url=f"http://127.0.0.1:{port}/bottlecrm")

    async def accept(request: web.Request) -> web.Response:
        hooks.deliveries.put_nowait((dict(request.headers), await request.read()))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/bottlecrm", accept)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield hooks
    finally:
        await runner.cleanup()


async def test_signed_webhooks_verify(
    bottlecrm_org: OrgAccess, bottlecrm_client: BottleCrmClient, receiver: Receiver
) -> None:
    crm = bottlecrm_client
    endpoint, secret = await crm.register_webhook(receiver.url, ["account.created", "deal.updated"])
    assert secret.get_secret_value().startswith("whsec_")
    assert [e.id for e in await crm.webhooks()] == [endpoint.id]

    account_id = await crm.create_account(AccountInput(name="Hooked Ltd"))
    headers, body = await receiver.next()
    signed_at = verify_signature(secret, headers[SIGNATURE_HEADER], body, now=time.time())
    assert abs(signed_at - time.time()) < 60
    event = orjson.loads(body)
    assert headers[EVENT_HEADER] == event["event"] == "account.created"
    assert event["data"]["id"] == account_id
    assert event["org_id"] == bottlecrm_org.org_id

    # q2c's own custom-field write fires deal.updated too (the sync must spot its echo);
    # the payload carries no custom fields, so a source re-fetches the deal.
    deal_id = await crm.create_deal(DealInput(name="Hooked deal", account=account_id))
    await crm.write_custom_fields("Opportunity", deal_id, {"erp_order_number": "SO-9"})
    headers, body = await receiver.next()
    verify_signature(secret, headers[SIGNATURE_HEADER], body, now=time.time())
    event = orjson.loads(body)
    assert (event["event"], event["data"]["id"]) == ("deal.updated", deal_id)
    assert "custom_fields" not in event["data"]

    with pytest.raises(InvalidSignature):
        verify_signature(secret, headers[SIGNATURE_HEADER], body + b" ", now=time.time())
    with pytest.raises(InvalidSignature):
        verify_signature(SecretStr("whsec_other"), headers[SIGNATURE_HEADER], body, time.time())
    with pytest.raises(InvalidSignature):
        verify_signature(secret, headers[SIGNATURE_HEADER], body, now=time.time() + 3600)
    with pytest.raises(InvalidSignature):
        verify_signature(secret, None, body, now=time.time())

    await crm.delete_webhook(endpoint.id)
    assert await crm.webhooks() == []
