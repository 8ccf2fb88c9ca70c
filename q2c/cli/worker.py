"""`q2c worker` and `q2c status`."""

from __future__ import annotations

import click

from q2c.cli.resolve import dev_option, peer_defaults, resolved_settings
from q2c.core.kafka_access import run_with_kafka
from q2c.core.telemetry import configure_logging, configure_tracing

__all__ = ["resolved_settings", "status", "worker"]


@click.command()
@click.option("--loglevel", default=None, help="Overrides Q2C_TELEMETRY__LOG_LEVEL.")
@dev_option
def worker(loglevel: str | None, dev: bool) -> None:
    """Run the q2c stream workers (a Faust worker; scale out by running more).

    Workers with the same app id share the work as one consumer group; table state lives
    under Q2C_WORKER__DATA_DIR and is rebuilt from its changelog topics when lost.
    """
    from q2c.console import register as register_console
    from q2c.core.kafka_admin import ensure_q2c_topics
    from q2c.core.settings import load_section
    from streams.agents import register
    from streams.app import Worker, create_app
    from streams.config import SyncConfig

    settings = resolved_settings(dev)
    if loglevel:
        settings.telemetry.log_level = loglevel
    configure_logging(settings.telemetry)
    configure_tracing(settings.telemetry)
    cfg = load_section(SyncConfig, "sync")
    systems = (cfg.crm_system, cfg.erp_system)
    run_with_kafka(settings.kafka, lambda: ensure_q2c_topics(settings, systems))
    app = create_app(settings)
    register(app, settings, cfg)
    peers = {system: peer_defaults(settings, system, dev) for system in systems}
    register_console(app, settings, cfg, peers)
    Worker(app, loglevel=settings.telemetry.log_level, quiet=True).execute_from_commandline()


@click.command()
@dev_option
def status(dev: bool) -> None:
    """Show the Kafka cluster q2c is configured for, its topics, and how far behind each
    q2c consumer group (workers, normalizers, sinks) is."""
    from aiokafka.admin import AIOKafkaAdminClient

    from q2c.core.kafka_admin import group_lags

    settings = resolved_settings(dev)

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
        prefix = settings.kafka.topic_prefix
        groups = await group_lags(settings.kafka.client_kwargs(), prefix)
        click.echo(f"consumer groups ({prefix}*): messages not yet processed")
        for group, per_topic in groups.items():
            for topic, lag in sorted(per_topic.items()):
                click.echo(f"  {group:<32} {topic:<40} {lag}")

    run_with_kafka(settings.kafka, show)
