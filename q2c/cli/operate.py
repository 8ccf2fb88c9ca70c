"""Operating commands: approve or decline held deals, replay a topic, reconcile."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import click

from q2c.cli.resolve import dev_option, missing_settings, peer_defaults, resolved_settings
from q2c.core.topics import Topics


def kafka_or_fail(dev: bool = False) -> tuple[dict[str, object], Topics]:
    settings = resolved_settings(dev)
    return settings.kafka.client_kwargs(), Topics(settings.kafka.topic_prefix)


def _decide(deal: str, approved: bool, actor: str, reason: str, dev: bool) -> None:
    from q2c.approvals import decision, send_decision

    kwargs, topics = kafka_or_fail(dev)
    asyncio.run(send_decision(kwargs, topics, decision(deal, approved, actor, reason)))
    click.echo(f"deal {deal}: {'approved' if approved else 'declined'} by {actor}")


@click.command()
@click.argument("deal")
@click.option("--by", "actor", required=True, help="Who approves (kept in the audit trail).")
@click.option("--reason", default="", help="Why, for the audit trail.")
@dev_option
def approve(deal: str, actor: str, reason: str, dev: bool) -> None:
    """Approve DEAL (its CRM id), held for a discount beyond policy: its order goes ahead."""
    _decide(deal, True, actor, reason, dev)


@click.command()
@click.argument("deal")
@click.option("--by", "actor", required=True, help="Who declines (kept in the audit trail).")
@click.option("--reason", default="", help="Shown on the CRM deal.")
@dev_option
def decline(deal: str, actor: str, reason: str, dev: bool) -> None:
    """Decline DEAL, held for approval: it is marked rejected in the CRM with the reason."""
    _decide(deal, False, actor, reason, dev)


@click.command()
@click.option(
    "--group",
    required=True,
    help="Consumer group: the worker app id (q2c), q2c-normalize-SYSTEM or q2c-sink-SYSTEM.",
)
@click.option(
    "--topic", required=True, help="Topic whose offsets move, e.g. q2c.changes or q2c.raw.tryton."
)
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"]),
    help="Restart at the first message at or after this time (UTC unless given).",
)
@click.option("--offset", type=int, help="Restart every partition at this offset.")
@click.option("--apply", is_flag=True, help="Commit the new offsets (without it, only show them).")
@dev_option
def replay(
    group: str, topic: str, since: datetime | None, offset: int | None, apply: bool, dev: bool
) -> None:
    """Reprocess TOPIC from a time or an offset by moving GROUP back.

    Stop the group's workers first; start them again afterwards. Processing is idempotent,
    so what was applied before is recognised and not applied twice.
    """
    from q2c.replay import plan_and_move

    kwargs, _ = kafka_or_fail(dev)
    if since is not None and since.tzinfo is None:
        since = since.replace(tzinfo=UTC)
    try:
        moves = asyncio.run(
            plan_and_move(kwargs, group, topic, since=since, offset=offset, apply=apply)
        )
    except (ValueError, RuntimeError) as exc:
        raise click.ClickException(str(exc)) from None
    for move in moves:
        click.echo(
            f"{move.partition.topic}[{move.partition.partition}]: {move.before} -> {move.after}"
        )
    click.echo("offsets committed" if apply else "dry run: add --apply to commit")


@click.command()
@click.option("--currency", default="USD", show_default=True, help="Price-book currency compared.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document instead of text.")
@click.option(
    "--repair",
    is_flag=True,
    help="Send the records behind discrepancies, and rejected deals, through the sync again "
    "(as `q2c resync` does); run reconcile again once the sync has caught up.",
)
@dev_option
def reconcile(currency: str, as_json: bool, repair: bool, dev: bool) -> None:
    """Compare the CRM and the ERP record by record; print every discrepancy.

    Won deals must have exactly one confirmed ERP sale with the same customer, lines and
    total; every ERP sale must come from a CRM deal; accounts of ordered deals must be ERP
    customers with the same name; saleable ERP items must be CRM products at the same price;
    the outstanding balance on each CRM account must be what the ERP's open invoices (net of
    payments) add up to.

    A won deal q2c rejected, holds for approval or is waiting on (its status and reason are
    on the CRM deal) is explained, not a discrepancy: it is listed in its own section. Exits
    0 when every difference is explained, 1 otherwise.
    """
    import json
    import sys

    from pydantic import ValidationError

    from q2c.core.settings import load_section
    from q2c.reconcile import read_system
    from q2c.reconcile_report import as_json as render_json
    from q2c.reconcile_report import as_text
    from q2c.resync import resend
    from schemas.changes import SystemRole
    from streams.config import SyncConfig
    from streams.rules.reconcile import reconcile as compare

    settings = resolved_settings(dev)
    cfg = load_section(SyncConfig, "sync")
    progress = _progress_line if sys.stderr.isatty() else None

    async def run() -> tuple[list[str], int]:
        reads = {}
        for role in (SystemRole.CRM, SystemRole.ERP):
            system = cfg.system(role)
            try:
                defaults = peer_defaults(settings, system, dev)
                reads[role] = await read_system(settings, system, defaults, progress)
            except ValidationError as exc:
                raise missing_settings(system, exc) from None
        if progress is not None:
            click.echo("\r\033[K", nl=False, err=True)
        crm = (cfg.crm_system, reads[SystemRole.CRM].snapshot)
        erp = (cfg.erp_system, reads[SystemRole.ERP].snapshot)
        today = datetime.now(UTC).date()
        result = compare(crm[1], erp[1], cfg.trigger, currency, today)
        repairs = await resend(settings, reads, result.repairs()) if repair else None
        if as_json:
            document = render_json(crm, erp, result, repairs)
            return [json.dumps(document, indent=2)], len(result.discrepancies)
        return as_text(crm, erp, result, repairs), len(result.discrepancies)

    lines, drift = asyncio.run(run())
    for line in lines:
        click.echo(line)
    if drift:
        raise click.ClickException(f"{drift} discrepancies")


def _progress_line(label: str, done: int, total: int) -> None:
    click.echo(f"\r\033[Kreading {label} ({done + 1}/{total})", nl=False, err=True)
