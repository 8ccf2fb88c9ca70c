"""What a delete in one system does to the record in the other: the delete policy.

A customer, contact or item deleted in the system that owns the entity (its default owner:
the CRM for customers and contacts, the ERP for items) is, per entity, archived in the other
system, deleted there too, or only audited. A delete in the system that does not own the
entity is never propagated: it is audited, and the owner's record stays. Every decision is
audited, so people can see why a record is still there or is gone.

The defaults keep data: customers are only audited (the ERP keeps invoices, payments and
their party), contacts and items are archived (they can no longer be chosen, and their
history stays).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from schemas.changes import SystemRole
from schemas.commands import DeleteMode
from schemas.entities import EntityKind, ExternalIds
from streams.rules.ownership import OwnershipConfig, other


class DeleteAction(StrEnum):
    ARCHIVE = "archive"
    DELETE = "delete"
    AUDIT = "audit"
    """Only recorded on the audit topic; the other system keeps the record as it is."""


def _default_actions() -> dict[EntityKind, DeleteAction]:
    return {
        EntityKind.CUSTOMER: DeleteAction.AUDIT,
        EntityKind.CONTACT: DeleteAction.ARCHIVE,
        EntityKind.ITEM: DeleteAction.ARCHIVE,
    }


class DeletePolicy(BaseModel):
    """``[sync.deletes]`` in the config file: the action per entity (customer, contact,
    item); unlisted entities keep their defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entities: dict[EntityKind, DeleteAction] = Field(default_factory=_default_actions)

    def action(self, entity: EntityKind) -> DeleteAction:
        return self.entities.get(entity) or _default_actions().get(entity, DeleteAction.AUDIT)


@dataclass(frozen=True)
class DeleteDecision:
    """What q2c does about one delete: a command to ``target`` (``mode`` set) or nothing
    beyond the audit; ``rule`` and ``reason`` go on the audit record."""

    rule: str
    reason: str
    target: SystemRole | None = None
    mode: DeleteMode | None = None


def owner_of(entity: EntityKind, ownership: OwnershipConfig) -> SystemRole:
    """The system whose records of ``entity`` exist first: its deletes are the ones acted on."""
    owner = ownership.entities.get(entity)
    return owner.default if owner is not None else ownership.owner(entity, "")


def retired(
    entity: EntityKind,
    changed_by: SystemRole,
    deleted_in: frozenset[SystemRole],
    ownership: OwnershipConfig,
) -> bool:
    """Whether a change from ``changed_by`` concerns a record its owner deleted: such a
    change (the archived copy edited, the other system's copy kept by policy) is not
    propagated, so the deleted record is not made again where it is gone."""
    owner = owner_of(entity, ownership)
    return changed_by is not owner and owner in deleted_in


def decide_delete(
    entity: EntityKind,
    ids: ExternalIds,
    deleted_by: SystemRole,
    already_deleted_in: frozenset[SystemRole],
    ownership: OwnershipConfig,
    policy: DeletePolicy,
    names: Mapping[SystemRole, str] | None = None,
) -> DeleteDecision | None:
    """The decision about ``entity`` ``ids`` deleted in ``deleted_by``; None when there is
    nothing to decide: the delete was already seen, or it is the other system carrying out
    what q2c asked of it (``already_deleted_in`` holds the roles the record is gone from,
    or that q2c archived or deleted it in). ``names``: the systems playing each role, for
    the reason people read."""
    if deleted_by in already_deleted_in:
        return None
    owner_role = owner_of(entity, ownership)
    target = other(deleted_by)

    def name(role: SystemRole) -> str:
        return (names or {}).get(role) or f"the {role.value.upper()}"

    where = name(deleted_by)
    if deleted_by is not owner_role:
        return DeleteDecision(
            rule="delete by a non-owner",
            reason=(
                f"deleted in {where}, which does not own {entity} records; "
                f"{name(owner_role)} keeps it"
            ),
        )
    action = policy.action(entity)
    there = ids.crm_id if target is SystemRole.CRM else ids.erp_id
    rule = f"delete policy for {entity}: {action.value}"
    if action is DeleteAction.AUDIT:
        return DeleteDecision(rule=rule, reason=f"deleted in {where}; kept in {name(target)}")
    if there is None:
        return DeleteDecision(
            rule=rule,
            reason=f"deleted in {where}; {name(target)} never had it",
        )
    mode = DeleteMode.ARCHIVE if action is DeleteAction.ARCHIVE else DeleteMode.DELETE
    done = "archived" if mode is DeleteMode.ARCHIVE else "deleted"
    return DeleteDecision(
        rule=rule,
        reason=f"deleted in {where}; {done} in {name(target)}",
        target=target,
        mode=mode,
    )


class ItemDeletion(BaseModel):
    """An item its owning system deleted: what a deal using it is told."""

    model_config = ConfigDict(frozen=True)

    sku: str
    ids: ExternalIds
    role: SystemRole
    system: str
    at: datetime

    def reason(self) -> str:
        where = f"the {self.role.value.upper()} ({self.system})"
        return f"item {self.sku} was deleted in {where} on {self.at.date().isoformat()}"
