"""Faults and events on demand, for tests and for trying a connector against a bad day:
fail or delay the next API requests, spend the daily allowance, expire every session, turn
duplicate rules on, shorten the recycle bin's retention. Reachable in-process
(``LocalSalesforce.control``) and over HTTP under ``/_local/`` on the instance host with the
``control_token`` bearer token. These endpoints are this local server's own, not Salesforce
API."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from aiohttp import web

from .dml import DuplicateRules
from .errors import SalesforceError
from .oauth import Sessions


@dataclass
class ApiUsage:
    """The org's API requests in the last 24 hours (a rolling window, counted by minute)
    against its allowance."""

    allowance: int
    _minutes: dict[int, int] = field(default_factory=dict)

    @staticmethod
    def _minute() -> int:
        return int(time.time() // 60)

    @property
    def used(self) -> int:
        horizon = self._minute() - 24 * 60
        for minute in [m for m in self._minutes if m <= horizon]:
            del self._minutes[minute]
        return max(sum(self._minutes.values()), 0)

    def spend(self) -> bool:
        """Counts one request; False when the allowance was already spent."""
        if self.used >= self.allowance:
            return False
        minute = self._minute()
        self._minutes[minute] = self._minutes.get(minute, 0) + 1
        return True

    def set_used(self, used: int) -> None:
        """Makes the window's count ``used`` (the difference counts in this minute)."""
        minute = self._minute()
        self._minutes[minute] = self._minutes.get(minute, 0) + used - self.used

    @property
    def remaining(self) -> int:
        return max(self.allowance - self.used, 0)

    def header(self) -> str:
        return f"api-usage={min(self.used, self.allowance)}/{self.allowance}"


@dataclass
class Control:
    sessions: Sessions
    usage: ApiUsage
    duplicates: DuplicateRules
    deleted_retention: timedelta
    _failures: list[int] = field(default_factory=list)
    _delays: list[float] = field(default_factory=list)

    def fail_next(self, count: int, status: int = 503) -> None:
        """The next ``count`` API requests answer ``status`` (500 or 503) without effect."""
        if status not in (500, 502, 503):
            raise ValueError("status must be 500, 502 or 503")
        self._failures.extend([status] * count)

    def delay_next(self, count: int, seconds: float) -> None:
        """The next ``count`` API requests wait ``seconds`` before they are handled."""
        self._delays.extend([seconds] * count)

    def set_remaining(self, remaining: int) -> None:
        """Leaves ``remaining`` API requests in today's allowance."""
        self.usage.set_used(max(self.usage.allowance - remaining, 0))

    def expire_sessions(self) -> None:
        self.sessions.expire_all()

    def detect_duplicates(self, sobject: str, enabled: bool = True) -> None:
        if enabled:
            self.duplicates.objects.add(sobject)
        else:
            self.duplicates.objects.discard(sobject)

    async def before_request(self) -> None:
        """Applies the next queued delay and failure to the request being handled."""
        if self._delays:
            await asyncio.sleep(self._delays.pop(0))
        if self._failures:
            status = self._failures.pop(0)
            if status == 500:
                raise SalesforceError(
                    500,
                    "UNKNOWN_EXCEPTION",
                    "An unexpected error occurred. Please include this ErrorId if you contact "
                    "support: 0000000000-00000 (0000000000)",
                )
            raise SalesforceError(
                status, "SERVER_UNAVAILABLE", "Server is temporarily unavailable; try again."
            )


ControlHandler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ControlRoutes:
    """``/_local/…`` over HTTP; each route takes and returns JSON. Other parts of the local
    server add theirs to ``routes`` before the server starts, or with :meth:`add` at any
    time (served through :meth:`fallback`)."""

    def __init__(self, control: Control, token: str) -> None:
        self.control = control
        self.token = token
        self.routes: list[web.RouteDef] = [
            web.get("/_local", self.about),
            web.post("/_local/faults", self.faults),
            web.post("/_local/delays", self.delays),
            web.post("/_local/limits", self.limits),
            web.post("/_local/sessions/expire", self.expire),
            web.post("/_local/duplicates", self.duplicate_rules),
            web.post("/_local/retention", self.retention),
        ]
        self.handlers: dict[tuple[str, str], ControlHandler] = {}

    def add(self, method: str, path: str, handler: ControlHandler) -> None:
        self.handlers[(method.upper(), path.rstrip("/"))] = handler

    def fallback(self) -> web.RouteDef:
        """The route of the handlers :meth:`add` registers; after ``routes``."""
        return web.route("*", "/_local{tail:.*}", self.dispatch)

    async def dispatch(self, request: web.Request) -> web.StreamResponse:
        handler = self.handlers.get((request.method, request.path.rstrip("/")))
        if handler is None:
            return web.json_response({"error": "no such control endpoint"}, status=404)
        return await handler(request)

    @web.middleware
    async def guard(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith("/_local"):
            return await handler(request)  # type: ignore[no-any-return]
        supplied = request.headers.get("Authorization", "")
        if not hmac.compare_digest(supplied.encode(), f"Bearer {self.token}".encode()):
            return web.json_response(
                {"error": "the control endpoints need the control_token as a bearer token"},
                status=401,
            )
        try:
            return await handler(request)  # type: ignore[no-any-return]
        except (KeyError, TypeError, ValueError) as error:
            return web.json_response({"error": f"bad control request: {error}"}, status=400)

    async def about(self, request: web.Request) -> web.Response:
        del request
        return web.json_response(
            {
                "about": "Control endpoints of the local Salesforce server (not Salesforce API).",
                "routes": sorted(
                    [f"{route.method} {route.path}" for route in self.routes]
                    + [f"{method} {path}" for method, path in self.handlers]
                ),
            }
        )

    async def faults(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.control.fail_next(int(body["count"]), int(body.get("status", 503)))
        return web.json_response({"ok": True})

    async def delays(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.control.delay_next(int(body["count"]), float(body["seconds"]))
        return web.json_response({"ok": True})

    async def limits(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.control.set_remaining(int(body["remaining"]))
        return web.json_response({"remaining": self.control.usage.remaining})

    async def expire(self, request: web.Request) -> web.Response:
        del request
        self.control.expire_sessions()
        return web.json_response({"ok": True})

    async def duplicate_rules(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.control.detect_duplicates(str(body["sobject"]), bool(body.get("enabled", True)))
        return web.json_response({"objects": sorted(self.control.duplicates.objects)})

    async def retention(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.control.deleted_retention = timedelta(seconds=float(body["seconds"]))
        return web.json_response({"ok": True})
