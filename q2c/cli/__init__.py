"""The `q2c` command line: one entry point, a sub-command per task.

A sub-command's module is imported when that sub-command runs (or help lists it), so a
process pays only for what it does: `q2c connector run tryton` loads neither the workers
nor the local stack nor the other connectors.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from connectors.registry import install_secret_patterns
from q2c.core.telemetry import redact
from q2c.devstack.errors import DevStackError

# sub-command name -> "module:attribute"
COMMANDS: dict[str, str] = {
    "dev": "q2c.cli.dev:dev",
    "worker": "q2c.cli.worker:worker",
    "status": "q2c.cli.worker:status",
    "schemas": "q2c.cli.schemas:schemas_group",
    "connector": "q2c.cli.connector:connector",
    "approve": "q2c.cli.operate:approve",
    "decline": "q2c.cli.operate:decline",
    "replay": "q2c.cli.operate:replay",
    "reconcile": "q2c.cli.operate:reconcile",
    "dead-letters": "q2c.cli.deadletters:dead_letters",
    "resync": "q2c.cli.resync:resync",
    "topics": "q2c.cli.topics:topics_group",
    "erase": "q2c.cli.erase:erase",
}


class LazyGroup(click.Group):
    """A group whose sub-commands are imported by name, when first needed."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands and cmd_name in self.lazy:
            module, attribute = self.lazy[cmd_name].split(":")
            command = getattr(importlib.import_module(module), attribute)
            if not isinstance(command, click.Command) or command.name != cmd_name:
                raise TypeError(f"{self.lazy[cmd_name]} is not the {cmd_name!r} command")
            self.add_command(command)
        return super().get_command(ctx, cmd_name)


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="q2c")
def cli() -> None:
    """q2c keeps a CRM and an ERP in step across the quote-to-cash cycle.

    Configuration comes from Q2C_* environment variables (nested with __, e.g.
    Q2C_KAFKA__BOOTSTRAP=broker:9092) and the optional config file named by Q2C_CONFIG.
    """
    install_secret_patterns()


def main() -> None:
    try:
        cli(standalone_mode=True)
    except Exception as exc:
        from q2c.core.kafka_access import KafkaAccessError

        if not isinstance(exc, (DevStackError, KafkaAccessError)):
            raise
        click.echo(f"q2c: {redact(str(exc))}", err=True)
        sys.exit(1)
