"""``python -m q2c.localserver.salesforce --state-dir DIR [--login-port 0] [--port 0]
[--pubsub-port 0]``: the local Salesforce server as a process, until SIGINT or SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import signal
from datetime import timedelta
from pathlib import Path

from .server import running
from .settings import ServerSettings


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m q2c.localserver.salesforce")
    parser.add_argument("--state-dir", type=Path, required=True)
    parser.add_argument("--login-port", type=int, default=0)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--pubsub-port", type=int, default=0)
    parser.add_argument("--api-version", default=ServerSettings.api_version)
    parser.add_argument("--daily-api-requests", type=int, default=ServerSettings.daily_api_requests)
    parser.add_argument(
        "--session-seconds",
        type=float,
        default=ServerSettings.session_lifetime.total_seconds(),
    )
    parser.add_argument(
        "--deleted-retention-days",
        type=float,
        default=ServerSettings.deleted_retention.days,
    )
    parser.add_argument(
        "--cdc-keepalive-seconds",
        type=float,
        default=ServerSettings.cdc_keepalive.total_seconds(),
    )
    parser.add_argument(
        "--cdc-retention-hours",
        type=float,
        default=ServerSettings.cdc_retention.total_seconds() / 3600,
    )
    parser.add_argument(
        "--quotes-disabled",
        action="store_true",
        help="an org where quotes are not enabled (no Quote or QuoteLineItem)",
    )
    return parser.parse_args(argv)


async def _main(arguments: argparse.Namespace) -> None:
    settings = ServerSettings(
        api_version=arguments.api_version,
        session_lifetime=timedelta(seconds=arguments.session_seconds),
        daily_api_requests=arguments.daily_api_requests,
        deleted_retention=timedelta(days=arguments.deleted_retention_days),
        cdc_keepalive=timedelta(seconds=arguments.cdc_keepalive_seconds),
        cdc_retention=timedelta(hours=arguments.cdc_retention_hours),
        quotes_enabled=not arguments.quotes_disabled,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with running(
        arguments.state_dir,
        login_port=arguments.login_port,
        port=arguments.port,
        pubsub_port=arguments.pubsub_port,
        settings=settings,
    ) as server:
        print(
            f"Local Salesforce: login {server.login_url}, instance {server.instance_url}, "
            f"Pub/Sub API {server.credentials['pubsub_address']}, "
            f"credentials {arguments.state_dir / 'credentials.json'}",
            flush=True,
        )
        await stop.wait()


def main(argv: list[str] | None = None) -> None:
    asyncio.run(_main(_arguments(argv)))


if __name__ == "__main__":
    main()
