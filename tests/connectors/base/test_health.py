"""The connector's web endpoint: alive at once, ready once the parts run, metrics always."""

from __future__ import annotations

import asyncio

import aiohttp

from connectors.base.health import HEALTH, METRICS, READY, serving
from q2c.devstack.procs import free_port


async def test_ready_only_once_the_connector_runs() -> None:
    port = free_port()
    ready = asyncio.Event()
    async with serving("memory", "127.0.0.1", port, ready), aiohttp.ClientSession() as http:
        base = f"http://127.0.0.1:{port}"
        async with http.get(base + HEALTH) as reply:
            assert reply.status == 200
        async with http.get(base + READY) as reply:
            assert reply.status == 503
        async with http.get(base + METRICS) as reply:
            assert 'q2c_connector_running{system="memory"} 0.0' in await reply.text()
        ready.set()
        async with http.get(base + READY) as reply:
            assert reply.status == 200
        async with http.get(base + METRICS) as reply:
            assert reply.content_type == "text/plain"
            assert 'q2c_connector_running{system="memory"} 1.0' in await reply.text()
        async with http.get(base + "/table/golden/") as reply:
            assert reply.status == 404  # nothing but the three routes
