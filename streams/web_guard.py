"""Who may use the worker's web server.

Health, readiness and metrics are open to probes and scrapers. Every other route (Faust's
table views, which return stored golden records, its router and index pages, and any admin
route added later) requires ``Authorization: Bearer <Q2C_WORKER__ADMIN_TOKEN>``; with no
token configured, they are refused. The rule is an aiohttp middleware on the whole web app,
so a new route is behind the token without code of its own: register admin routes with
``app.page(path)`` and add a path to :data:`OPEN_ROUTES` only for what anyone may read.

Browsers present the token in the :data:`ADMIN_COOKIE` cookie instead (HttpOnly,
SameSite=Strict, set by a sign-in form). A cookie is sent by the browser on its own, so a
request that changes something (not GET, HEAD or OPTIONS) authenticated by it must also come
from a page of this server (its Origin, or failing that its Referer): another site's form
cannot post with the operator's cookie. An application may register under
:data:`REFUSAL_PAGE` what a refused request is shown instead of the JSON error (a sign-in
form for a browser); the decision stays here.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from enum import StrEnum
from urllib.parse import urlsplit

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware
from pydantic import SecretStr

LOGIN_ROUTE = "/q2c/console/login"
OPEN_ROUTES = frozenset({"/q2c/health", "/q2c/ready", "/q2c/metrics", LOGIN_ROUTE})
ADMIN_COOKIE = "q2c_admin"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class Refusal(StrEnum):
    OFF = "off"
    NO_TOKEN = "no-token"  # noqa: S105 (a name, not a secret)
    WRONG_TOKEN = "wrong-token"  # noqa: S105
    CROSS_SITE = "cross-site"


REFUSAL_MESSAGES = {
    Refusal.OFF: "admin routes are off: no Q2C_WORKER__ADMIN_TOKEN is configured",
    Refusal.NO_TOKEN: "a valid bearer token is required",
    Refusal.WRONG_TOKEN: "a valid bearer token is required",
    Refusal.CROSS_SITE: "a change must come from a page of this server (Origin or Referer)",
}


RefusalPage = Callable[[web.Request, Refusal], web.StreamResponse | None]
REFUSAL_PAGE: web.AppKey[RefusalPage] = web.AppKey("q2c_refusal_page")

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="q2c"'}


def _route_of(request: web.Request) -> str | None:
    # The route the router matched, not the raw path: "/q2c//health" or an encoded path
    # cannot pass for an open route while reaching another handler.
    resource = request.match_info.route.resource
    return resource.canonical if resource is not None else None


def bearer_token(request: web.Request) -> str | None:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def token_matches(given: str | None, token: SecretStr | None) -> bool:
    """Whether ``given`` is the admin token, compared in constant time."""
    if given is None or token is None:
        return False
    return hmac.compare_digest(given.encode(), token.get_secret_value().encode())


def same_origin(request: web.Request) -> bool:
    """Whether the page that sent ``request`` is one of this server's (Origin, else Referer)."""
    own = f"{request.scheme}://{request.host}"
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin == own
    referer = urlsplit(request.headers.get("Referer", ""))
    return bool(referer.netloc) and f"{referer.scheme}://{referer.netloc}" == own


def refusal(request: web.Request, token: SecretStr | None) -> Refusal | None:
    """Why ``request`` may not reach an admin route, or None when it may."""
    if token is None:
        return Refusal.OFF
    given = bearer_token(request)
    if given is not None:
        # A header a browser never adds by itself: no cross-site concern.
        return None if token_matches(given, token) else Refusal.WRONG_TOKEN
    cookie = request.cookies.get(ADMIN_COOKIE)
    if not cookie:
        return Refusal.NO_TOKEN
    if not token_matches(cookie, token):
        return Refusal.WRONG_TOKEN
    if request.method not in SAFE_METHODS and not same_origin(request):
        return Refusal.CROSS_SITE
    return None


def admin_guard(token: SecretStr | None) -> Middleware:
    """A middleware letting :data:`OPEN_ROUTES` through and the rest only with ``token``."""

    @web.middleware
    async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
        if _route_of(request) in OPEN_ROUTES:
            return await handler(request)
        why = refusal(request, token)
        if why is None:
            return await handler(request)
        page = request.config_dict.get(REFUSAL_PAGE)
        shown = page(request, why) if page is not None else None
        if shown is not None:
            return shown
        status = 403 if why is Refusal.CROSS_SITE else 401
        return web.json_response(
            {"error": REFUSAL_MESSAGES[why]}, status=status, headers=_CHALLENGE
        )

    return guard
