"""`q2c connector`: run the connectors of the peer systems."""

from __future__ import annotations

import asyncio
import signal

import click

from q2c.cli.worker import resolved_settings
from q2c.devstack.stack import StackFiles
from q2c.kafka_access import run_with_kafka
from q2c.telemetry import configure_logging, configure_tracing
from q2c.topics import Topics


@click.group()
def connector() -> None:
    """Connectors move changes between a system and Kafka.

    A connector reads its system's changes (polling from a cursor kept in Kafka, or
    webhooks), maps them to canonical entities, and applies the commands addressed to its
    system. Each system's settings come from its config-file section and Q2C_<SYSTEM>__*
    variables (e.g. Q2C_TRYTON__URL), over what `q2c dev up` recorded for the local peers.
    """


@connector.command("list")
def list_connectors() -> None:
    """The systems q2c has connectors for."""
    from connectors.registry import CONNECTORS

    for system in sorted(CONNECTORS):
        click.echo(system)


@connector.command()
@click.argument("system")
@click.option("--source/--no-source", default=True, help="Read the system's changes.")
@click.option("--sink/--no-sink", default=True, help="Apply commands to the system.")
def run(system: str, source: bool, sink: bool) -> None:
    """Run the connector of SYSTEM until SIGTERM or Ctrl-C."""
    from connectors.base.runtime import run_connector
    from connectors.registry import builder
    from q2c.kafka_admin import ensure_q2c_topics

    settings = resolved_settings()
    configure_logging(settings.telemetry)
    configure_tracing(settings.telemetry)
    if not settings.kafka.bootstrap:
        raise click.ClickException(
            "no Kafka configured: set Q2C_KAFKA__BOOTSTRAP or run `q2c dev up`"
        )
    try:
        build = builder(system)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    defaults = StackFiles(settings.dev.state_dir).load().get(system, {})

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        await ensure_q2c_topics(settings, [system])
        parts = await build(settings, defaults)
        await run_connector(
            parts,
            settings.kafka.client_kwargs(),
            Topics(settings.kafka.topic_prefix),
            stop,
            source=source,
            sink=sink,
            dead_letters=settings.dead_letters,
        )

    run_with_kafka(settings.kafka, main)
