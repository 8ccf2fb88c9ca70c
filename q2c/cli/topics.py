"""`q2c topics ensure`: create every topic q2c uses, with its configs."""

from __future__ import annotations

import click

from q2c.cli.resolve import dev_option, resolved_settings
from q2c.core.kafka_access import run_with_kafka


@click.group(name="topics")
def topics_group() -> None:
    """The Kafka topics q2c uses (brokers should not create topics on first use)."""


@topics_group.command(name="ensure")
@click.option(
    "--system",
    "systems",
    multiple=True,
    help="A connected system (repeatable); default: the CRM and ERP of the [sync] config.",
)
@dev_option
def ensure_command(systems: tuple[str, ...], dev: bool) -> None:
    """Create the missing topics and set the configured retention and cleanup policy on the
    existing ones. Safe to run any number of times; partition counts are never changed."""
    from q2c.core.kafka_admin import ensure_q2c_topics
    from q2c.core.settings import load_section
    from streams.config import SyncConfig

    settings = resolved_settings(dev)
    if not systems:
        cfg = load_section(SyncConfig, "sync")
        systems = (cfg.crm_system, cfg.erp_system)
    done = run_with_kafka(settings.kafka, lambda: ensure_q2c_topics(settings, systems))
    for name in done.created:
        click.echo(f"created   {name}")
    for name, changes in sorted(done.altered.items()):
        settled = ", ".join(f"{k}={v}" for k, v in sorted(changes.items()))
        click.echo(f"altered   {name}: {settled}")
    for name, partitions in sorted(done.fewer_partitions.items()):
        click.echo(
            f"warning   {name} has {partitions} partitions, fewer than configured "
            f"({settings.kafka.partitions}); not changed, as that would reorder its keys"
        )
    click.echo(
        f"topics: {len(done.created)} created, {len(done.altered)} altered, "
        f"{len(done.unchanged)} unchanged"
    )
