"""`q2c worker` and `q2c status`."""

from __future__ import annotations

import asyncio

import click

from q2c.devstack.stack import StackFiles
from q2c.settings import Settings
from q2c.telemetry import configure_logging, configure_tracing


def resolved_settings() -> Settings:
    """Settings, with the local broker of `q2c dev up` when no bootstrap is configured."""
    settings = Settings()
    if not settings.kafka.bootstrap:
        local = StackFiles(settings.dev.state_dir).load().get("kafka")
        if local:
            settings.kafka.bootstrap = str(local["bootstrap"])
    return settings


@click.command()
@click.option("--loglevel", default=None, help="Overrides Q2C_TELEMETRY__LOG_LEVEL.")
def worker(loglevel: str | None) -> None:
    """Run the q2c stream workers (a Faust worker; scale out by running more).

    Workers with the same app id share the work as one consumer group; table state lives
    under Q2C_WORKER__DATA_DIR and is rebuilt from its changelog topics when lost.
    """
    import faust

    from streams.app import create_app

    settings = resolved_settings()
    if loglevel:
        settings.telemetry.log_level = loglevel
    configure_logging(settings.telemetry)
    configure_tracing(settings.telemetry)
    app = create_app(settings)
    faust.Worker(app, loglevel=settings.telemetry.log_level, quiet=True).execute_from_commandline()


@click.command()
def status() -> None:
    """Show the Kafka cluster q2c is configured for and the topics it holds."""
    from aiokafka.admin import AIOKafkaAdminClient

    settings = resolved_settings()
    if not settings.kafka.bootstrap:
        raise click.ClickException(
            "no Kafka configured: set Q2C_KAFKA__BOOTSTRAP or run `q2c dev up`"
        )

    async def show() -> None:
        admin = AIOKafkaAdminClient(**settings.kafka.client_kwargs())
        await admin.start()
        try:
            topics = sorted(await admin.list_topics())
        finally:
            await admin.close()
        click.echo(f"kafka {settings.kafka.bootstrap}: {len(topics)} topics")
        for topic in topics:
            if not topic.startswith("__"):
                click.echo(f"  {topic}")

    asyncio.run(show())
