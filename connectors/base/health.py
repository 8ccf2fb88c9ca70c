"""The connector's web endpoint: health, readiness and Prometheus metrics.

A kubelet (or any supervisor) needs to tell a connector that is alive from one that hangs,
and one that is working from one still starting: ``/q2c/health`` answers while the event
loop runs, ``/q2c/ready`` once the connector's parts are running (503 before), and
``/q2c/metrics`` is the process's ``q2c_*`` metrics in the Prometheus text format. The paths
are the worker's, so one probe configuration fits every q2c container. Nothing else is
served: the endpoint shows no record and no setting.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from q2c.core.metrics import CONNECTOR_RUNNING

HEALTH = "/q2c/health"
READY = "/q2c/ready"
METRICS = "/q2c/metrics"


def app(system: str, ready: asyncio.Event) -> web.Application:
    CONNECTOR_RUNNING.labels(system=system).set_function(lambda: float(ready.is_set()))

    async def health(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def readiness(request: web.Request) -> web.Response:
        if not ready.is_set():
            return web.json_response({"status": "starting"}, status=503)
        return web.json_response({"status": "ready"})

    async def metrics(request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), content_type=CONTENT_TYPE_LATEST.split(";")[0])

    application = web.Application()
    application.router.add_get(HEALTH, health)
    application.router.add_get(READY, readiness)
    application.router.add_get(METRICS, metrics)
    return application


@contextlib.asynccontextmanager
async def serving(
    system: str, host: str, port: int | None, ready: asyncio.Event
) -> AsyncIterator[None]:
    """Serves the endpoint on ``host:port`` while the block runs; nothing when ``port`` is
    None (several connectors on one machine, as in the local stack)."""
    if port is None:
        yield
        return
    runner = web.AppRunner(app(system, ready), access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        yield
    finally:
        await runner.cleanup()
