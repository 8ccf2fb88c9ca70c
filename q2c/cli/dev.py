"""`q2c dev`: the local stack on this machine."""

from __future__ import annotations

import click

from q2c.core.settings import Settings
from q2c.devstack import stack


@click.group()
def dev() -> None:
    """Start, stop and show the local stack (a real Kafka broker, the peers, the workers).

    Everything listens on 127.0.0.1; where, and the credentials, are written to
    .q2c/stack.json. q2c's own processes run under a supervisor that restarts whichever
    exits. Downloads are cached under ~/.cache/q2c and reused.
    """


@dev.command()
@click.option(
    "--tryton-db",
    type=click.Choice(["sqlite", "postgresql"]),
    default=None,
    help="Tryton's database (default Q2C_DEV__TRYTON_DB, else sqlite): postgresql runs a "
    "PostgreSQL cluster of the stack's own, for concurrent load; `q2c dev down` first to "
    "switch a running stack.",
)
@click.option(
    "--crm",
    default=None,
    help="The CRM to run (default Q2C_DEV__CRM, else bottlecrm).",
)
@click.option(
    "--erp",
    default=None,
    help="The ERP to run (default Q2C_DEV__ERP, else tryton).",
)
def up(tryton_db: str | None, crm: str | None, erp: str | None) -> None:
    """Install what is missing and start the local stack; safe to run twice.

    The stack runs one CRM and one ERP, each as a local server with its connector;
    `q2c dev down` first to switch a running stack to others."""
    settings = Settings()
    chosen = {"tryton_db": tryton_db, "crm": crm, "erp": erp}
    update = {key: value for key, value in chosen.items() if value is not None}
    if update:
        settings = settings.model_copy(update={"dev": settings.dev.model_copy(update=update)})
    stack.up(settings, click.echo)
    running = stack.StackFiles(settings.dev.state_dir).load()
    if running.get("console_url"):
        click.echo(
            f"console: {running['console_url']} (sign in with the admin token: "
            f"worker.admin_token in {stack.StackFiles(settings.dev.state_dir).stack_json})"
        )
    for line in watch_hint(running):
        click.echo(line)


def watch_hint(running: dict[str, stack.Entry]) -> list[str]:
    """How to watch a deal sync on the stack that is running."""
    crm = running.get("bottlecrm", {}).get("url")
    erp = running.get("tryton", {}).get("url")
    if not (crm and erp):
        return []
    return [
        "",
        "Watch a deal sync:",
        f"  1. In BottleCRM ({crm}, API token in .q2c/stack.json) products arrive from Tryton.",
        "  2. Create an account and a deal with line items, and move the deal to CLOSED_WON.",
        f"  3. Within seconds Tryton ({erp}) has a confirmed sale whose reference is the deal id,",
        "     and the deal's custom fields show q2c_sync_status and the ERP order number.",
        "  4. Post and pay the invoice in Tryton: amounts due and payments show on the deal and",
        "     the account.",
        "  `q2c status --dev` shows what is still in flight; `q2c reconcile --dev` compares both",
        "  systems; held deals are released with `q2c approve DEAL --by NAME --dev` (--dev: the",
        "  commands use this local stack); `q2c dev down` stops all.",
    ]


@dev.command()
def down() -> None:
    """Stop every process `q2c dev up` started."""
    stack.down(Settings(), click.echo)


@dev.command("status")
def dev_status() -> None:
    """Show each local component, where it listens and whether it answers; for the
    supervised q2c processes also their pid, restarts and last error line."""
    lines = stack.describe(Settings())
    if not lines:
        click.echo("the local stack is not running (start it with `q2c dev up`)")
    for line in lines:
        click.echo(line)
