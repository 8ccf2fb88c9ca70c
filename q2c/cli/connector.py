"""`q2c connector`: run the connectors of the peer systems, and set their systems up."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click
from pydantic import ValidationError

from q2c.cli.connector_map import map_document
from q2c.cli.resolve import dev_option, missing_settings, peer_defaults, resolved_settings
from q2c.core.kafka_access import run_with_kafka
from q2c.core.settings import Settings
from q2c.core.telemetry import configure_logging, configure_tracing
from q2c.core.topics import Topics

if TYPE_CHECKING:
    from connectors.base.spec import ConnectorSpec


@click.group()
def connector() -> None:
    """Connectors move changes between a system and Kafka.

    A connector reads its system's changes (polling from a cursor kept in Kafka, or
    webhooks), maps them to canonical entities, and applies the commands addressed to its
    system. Each system's settings come from its config-file section and Q2C_<SYSTEM>__*
    variables (e.g. Q2C_TRYTON__URL); with --dev, over what `q2c dev up` recorded for the
    local peers.
    """


connector.add_command(map_document)


@connector.command("list")
def list_connectors() -> None:
    """The systems q2c has connectors for, with the role each plays and what it does."""
    from connectors.registry import specs

    for spec in specs():
        click.echo(f"{spec.name:<12} {spec.role.value.upper():<4} {spec.description}".rstrip())


def _spec(system: str) -> ConnectorSpec[Any]:
    from connectors.registry import spec

    try:
        return spec(system)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None


@connector.command()
@click.argument("system")
@click.option("--source/--no-source", default=True, help="Read the system's changes.")
@click.option("--sink/--no-sink", default=True, help="Apply commands to the system.")
@dev_option
def run(system: str, source: bool, sink: bool, dev: bool) -> None:
    """Run the connector of SYSTEM until SIGTERM or Ctrl-C.

    --no-sink runs the source (with its webhook receiver) and the normalizer: one such
    process per system, as it owns the source's cursors. --no-source runs the sink alone;
    any number share its consumer group. With Q2C_CONNECTOR__WEB_PORT set, /q2c/health,
    /q2c/ready and /q2c/metrics are served on Q2C_CONNECTOR__WEB_HOST.
    """
    from connectors.base.health import serving
    from connectors.base.runtime import run_connector
    from q2c.core.kafka_admin import ensure_q2c_topics

    spec = _spec(system)
    settings = resolved_settings(dev)
    configure_logging(settings.telemetry)
    configure_tracing(settings.telemetry)
    defaults = peer_defaults(settings, system, dev)

    async def main() -> None:
        stop = asyncio.Event()
        ready = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        web = settings.connector
        async with serving(system, web.web_host, web.web_port, ready):
            try:
                parts = await spec.build(settings, defaults)
            except ValidationError as exc:
                raise missing_settings(system, exc) from None
            try:
                await ensure_q2c_topics(settings, [system])
            except BaseException:
                if parts.close is not None:
                    await parts.close()
                raise
            await run_connector(
                parts,
                settings.kafka.client_kwargs(),
                Topics(settings.kafka.topic_prefix),
                stop,
                source=source,
                sink=sink,
                ready=ready,
                dead_letters=settings.dead_letters,
            )

    run_with_kafka(settings.kafka, main)


@connector.command()
@click.argument("system")
@click.option(
    "--webhook-url",
    help="bottlecrm: the public URL of the connector's webhook receiver, to subscribe.",
)
@click.option(
    "--secret-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="bottlecrm: where a newly minted webhook secret is written (mode 0600).",
)
@click.option(
    "--rotate-secret", is_flag=True, help="bottlecrm: mint a new secret for the existing webhook."
)
@dev_option
def setup(
    system: str, webhook_url: str | None, secret_file: Path | None, rotate_secret: bool, dev: bool
) -> None:
    """Make what SYSTEM needs before q2c syncs with it; safe to run again.

    bottlecrm: q2c's custom fields, and with --webhook-url the webhook subscription.
    BottleCRM shows a webhook's secret only when it is made: the first run needs
    --secret-file, and the secret then goes in Q2C_BOTTLECRM__WEBHOOK_SECRET; later runs
    check the configured secret against the webhook's. tryton: checks the company, the
    currency, the unit and the product category q2c uses (nothing is created).
    """
    from connectors.base.errors import ConnectorError
    from connectors.base.spec import SetupOptions

    spec = _spec(system)
    if rotate_secret and secret_file is None:
        raise click.BadParameter("--rotate-secret needs --secret-file", param_hint="--secret-file")
    settings = Settings()
    configure_logging(settings.telemetry)
    defaults = peer_defaults(settings, system, dev)
    options = SetupOptions(
        webhook_url=webhook_url, secret_file=secret_file, rotate_secret=rotate_secret
    )
    try:
        lines = asyncio.run(spec.setup(defaults, options))
    except ValidationError as exc:
        raise missing_settings(system, exc) from None
    except ConnectorError as exc:
        raise click.ClickException(exc.describe()) from None
    for line in lines:
        click.echo(line)
