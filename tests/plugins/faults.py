"""A fault-injecting HTTP proxy to put in front of a peer (real or documented fake).

Faults are scheduled per request: ``proxy.inject(Fault.status(503), Fault.drop())`` makes
the next two requests fail that way; later requests pass through to the upstream. A
``rule`` can instead select which requests fail (e.g. only POSTs to one path).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

_HOP_HEADERS = frozenset(
    {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "content-encoding"}
)


@dataclass(frozen=True)
class Fault:
    kind: str
    status: int = 0
    retry_after: str | None = None
    delay: float = 0.0

    @classmethod
    def error(cls, status: int = 503) -> Fault:
        return cls("status", status=status)

    @classmethod
    def rate_limited(cls, retry_after: str = "1") -> Fault:
        return cls("status", status=429, retry_after=retry_after)

    @classmethod
    def timeout(cls, delay: float = 5.0) -> Fault:
        """Hold the request longer than the client waits, then pass it on (it may apply!)."""
        return cls("timeout", delay=delay)

    @classmethod
    def drop(cls) -> Fault:
        """Close the connection without answering."""
        return cls("drop")


@dataclass
class FaultProxy:
    upstream: str
    url: str = ""
    faults: deque[Fault] = field(default_factory=deque)
    rule: Callable[[web.Request], Fault | None] | None = None
    seen: list[tuple[str, str, str]] = field(default_factory=list)
    """(method, path, what happened) for every request."""

    def inject(self, *faults: Fault) -> None:
        self.faults.extend(faults)

    def _fault_for(self, request: web.Request) -> Fault | None:
        if self.rule is not None:
            chosen = self.rule(request)
            if chosen is not None:
                return chosen
        return self.faults.popleft() if self.faults else None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        fault = self._fault_for(request)
        body = await request.read()
        if fault is not None and fault.kind == "status":
            self.seen.append((request.method, request.path, f"HTTP {fault.status}"))
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return web.json_response(
                {"error": f"injected {fault.status}"}, status=fault.status, headers=headers
            )
        if fault is not None and fault.kind == "drop":
            self.seen.append((request.method, request.path, "dropped"))
            if request.transport is not None:
                request.transport.close()
            raise asyncio.CancelledError
        if fault is not None and fault.kind == "timeout":
            self.seen.append((request.method, request.path, "delayed"))
            await asyncio.sleep(fault.delay)
        else:
            self.seen.append((request.method, request.path, "passed"))
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP_HEADERS}
        async with (
            aiohttp.ClientSession() as session,
            session.request(
                request.method,
                self.upstream + request.path_qs,
                data=body,
                headers=headers,
                allow_redirects=False,
            ) as reply,
        ):
            payload = await reply.read()
            out = {k: v for k, v in reply.headers.items() if k.lower() not in _HOP_HEADERS}
            return web.Response(status=reply.status, body=payload, headers=out)


FaultProxyFactory = Callable[[str], Awaitable[FaultProxy]]


@pytest.fixture
async def fault_proxy() -> AsyncIterator[FaultProxyFactory]:
    """``proxy = await fault_proxy(upstream_url)``; point the client at ``proxy.url``."""
    runners: list[web.AppRunner] = []

    async def start(upstream: str) -> FaultProxy:
        proxy = FaultProxy(upstream.rstrip("/"))
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", proxy.handle)
        runner = web.AppRunner(app, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        proxy.url = f"http://127.0.0.1:{port}"
        return proxy

    yield start
    for runner in runners:
        await runner.cleanup()
