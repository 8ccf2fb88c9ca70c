"""The admin API's erasure route without a broker: behind the admin token, parameters
checked, and a broker that does not answer is a 503 with the reason (the erasure itself is
tested on the real broker in tests/integration/test_erasure_topics.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from q2c.console.erasure_api import erase_route
from q2c.core.settings import KafkaSettings, Settings
from streams.config import SyncConfig
from streams.web_guard import admin_guard

TOKEN = "erase-token"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
async def client() -> AsyncIterator[TestClient[web.Request, web.Application]]:
    settings = Settings(kafka=KafkaSettings(bootstrap="127.0.0.1:9", topic_prefix="x"))
    app = web.Application(middlewares=[admin_guard(SecretStr(TOKEN))])
    app.router.add_routes([erase_route(settings, SyncConfig())])
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


async def test_erasure_needs_the_admin_token(
    client: TestClient[web.Request, web.Application],
) -> None:
    refused = await client.post("/admin/erase/customer/acc-1")
    assert refused.status == 401
    wrong = await client.post(
        "/admin/erase/customer/acc-1", headers={"Authorization": "Bearer nope"}
    )
    assert wrong.status == 401


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ({"system": "hr"}, "system is crm or erp"),
        ({"anonymise": "maybe"}, "anonymise is true or false"),
    ],
)
async def test_bad_parameters_are_refused_with_the_reason(
    client: TestClient[web.Request, web.Application], query: dict[str, str], error: str
) -> None:
    reply = await client.post("/admin/erase/customer/acc-1", params=query, headers=BEARER)
    assert reply.status == 400
    assert await reply.json() == {"error": error}


async def test_a_broker_that_does_not_answer_is_a_503_with_the_reason(
    client: TestClient[web.Request, web.Application],
) -> None:
    reply = await client.post("/admin/erase/customer/acc-1", headers=BEARER)
    assert reply.status == 503
    assert (await reply.json())["error"].startswith("not done, the broker did not answer")
