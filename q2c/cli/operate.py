"""Operating commands: approve or decline held deals, replay a topic."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import click

from q2c.cli.worker import resolved_settings
from q2c.topics import Topics


def kafka_or_fail() -> tuple[dict[str, object], Topics]:
    settings = resolved_settings()
    if not settings.kafka.bootstrap:
        raise click.ClickException(
            "no Kafka configured: set Q2C_KAFKA__BOOTSTRAP or run `q2c dev up`"
        )
    return settings.kafka.client_kwargs(), Topics(settings.kafka.topic_prefix)


def _decide(deal: str, approved: bool, actor: str, reason: str) -> None:
    from aiokafka import AIOKafkaProducer

    from schemas import CODEC
    from schemas.decisions import DealApproval
    from streams.keys import deal_key

    kwargs, topics = kafka_or_fail()
    decision = DealApproval(
        deal_crm_id=deal, approved=approved, actor=actor, reason=reason, at=datetime.now(UTC)
    )

    async def send() -> None:
        producer = AIOKafkaProducer(**kwargs, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(
                topics.control, key=deal_key(deal).encode(), value=CODEC.encode(decision)
            )
        finally:
            await producer.stop()

    asyncio.run(send())
    click.echo(f"deal {deal}: {'approved' if approved else 'declined'} by {actor}")


@click.command()
@click.argument("deal")
@click.option("--by", "actor", required=True, help="Who approves (kept in the audit trail).")
@click.option("--reason", default="", help="Why, for the audit trail.")
def approve(deal: str, actor: str, reason: str) -> None:
    """Approve DEAL (its CRM id), held for a discount beyond policy: its order goes ahead."""
    _decide(deal, True, actor, reason)


@click.command()
@click.argument("deal")
@click.option("--by", "actor", required=True, help="Who declines (kept in the audit trail).")
@click.option("--reason", default="", help="Shown on the CRM deal.")
def decline(deal: str, actor: str, reason: str) -> None:
    """Decline DEAL, held for approval: it is marked rejected in the CRM with the reason."""
    _decide(deal, False, actor, reason)


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
def replay(group: str, topic: str, since: datetime | None, offset: int | None, apply: bool) -> None:
    """Reprocess TOPIC from a time or an offset by moving GROUP back.

    Stop the group's workers first; start them again afterwards. Processing is idempotent,
    so what was applied before is recognised and not applied twice.
    """
    from q2c.replay import plan_and_move

    kwargs, _ = kafka_or_fail()
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
def reconcile(currency: str) -> None:
    """Compare the CRM and the ERP record by record; print every discrepancy.

    Won deals must have exactly one ERP sale with the same customer, lines and total; every
    ERP sale must come from a CRM deal; accounts of won deals must be ERP customers with the
    same name; saleable ERP items must be CRM products at the same price. Exits 0 only when
    nothing differs.
    """
    from q2c.devstack.stack import StackFiles
    from q2c.reconcile import read_system
    from q2c.settings import load_section
    from streams.config import SyncConfig
    from streams.rules.reconcile import reconcile as compare

    settings = resolved_settings()
    cfg = load_section(SyncConfig, "sync")
    stack = StackFiles(settings.dev.state_dir).load()

    async def read_both() -> list[str]:
        crm = await read_system(settings, cfg.crm_system, stack.get(cfg.crm_system, {}))
        erp = await read_system(settings, cfg.erp_system, stack.get(cfg.erp_system, {}))
        found = compare(crm, erp, cfg.trigger, currency)
        click.echo(
            f"{cfg.crm_system}: {len(crm.customers)} accounts, {len(crm.quotes)} deals, "
            f"{len(crm.items)} products; {cfg.erp_system}: {len(erp.customers)} customers, "
            f"{len(erp.orders)} sales, {len(erp.items)} items"
        )
        return [str(d) for d in found]

    lines = asyncio.run(read_both())
    for line in lines:
        click.echo(line)
    if lines:
        raise click.ClickException(f"{len(lines)} discrepancies")
    click.echo("no discrepancy")
