"""Who may use the worker's web server.

Health, readiness and metrics are open to probes and scrapers. Every other route (Faust's
table views, which return stored golden records, its router and index pages, and any admin
route added later) requires ``Authorization: Bearer <Q2C_WORKER__ADMIN_TOKEN>``; with no
token configured, they are refused. The rule is an aiohttp middleware on the whole web app,
so a new route is behind the token without code of its own: register admin routes with
``app.page(path)`` and add a path to :data:`OPEN_ROUTES` only for what anyone may read.
"""

from __future__ import annotations

import hmac

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from pydantic import SecretStr

OPEN_ROUTES = frozenset({"/q2c/health", "/q2c/ready", "/q2c/metrics"})

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="q2c"'}


def _route_of(request: web.Request) -> str | None:
    # The route the router matched, not the raw path: "/q2c//health" or an encoded path
    # cannot pass for an open route while reaching another handler.
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None


def bearer_token(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def admin_guard(token: SecretStr | None) -> Middleware:
    """A middleware letting :data:`OPEN_ROUTES` through and the rest only with ``token``."""
    expected = token.get_secret_value().encode() if token is not None else None

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if _route_of(request) in OPEN_ROUTES:
            return await handler(request)
        if expected is None:
            return web.json_response(
                {"error": "admin routes are off: no Q2C_WORKER__ADMIN_TOKEN is configured"},
                status=401,
                headers=_CHALLENGE,
            )
        given = bearer_token(request)
        if given is None or not hmac.compare_digest(given.encode(), expected):
            return web.json_response(
                {"error": "a valid bearer token is required"}, status=401, headers=_CHALLENGE
            )
        return await handler(request)

    return guard
