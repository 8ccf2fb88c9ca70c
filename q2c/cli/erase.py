"""`q2c erase customer ID`: erase a customer's personal data from q2c (and, as configured or
asked, anonymise it in the CRM and the ERP)."""

from __future__ import annotations

import json

import click

from q2c.cli.resolve import dev_option, resolved_settings
from q2c.core.kafka_access import run_with_kafka


@click.group()
def erase() -> None:
    """Erase personal data (right to erasure)."""


@erase.command(name="customer")
@click.argument("record_id", metavar="ID")
@click.option(
    "--system",
    type=click.Choice(["crm", "erp"]),
    default="crm",
    show_default=True,
    help="Which system's id ID is.",
)
@click.option(
    "--anonymise/--no-anonymise",
    default=None,
    help="Also anonymise the customer and its contacts in the CRM and the ERP "
    "(default: as [sync.erasure] says).",
)
@click.option("--actor", default="cli", show_default=True, help="Who asks, for the audit.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@dev_option
def erase_customer_command(
    record_id: str, system: str, anonymise: bool | None, actor: str, as_json: bool, dev: bool
) -> None:
    """Erase customer ID from every q2c topic and table.

    Its table entries, its contacts', deals' and ledger's are deleted by the worker; every
    record of it on q2c's topics gets a tombstone (its dead letters and audit records a
    redacted copy), which the log cleaner applies after Q2C_KAFKA__ERASURE_LAG_HOURS. Later
    changes of it from the CRM or the ERP are skipped and audited. Running it again erases
    what is left, if anything.
    """
    from q2c.core.settings import load_section
    from schemas.entities import ExternalIds
    from streams.config import SyncConfig
    from streams.erasure import UnknownCustomer, erase_customer

    settings = resolved_settings(dev)
    cfg = load_section(SyncConfig, "sync")
    ids = ExternalIds(crm_id=record_id) if system == "crm" else ExternalIds(erp_id=record_id)
    roles = cfg.erasure.roles(anonymise, anonymise)
    try:
        report = run_with_kafka(
            settings.kafka, lambda: erase_customer(settings, cfg, ids, actor, roles)
        )
    except UnknownCustomer as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report.as_json(), indent=2))
        return
    for line in report.lines():
        click.echo(line)
