"""`q2c dev`: the local stack on this machine."""

from __future__ import annotations

import click

from q2c.devstack import stack
from q2c.settings import Settings


@click.group()
def dev() -> None:
    """Start, stop and show the local stack (a real Kafka broker, the peers, the workers).

    Everything listens on 127.0.0.1; where, and the credentials, are written to
    .q2c/stack.json. Downloads are cached under ~/.cache/q2c and reused.
    """


@dev.command()
def up() -> None:
    """Install what is missing and start the local stack; safe to run twice."""
    stack.up(Settings(), click.echo)


@dev.command()
def down() -> None:
    """Stop every process `q2c dev up` started."""
    stack.down(Settings(), click.echo)


@dev.command("status")
def dev_status() -> None:
    """Show each local component, where it listens and whether it answers."""
    lines = stack.describe(Settings())
    if not lines:
        click.echo("the local stack is not running (start it with `q2c dev up`)")
    for line in lines:
        click.echo(line)
