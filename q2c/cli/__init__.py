"""The `q2c` command line: one entry point, a sub-command per task."""

from __future__ import annotations

import sys

import click

from connectors.registry import install_secret_patterns
from q2c.cli.connector import connector
from q2c.cli.deadletters import dead_letters
from q2c.cli.dev import dev
from q2c.cli.erase import erase
from q2c.cli.operate import approve, decline, reconcile, replay
from q2c.cli.resync import resync
from q2c.cli.schemas import schemas_group
from q2c.cli.topics import topics_group
from q2c.cli.worker import status, worker
from q2c.core.kafka_access import KafkaAccessError
from q2c.core.telemetry import redact
from q2c.devstack.errors import DevStackError


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="q2c")
def cli() -> None:
    """q2c keeps a CRM and an ERP in step across the quote-to-cash cycle.

    Configuration comes from Q2C_* environment variables (nested with __, e.g.
    Q2C_KAFKA__BOOTSTRAP=broker:9092) and the optional config file named by Q2C_CONFIG.
    """
    install_secret_patterns()


cli.add_command(dev)
cli.add_command(worker)
cli.add_command(status)
cli.add_command(schemas_group)
cli.add_command(connector)
cli.add_command(approve)
cli.add_command(decline)
cli.add_command(replay)
cli.add_command(reconcile)
cli.add_command(dead_letters)
cli.add_command(resync)
cli.add_command(topics_group)
cli.add_command(erase)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except (DevStackError, KafkaAccessError) as exc:
        click.echo(f"q2c: {redact(str(exc))}", err=True)
        sys.exit(1)
