"""The shared HTTP client against a local server: retries, Retry-After, classification,
dropped connections and timeouts, and no secret in any error."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web

from connectors.base import ConnectorError, ErrorKind, HttpClient, RetryPolicy
from tests.plugins.faults import Fault, FaultProxyFactory

SECRET = "s3cr3t-token-value"
FAST = RetryPolicy(max_attempts=5, base_delay=0.01, max_delay=0.05)


@pytest.fixture
async def upstream() -> AsyncIterator[tuple[str, list[str]]]:
    calls: list[str] = []

    async def echo(request: web.Request) -> web.Response:
        calls.append(request.path)
        if request.path == "/invalid":
            return web.json_response(
                {"errors": {"name": ["This field is required."]}, "token": SECRET}, status=400
            )
        if request.path == "/denied":
            return web.json_response({"detail": "Invalid token."}, status=401)
        return web.json_response({"ok": True, "auth": request.headers.get("Authorization")})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", echo)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}", calls
    await runner.cleanup()


ClientFactory = Callable[[str], Awaitable[HttpClient]]


@pytest.fixture
async def client_for() -> AsyncIterator[ClientFactory]:
    clients: list[HttpClient] = []

    async def make(url: str) -> HttpClient:
        client = HttpClient(
            system="peer",
            base_url=url,
            timeout=0.5,
            retry=FAST,
            default_headers={"Authorization": f"Bearer {SECRET}"},
            secrets=(SECRET,),
        )
        clients.append(client)
        return client

    yield make
    for client in clients:
        await client.close()


async def test_transient_failures_are_retried_until_the_call_succeeds(
    upstream: tuple[str, list[str]], fault_proxy: FaultProxyFactory, client_for: ClientFactory
) -> None:
    url, calls = upstream
    proxy = await fault_proxy(url)
    proxy.inject(Fault.error(503), Fault.rate_limited("0.05"), Fault.drop(), Fault.timeout(2.0))
    client = await client_for(proxy.url)
    reply = await client.request("GET", "/records")
    assert reply.status == 200
    assert reply.json()["ok"] is True
    assert [what for _, _, what in proxy.seen] == [
        "HTTP 503",
        "HTTP 429",
        "dropped",
        "delayed",
        "passed",
    ]
    assert calls == ["/records"]


async def test_retriable_errors_give_up_after_the_policy_allows(
    upstream: tuple[str, list[str]], fault_proxy: FaultProxyFactory, client_for: ClientFactory
) -> None:
    proxy = await fault_proxy(upstream[0])
    proxy.inject(*[Fault.error(502)] * 5)
    client = await client_for(proxy.url)
    with pytest.raises(ConnectorError) as failure:
        await client.request("GET", "/records")
    assert failure.value.kind is ErrorKind.RETRIABLE
    assert failure.value.status == 502
    assert len(proxy.seen) == 5


async def test_a_rejected_record_is_skippable_with_the_peers_reason_and_no_secret(
    upstream: tuple[str, list[str]], client_for: ClientFactory
) -> None:
    url, calls = upstream
    client = await client_for(url)
    with pytest.raises(ConnectorError) as failure:
        await client.request("POST", "/invalid", json={"password": SECRET})
    error = failure.value
    assert error.kind is ErrorKind.SKIPPABLE
    assert error.status == 400
    assert "This field is required." in error.detail
    assert SECRET not in str(error)
    assert SECRET not in error.detail
    assert calls == ["/invalid"]  # never retried


async def test_bad_credentials_are_fatal(
    upstream: tuple[str, list[str]], client_for: ClientFactory
) -> None:
    client = await client_for(upstream[0])
    with pytest.raises(ConnectorError) as failure:
        await client.request("GET", "/denied")
    assert failure.value.kind is ErrorKind.FATAL
    assert upstream[1] == ["/denied"]


async def test_a_server_that_is_down_is_retriable(client_for: ClientFactory) -> None:
    from q2c.devstack.procs import free_port

    client = await client_for(f"http://127.0.0.1:{free_port()}")
    with pytest.raises(ConnectorError) as failure:
        await client.request("GET", "/records", retry=RetryPolicy(max_attempts=2, base_delay=0.01))
    assert failure.value.kind is ErrorKind.RETRIABLE
    assert "connection failed" in failure.value.reason


async def test_the_client_repr_shows_no_credentials(client_for: ClientFactory) -> None:
    client = await client_for("http://127.0.0.1:1")
    assert SECRET not in repr(client)
