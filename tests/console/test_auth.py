"""Who reaches the console, on the worker's own guard and routes over a real broker: nobody
when no token is configured; with one, the bearer token or the cookie the sign-in form sets
(HttpOnly, SameSite=Strict); changes by cookie only from the console's own pages."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from q2c.console.routes import install
from q2c.console.service import Console
from q2c.core.settings import KafkaSettings, Settings
from q2c.core.topics import Topics
from streams.config import SyncConfig
from streams.web_guard import ADMIN_COOKIE, admin_guard
from tests.plugins.kafka import create_q2c_topics

pytestmark = pytest.mark.integration

TOKEN = secrets.token_urlsafe(24)


async def _client(
    kafka_bootstrap: str, token: str | None
) -> TestClient[web.Request, web.Application]:
    prefix = f"console{uuid.uuid4().hex[:8]}"
    await create_q2c_topics(kafka_bootstrap, Topics(prefix), "bottlecrm", "tryton")
    secret = SecretStr(token) if token is not None else None
    settings = Settings(kafka=KafkaSettings(bootstrap=kafka_bootstrap, topic_prefix=prefix))
    app = web.Application(middlewares=[admin_guard(secret)])
    install(app, Console(settings, SyncConfig()), secret)
    client = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    return client


@pytest.fixture
async def console(kafka_bootstrap: str) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    client = await _client(kafka_bootstrap, TOKEN)
    yield client
    await client.close()


def _origin(client: TestClient[web.Request, web.Application]) -> str:
    return str(client.make_url("/")).rstrip("/")


async def test_without_a_token_configured_the_console_is_off(kafka_bootstrap: str) -> None:
    client = await _client(kafka_bootstrap, None)
    try:
        for path in ("/q2c/console/", "/q2c/console/deals", "/q2c/console/login"):
            reply = await client.get(path, headers={"Authorization": "Bearer anything"})
            assert reply.status == 401, path
            text = await reply.text()
            assert "Q2C_WORKER__ADMIN_TOKEN" in text
            assert 'name="token"' not in text
        signed = await client.post(
            "/q2c/console/login", data={"token": "x"}, headers={"Origin": _origin(client)}
        )
        assert signed.status == 401
        assert ADMIN_COOKIE not in signed.cookies
    finally:
        await client.close()


async def test_bearer_token_opens_the_pages_and_a_wrong_one_gets_the_form(
    console: TestClient[web.Request, web.Application],
) -> None:
    for headers in ({}, {"Authorization": "Bearer not-it"}, {"Authorization": f"Bearer {TOKEN}x"}):
        reply = await console.get("/q2c/console/dead-letters", headers=headers)
        assert reply.status == 401, headers
        assert 'name="token"' in await reply.text()
    reply = await console.get(
        "/q2c/console/dead-letters", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    assert reply.status == 200
    assert "No dead letter matches." in await reply.text()
    overview = await console.get("/q2c/console/", headers={"Authorization": f"Bearer {TOKEN}"})
    assert overview.status == 200
    assert "Consumer lag" in await overview.text()


async def test_the_sign_in_form_sets_a_strict_httponly_cookie_only_for_the_right_token(
    console: TestClient[web.Request, web.Application],
) -> None:
    origin = {"Origin": _origin(console)}
    wrong = await console.post(
        "/q2c/console/login", data={"token": "guess", "next": "/q2c/console/deals"}, headers=origin
    )
    assert wrong.status == 401
    assert "That is not the admin token." in await wrong.text()
    assert ADMIN_COOKIE not in wrong.cookies

    right = await console.post(
        "/q2c/console/login",
        data={"token": TOKEN, "next": "/q2c/console/dead-letters"},
        headers=origin,
        allow_redirects=False,
    )
    assert right.status == 303
    assert right.headers["Location"] == "/q2c/console/dead-letters"
    cookie = right.cookies[ADMIN_COOKIE]
    assert cookie.value == TOKEN
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Strict"
    assert cookie["path"] == "/q2c/console"

    jar = {ADMIN_COOKIE: TOKEN}
    page = await console.get("/q2c/console/dead-letters", cookies=jar)
    assert page.status == 200
    assert "Dead letters" in await page.text()
    stale = await console.get("/q2c/console/dead-letters", cookies={ADMIN_COOKIE: "old"})
    assert stale.status == 401
    assert "That is not the admin token." in await stale.text()


async def test_changes_by_cookie_must_come_from_the_consoles_own_pages(
    console: TestClient[web.Request, web.Application],
) -> None:
    jar = {ADMIN_COOKIE: TOKEN}
    form = {"actor": "mallory", "note": "closed"}
    action = "/q2c/console/dead-letters/0:0/resolve"
    for headers in ({}, {"Origin": "http://evil.example"}, {"Referer": "http://evil.example/x"}):
        refused = await console.post(action, data=form, cookies=jar, headers=headers)
        assert refused.status == 403, headers
    done = await console.post(
        action,
        data=form,
        cookies=jar,
        headers={"Origin": _origin(console)},
        allow_redirects=False,
    )
    # Accepted, acted on, redirected: there is no such letter, and the page will say so.
    assert done.status == 303
    assert done.headers["Location"].startswith("/q2c/console/dead-letters/0:0?note=error")
    by_bearer = await console.post(
        action, data=form, headers={"Authorization": f"Bearer {TOKEN}"}, allow_redirects=False
    )
    assert by_bearer.status == 303
    login_elsewhere = await console.post(
        "/q2c/console/login", data={"token": TOKEN}, headers={"Origin": "http://evil.example"}
    )
    assert login_elsewhere.status == 403
