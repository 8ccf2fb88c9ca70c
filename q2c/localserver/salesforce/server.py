"""The local Salesforce server: the login host (OAuth token endpoint) and the instance (REST
API, control endpoints) on two ports of 127.0.0.1, so a client that ignores the token
reply's ``instance_url`` fails as it would against a real org.

``running(state_dir)`` starts it in-process and yields a :class:`LocalSalesforce`;
``python -m q2c.localserver.salesforce --state-dir DIR`` runs it as a process. Both write
``DIR/credentials.json`` (mode 0600) once listening."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web

from .changes import ChangeFeed
from .composite import Collections
from .control import ApiUsage, Control, ControlRoutes
from .dml import DuplicateRules, Writer
from .oauth import Sessions, TokenEndpoint
from .org import (
    PRIVATE_KEY_FILE,
    OrgIdentity,
    certificate_public_key,
    load_or_create,
    save,
    write_credentials,
)
from .pubsub import CdcControl, local_pubsub
from .replication import Replication
from .rest import Api
from .settings import ServerSettings
from .store import Store
from .tooling import Tooling

HOST = "127.0.0.1"
# Request bodies up to this size (200 records of an sObject collection fit many times over).
MAX_REQUEST_BYTES = 16 * 1024 * 1024


@dataclass
class LocalSalesforce:
    state_dir: Path
    credentials: dict[str, Any]
    store: Store
    control: Control
    control_routes: ControlRoutes
    """``control_routes.routes`` is where other parts add their ``/_local/`` routes."""
    settings: ServerSettings
    cdc: CdcControl
    """Change Data Capture events on demand (gap, overflow, dropped subscriptions)."""

    @property
    def login_url(self) -> str:
        return str(self.credentials["login_url"])

    @property
    def instance_url(self) -> str:
        return str(self.credentials["instance_url"])


PubSubService = Callable[[LocalSalesforce, int], AbstractAsyncContextManager[str]]
"""Starts the Pub/Sub API server for ``LocalSalesforce`` on a port (0: any free one) and
yields its ``host:port`` while it runs."""


def _bind(port: int, previous: int) -> socket.socket:
    """A listening socket on ``port``; for 0, the previous run's port when it is free (so a
    restart keeps the same URLs), else any free port."""
    for candidate in [port] if port else [previous, 0] if previous else [0]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, candidate))
        except OSError:
            sock.close()
            if candidate == 0 or port:
                raise
            continue
        sock.listen(128)
        sock.setblocking(False)
        return sock
    raise OSError("no port to listen on")


async def _serve(app: web.Application, sock: socket.socket) -> web.AppRunner:
    # A handler held back by the delay control ends within seconds, not the default minute.
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=5)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    return runner


def _prepare(state_dir: Path) -> OrgIdentity:
    state_dir.mkdir(parents=True, exist_ok=True)
    return load_or_create(state_dir)


@asynccontextmanager
async def running(
    state_dir: Path,
    *,
    login_port: int = 0,
    port: int = 0,
    pubsub_port: int = 0,
    feed: ChangeFeed | None = None,
    settings: ServerSettings | None = None,
    pubsub: PubSubService | None = None,
) -> AsyncIterator[LocalSalesforce]:
    """The server, listening until the block ends. ``feed`` receives every committed change;
    ``pubsub`` starts the Pub/Sub API beside the REST API (by default the local one, which
    publishes the store's changes as Change Data Capture events)."""
    settings = settings or ServerSettings()
    # Blocking set-up (the first start makes an RSA key pair) off the event loop.
    identity = await asyncio.to_thread(_prepare, state_dir)
    store = Store(state_dir / "org.sqlite3", feed, quotes=settings.quotes_enabled)
    sessions = Sessions(settings.session_lifetime, identity.org_id)
    usage = ApiUsage(settings.daily_api_requests)
    duplicates = DuplicateRules()
    control = Control(sessions, usage, duplicates, settings.deleted_retention)
    control_routes = ControlRoutes(control, identity.control_token)
    cdc = CdcControl()
    control_routes.routes.extend(cdc.routes())
    if pubsub is None:
        pubsub = local_pubsub(
            cdc,
            keepalive_s=settings.cdc_keepalive.total_seconds(),
            retention_s=settings.cdc_retention.total_seconds(),
        )
    api = Api(store, Writer(store, duplicates), sessions, usage, control, settings)

    instance_sock = _bind(port, identity.instance_port)
    login_sock = _bind(login_port, identity.login_port)
    instance_url = f"http://{HOST}:{instance_sock.getsockname()[1]}"
    login_url = f"http://{HOST}:{login_sock.getsockname()[1]}"
    username = str(store.rows[store.integration_user_id].values["Username"])
    endpoint = TokenEndpoint(
        identity=identity,
        settings=settings,
        sessions=sessions,
        public_key=certificate_public_key(state_dir),
        users={username: store.integration_user_id},
        login_url=login_url,
        instance_url=instance_url,
    )
    login_app = web.Application()
    login_app.add_routes(endpoint.routes())
    instance_app = web.Application(
        middlewares=[control_routes.guard, api.middleware], client_max_size=MAX_REQUEST_BYTES
    )
    instance_app.add_routes(control_routes.routes)
    instance_app.add_routes([control_routes.fallback()])
    instance_app.add_routes(Collections(api).routes())
    instance_app.add_routes(Tooling(api).routes())
    instance_app.add_routes(Replication(api).routes())
    instance_app.add_routes(api.routes())

    runners: list[web.AppRunner] = []
    try:
        runners.append(await _serve(instance_app, instance_sock))
        runners.append(await _serve(login_app, login_sock))
        server = LocalSalesforce(
            state_dir=state_dir,
            credentials={
                "login_url": login_url,
                "instance_url": instance_url,
                "api_version": settings.api_version,
                "org_id": identity.org_id,
                "username": username,
                "consumer_key": identity.consumer_key,
                "private_key_file": str((state_dir / PRIVATE_KEY_FILE).resolve()),
                "client_id": identity.consumer_key,
                "client_secret": identity.client_secret,
                "refresh_token": identity.refresh_token,
                "pubsub_address": None,
                "control_token": identity.control_token,
            },
            store=store,
            control=control,
            control_routes=control_routes,
            settings=settings,
            cdc=cdc,
        )
        identity.instance_port = int(instance_sock.getsockname()[1])
        identity.login_port = int(login_sock.getsockname()[1])
        async with _pubsub(server, pubsub, pubsub_port or identity.pubsub_port) as address:
            if address is not None:
                server.credentials["pubsub_address"] = address
                identity.pubsub_port = int(address.rsplit(":", 1)[1])
            save(state_dir, identity)
            write_credentials(state_dir, server.credentials)
            yield server
    finally:
        for runner in reversed(runners):
            await runner.cleanup()
        instance_sock.close()
        login_sock.close()
        store.close()


@asynccontextmanager
async def _pubsub(
    server: LocalSalesforce, service: PubSubService | None, port: int
) -> AsyncIterator[str | None]:
    if service is None:
        yield None
        return
    async with service(server, port) as address:
        yield address
