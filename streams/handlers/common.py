"""The output of one sync step, and helpers shared by the handlers."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from pydantic import JsonValue

from schemas import AuditKind, AuditRecord, Command, FieldValue, idempotency_key
from schemas.changes import SystemRole
from schemas.entities import Customer, EntityKind, ExternalIds, Item
from streams.config import SyncConfig
from streams.rules.deletes import ItemDeletion


@dataclass(frozen=True)
class Emit:
    """A command for the system playing ``role``, sent with partition key ``key``."""

    role: SystemRole
    key: str
    command: Command


@dataclass
class Step:
    commands: list[Emit] = field(default_factory=list)
    audits: list[AuditRecord] = field(default_factory=list)
    customers: list[Customer] = field(default_factory=list)
    """Customer reference updates (every worker's join view)."""
    items: list[Item] = field(default_factory=list)
    """Item reference updates (every worker's join view)."""
    deleted_items: list[ItemDeletion] = field(default_factory=list)
    """Items their owner deleted: they leave every worker's join view."""
    dead_letters: list[str] = field(default_factory=list)
    """Why the message handled is given up on: it is dead-lettered with each reason (its
    effects above still happen, e.g. the deal told why)."""
    withdrawn: list[str] = field(default_factory=list)
    """Keys of customers withdrawn from the reference view (tombstones: an erasure)."""

    def extend(self, other: Step) -> None:
        self.commands += other.commands
        self.audits += other.audits
        self.customers += other.customers
        self.items += other.items
        self.deleted_items += other.deleted_items
        self.dead_letters += other.dead_letters
        self.withdrawn += other.withdrawn


def command_fields(
    cfg: SyncConfig, role: SystemRole, now: datetime, *parts: str
) -> dict[str, object]:
    """The fields every command has, with an idempotency key derived from ``parts``."""
    target = cfg.system(role)
    return {
        "idempotency_key": idempotency_key(target, *parts),
        "target_system": target,
        "issued_at": now,
    }


def _text(value: JsonValue) -> str | None:
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)


def conflict_audit(
    cfg: SyncConfig,
    entity: EntityKind,
    ids: ExternalIds,
    field_name: str,
    attempted: JsonValue,
    attempted_by: SystemRole,
    kept: JsonValue,
    owner: SystemRole,
    overwritten: bool,
    now: datetime,
) -> AuditRecord:
    return AuditRecord(
        kind=AuditKind.OVERWRITTEN if overwritten else AuditKind.OWNERSHIP_CONFLICT,
        entity=entity,
        record=ids,
        field=field_name,
        attempted=FieldValue(system=cfg.system(attempted_by), value=_text(attempted)),
        kept=FieldValue(system=cfg.system(owner), value=_text(kept)),
        rule=f"{entity}.{field_name} is owned by the {owner}",
        reason=(
            f"{cfg.system(attempted_by)} changed {field_name}, which the {owner} owns; "
            + (
                "the owner's value was written back"
                if overwritten
                else "the change was not propagated"
            )
        ),
        at=now,
    )
