"""The console's routes on the worker's aiohttp server, under ``/q2c/console/``.

Who may see them is decided by the worker's admin guard (:mod:`streams.web_guard`): the
admin token as a bearer header, or in the HttpOnly, SameSite=Strict cookie the sign-in form
sets; changes only from the console's own pages. This module supplies the sign-in form, the
page a refused browser sees, and the pages. Forms post, act, and redirect to a page that
says what happened (POST/redirect/GET), so a reload never repeats an action.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from aiohttp import web
from aiokafka.errors import KafkaError
from pydantic import SecretStr

from connectors.base.errors import ConnectorError
from q2c.console import pages
from q2c.console.markup import PREFIX, Markup, url
from q2c.console.service import Console, ConsoleError
from q2c.core.telemetry import redact
from q2c.deadletter_views import LetterFilter, parse_id, select
from q2c.deadletters import LetterNotFound, RetryRefused
from streams.web_guard import (
    ADMIN_COOKIE,
    REFUSAL_MESSAGES,
    REFUSAL_PAGE,
    Refusal,
    same_origin,
    token_matches,
)


@dataclass(frozen=True)
class ConsoleState:
    console: Console
    token: SecretStr | None


STATE: web.AppKey[ConsoleState] = web.AppKey("q2c_console", ConsoleState)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

_NOT_DONE = (ConsoleError, RetryRefused, LetterNotFound, ValueError)
"""An operator's request refused with a reason: shown on the page, not an error."""
_UNREACHABLE = (ConnectorError, KafkaError, OSError)
"""A peer or the broker that did not answer: the page says which, and to try again."""


def _html(body: Markup, status: int = 200) -> web.Response:
    return web.Response(
        text=body,
        status=status,
        content_type="text/html",
        headers={
            "Cache-Control": "no-store",
            # Pages carry no script and are never framed.
            "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
            "form-action 'self'; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff",
        },
    )


def _see_other(location: str, message: str = "") -> web.Response:
    """A redirect to ``location``, which shows ``message`` (the outcome of an action)."""
    sep = "&" if "?" in location else "?"
    target = f"{location}{sep}{urlencode({'note': message})}" if message else location
    return web.Response(status=303, headers={"Location": target, "Cache-Control": "no-store"})


def safe_next(value: object) -> str:
    """Where to go after signing in: a console page, never another site."""
    text = value if isinstance(value, str) else ""
    inside = text.startswith(f"{PREFIX}/") and "//" not in text and "\\" not in text
    return text if inside else f"{PREFIX}/"


def refusal_page(request: web.Request, why: Refusal) -> web.StreamResponse | None:
    """What a refused request under the console is shown: the sign-in form (status 401)."""
    if not request.path.startswith(f"{PREFIX}/") and request.path != PREFIX:
        return None
    if why is Refusal.OFF:
        return _html(pages.login(REFUSAL_MESSAGES[why], "", can_sign_in=False), 401)
    if why is Refusal.CROSS_SITE:
        return _html(pages.login(REFUSAL_MESSAGES[why], f"{PREFIX}/"), 403)
    message = "That is not the admin token." if why is Refusal.WRONG_TOKEN else ""
    page = request.path_qs if request.method in ("GET", "HEAD") else f"{PREFIX}/"
    return _html(pages.login(message, safe_next(page)), 401)


async def sign_in_form(request: web.Request) -> web.StreamResponse:
    state = request.app[STATE]
    if state.token is None:
        return _html(pages.login(REFUSAL_MESSAGES[Refusal.OFF], "", can_sign_in=False), 401)
    return _html(pages.login("", safe_next(request.query.get("next"))))


async def sign_in(request: web.Request) -> web.StreamResponse:
    """Check the token typed in; on success keep it in the browser's cookie."""
    state = request.app[STATE]
    if state.token is None:
        return _html(pages.login(REFUSAL_MESSAGES[Refusal.OFF], "", can_sign_in=False), 401)
    if not same_origin(request):
        return _html(pages.login(REFUSAL_MESSAGES[Refusal.CROSS_SITE], f"{PREFIX}/"), 403)
    form = await request.post()
    given = form.get("token")
    target = safe_next(form.get("next"))
    if not isinstance(given, str) or not token_matches(given, state.token):
        return _html(pages.login("That is not the admin token.", target), 401)
    response = _see_other(target)
    response.set_cookie(
        ADMIN_COOKIE,
        given,
        path=PREFIX,
        httponly=True,
        samesite="Strict",
        secure=request.secure,
    )
    return response


async def to_overview(request: web.Request) -> web.StreamResponse:
    return _see_other(f"{PREFIX}/")


async def sign_out(request: web.Request) -> web.StreamResponse:
    response = _see_other(f"{PREFIX}/login")
    response.del_cookie(ADMIN_COOKIE, path=PREFIX)
    return response


def _page(render: Callable[[web.Request, Console], Awaitable[Markup]]) -> Handler:
    """A GET page; a peer or the broker not answering is shown, not a bare 500."""

    async def handler(request: web.Request) -> web.StreamResponse:
        console = request.app[STATE].console
        try:
            return _html(await render(request, console))
        except LetterNotFound as exc:
            raise web.HTTPNotFound(text=str(exc)) from None
        except _UNREACHABLE as exc:
            message = f"error: could not read what this page shows: {redact(str(exc))}"
            return _html(pages.unavailable(message), 502)

    return handler


def _action(
    act: Callable[[web.Request, Console], Awaitable[str]], back: Callable[[web.Request], str]
) -> Handler:
    """A POST that does one thing, then redirects to ``back`` saying how it went."""

    async def handler(request: web.Request) -> web.StreamResponse:
        console = request.app[STATE].console
        try:
            done = await act(request, console)
        except _NOT_DONE as exc:
            done = f"error: {exc}"
        except _UNREACHABLE as exc:
            done = f"error: not done, a peer or the broker did not answer: {redact(str(exc))}"
        return _see_other(back(request), done)

    return handler


async def _form(request: web.Request) -> dict[str, str]:
    posted = await request.post()
    return {key: value for key, value in posted.items() if isinstance(value, str)}


def _note(request: web.Request) -> str | None:
    return request.query.get("note")


async def _overview(request: web.Request, console: Console) -> Markup:
    return pages.overview(await console.overview(), _note(request))


async def _deals(request: web.Request, console: Console) -> Markup:
    return pages.deals(await console.deals(), _note(request))


def letter_filter(query: dict[str, str]) -> LetterFilter:
    return LetterFilter(
        stage=query.get("stage", "").strip() or None,
        reason=query.get("reason", "").strip() or None,
        include_handled=query.get("all") == "1",
    )


async def _letters(request: web.Request, console: Console) -> Markup:
    rule = letter_filter(dict(request.query))
    found, handled = await console.letters()
    return pages.letters(select(found, handled, rule), handled, rule, _note(request))


async def _letter(request: web.Request, console: Console) -> Markup:
    ident = request.match_info["letter"]
    try:
        parse_id(ident)
    except ValueError as exc:
        raise web.HTTPNotFound(text=str(exc)) from None
    shown, resolution = await console.letter(ident)
    return pages.letter(shown, resolution, console.topics.dead_letter, _note(request))


async def _reconciliation(request: web.Request, console: Console) -> Markup:
    return pages.reconciliation(console.last_report, _note(request))


async def _approve(request: web.Request, console: Console) -> str:
    deal, form = request.match_info["deal"], await _form(request)
    await console.decide(deal, True, form.get("actor", ""))
    return f"deal {deal}: approved by {form.get('actor', '').strip()}"


async def _decline(request: web.Request, console: Console) -> str:
    deal, form = request.match_info["deal"], await _form(request)
    await console.decide(deal, False, form.get("actor", ""), form.get("reason", ""))
    return f"deal {deal}: declined by {form.get('actor', '').strip()}"


async def _retry_deal(request: web.Request, console: Console) -> str:
    deal = request.match_info["deal"]
    await console.resync_deal(deal)
    return f"deal {deal}: sent through the sync again; reload to see its new status"


async def _retry_letter(request: web.Request, console: Console) -> str:
    ident, form = request.match_info["letter"], await _form(request)
    where = await console.retry_letter(ident, form.get("actor", ""))
    return (
        f"dead letter {ident}: sent again to {where.topic} partition {where.partition} "
        f"offset {where.offset}"
    )


async def _resolve_letter(request: web.Request, console: Console) -> str:
    ident, form = request.match_info["letter"], await _form(request)
    await console.resolve_letter(ident, form.get("actor", ""), form.get("note", ""))
    return f"dead letter {ident}: resolved by {form.get('actor', '').strip()}"


async def _run_reconcile(request: web.Request, console: Console) -> str:
    report = await console.reconcile()
    found = len(report.result.discrepancies)
    return "reconciled: " + (f"{found} discrepancies" if found else "no discrepancy")


def _to(path: str) -> Callable[[web.Request], str]:
    return lambda request: url(path.format(**request.match_info))


def install(web_app: web.Application, console: Console, token: SecretStr | None) -> None:
    """Add the console's routes, and its sign-in form for refused browsers, to ``web_app``."""
    web_app[STATE] = ConsoleState(console, token)
    web_app[REFUSAL_PAGE] = refusal_page
    deal = "/deals/{deal}"
    letter = "/dead-letters/{letter}"
    web_app.router.add_routes(
        [
            web.get(f"{PREFIX}/login", sign_in_form),
            web.post(f"{PREFIX}/login", sign_in),
            web.post(f"{PREFIX}/logout", sign_out),
            web.get(PREFIX, to_overview),
            web.get(f"{PREFIX}/", _page(_overview)),
            web.get(f"{PREFIX}/deals", _page(_deals)),
            web.post(f"{PREFIX}{deal}/approve", _action(_approve, _to("deals"))),
            web.post(f"{PREFIX}{deal}/decline", _action(_decline, _to("deals"))),
            web.post(f"{PREFIX}{deal}/retry", _action(_retry_deal, _to("deals"))),
            web.get(f"{PREFIX}/dead-letters", _page(_letters)),
            web.get(f"{PREFIX}{letter}", _page(_letter)),
            web.post(f"{PREFIX}{letter}/retry", _action(_retry_letter, _to(letter[1:]))),
            web.post(f"{PREFIX}{letter}/resolve", _action(_resolve_letter, _to(letter[1:]))),
            web.get(f"{PREFIX}/reconcile", _page(_reconciliation)),
            web.post(f"{PREFIX}/reconcile/run", _action(_run_reconcile, _to("reconcile"))),
        ]
    )
