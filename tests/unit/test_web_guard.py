"""The admin guard on its own aiohttp app: probes open, every other route (one added later
included) only with the bearer token, compared whole."""

from __future__ import annotations

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from streams.web_guard import admin_guard


async def _ok(request: web.Request) -> web.Response:
    return web.json_response({"path": request.path})


def _app(token: str | None) -> web.Application:
    app = web.Application(middlewares=[admin_guard(SecretStr(token) if token else None)])
    app.router.add_get("/q2c/health", _ok)
    app.router.add_get("/q2c/metrics", _ok)
    app.router.add_get("/admin/dead-letters/{id}", _ok)  # a route nobody marked as guarded
    return app


async def _status(app: web.Application, path: str, auth: str | None = None) -> int:
    async with TestClient(TestServer(app)) as client:
        headers = {"Authorization": auth} if auth is not None else {}
        async with client.get(path, headers=headers) as reply:
            return reply.status


async def test_probes_are_open_and_new_routes_need_the_token() -> None:
    app = _app("s3cret-token")
    assert await _status(app, "/q2c/health") == 200
    assert await _status(app, "/q2c/metrics") == 200
    assert await _status(app, "/admin/dead-letters/1") == 401
    assert await _status(app, "/admin/dead-letters/1", "Bearer s3cret-tok") == 401
    assert await _status(app, "/admin/dead-letters/1", "Bearer s3cret-token-and-more") == 401
    assert await _status(app, "/admin/dead-letters/1", "Basic s3cret-token") == 401
    assert await _status(app, "/admin/dead-letters/1", "Bearer s3cret-token") == 200
    assert await _status(app, "/admin/dead-letters/1", "bearer  s3cret-token ") == 200
    assert await _status(app, "/no/such/route") == 401


async def test_without_a_token_only_the_probes_answer() -> None:
    app = _app(None)
    assert await _status(app, "/q2c/health") == 200
    assert await _status(app, "/admin/dead-letters/1") == 401
    assert await _status(app, "/admin/dead-letters/1", "Bearer ") == 401
    assert await _status(app, "/admin/dead-letters/1", "Bearer None") == 401
