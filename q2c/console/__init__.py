"""The operators' web console, served by the worker under ``/q2c/console/`` behind the admin
token: overview, deals, dead letters and reconciliation, on the same functions as the
command line; and the admin API's erasure (``POST /admin/erase/customer/{id}``). With
``Q2C_WORKER__RECONCILE_INTERVAL`` set, the worker also reconciles on that interval
(:mod:`q2c.console.schedule`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faust
from faust.web.drivers.aiohttp import Web

from q2c.console.erasure_api import erase_route
from q2c.console.routes import install
from q2c.console.schedule import ReconcileSchedule
from q2c.console.service import Console
from q2c.core.settings import Settings
from streams.config import SyncConfig


def register(
    app: faust.App,
    settings: Settings,
    cfg: SyncConfig,
    peers: Mapping[str, Mapping[str, Any]] | None = None,
) -> None:
    """Serve the console from ``app``'s (a Faust app's) web server, and reconcile on the
    configured interval."""
    server = app.web
    if not isinstance(server, Web):
        raise TypeError(f"the console needs Faust's aiohttp web server, not {type(server)}")
    console = Console(settings, cfg, peers=peers)
    install(server.web_app, console, settings.worker.admin_token)
    server.web_app.router.add_routes([erase_route(settings, cfg)])
    interval = settings.worker.reconcile_interval
    if interval > 0:
        schedule = ReconcileSchedule(console.reconcile)
        app.timer(interval, name="q2c.reconcile")(schedule.once)
