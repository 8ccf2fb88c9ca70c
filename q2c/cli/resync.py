"""`q2c resync`: send records through the whole sync again, as their systems have them now."""

from __future__ import annotations

import asyncio

import click

from q2c.cli.resolve import dev_option, missing_settings, peer_defaults, resolved_settings


@click.command()
@click.argument("system", required=False)
@click.argument("entity", required=False)
@click.argument("record_ids", metavar="ID...", nargs=-1)
@click.option(
    "--rejected",
    is_flag=True,
    help="Every deal the CRM shows as rejected by q2c (its q2c_sync_status).",
)
@dev_option
def resync(
    system: str | None,
    entity: str | None,
    record_ids: tuple[str, ...],
    rejected: bool,
    dev: bool,
) -> None:
    """Read records from their system and send them through the sync again.

    `q2c resync SYSTEM ENTITY ID...` reads each record (ENTITY is the system's object, e.g.
    bottlecrm deal, bottlecrm account, tryton product.product) and publishes it as a new
    change, so it is validated and synced as if it had just been edited. `q2c resync
    --rejected` does it for every deal q2c rejected: a deal fixed since (an item created in
    the ERP, a line corrected) goes through without another edit. A record in step changes
    nothing.
    """
    from pydantic import ValidationError

    from q2c.core.settings import load_section
    from q2c.reconcile import read_system
    from q2c.resync import UnknownRecord, rejected_deals, resend, resync_records
    from schemas.changes import SystemRole
    from streams.config import SyncConfig

    settings = resolved_settings(dev)
    if rejected == bool(system):
        raise click.UsageError("give SYSTEM ENTITY ID... or --rejected")
    if system is not None and (entity is None or not record_ids):
        raise click.UsageError("give the ENTITY and at least one ID of the records to resync")

    async def run() -> list[str]:
        if system is not None and entity is not None:
            sent = await resync_records(
                settings, system, peer_defaults(settings, system, dev), entity, record_ids
            )
            return [f"resynced {c.system} {c.object} {c.record_id}" for c in sent]
        cfg = load_section(SyncConfig, "sync")
        crm = await read_system(
            settings, cfg.crm_system, peer_defaults(settings, cfg.crm_system, dev)
        )
        repairs = await resend(settings, {SystemRole.CRM: crm}, rejected_deals(crm))
        lines = [f"resynced {c.system} {c.object} {c.record_id}" for c in repairs.sent]
        return lines or [f"no deal in {cfg.crm_system} is rejected"]

    try:
        lines = asyncio.run(run())
    except ValidationError as exc:  # a ValueError too: its text would show the values
        failed = system or load_section(SyncConfig, "sync").crm_system
        raise missing_settings(failed, exc) from None
    except (UnknownRecord, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    for line in lines:
        click.echo(line)
