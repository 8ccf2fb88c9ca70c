"""Customers, contacts and items: merge into the golden record, propagate the owner's
changes, audit and overwrite the non-owner's, and keep the join views up to date."""

from __future__ import annotations

from datetime import datetime

from schemas import (
    AuditKind,
    AuditRecord,
    CommandResult,
    DeleteRecord,
    Outcome,
    ReportSyncStatus,
    SyncStatus,
    UpsertContact,
    UpsertCustomer,
    UpsertItem,
)
from schemas.changes import EntityChange, SystemRole
from schemas.entities import Contact, Customer, EntityKind, ExternalIds, Item
from streams.config import SyncConfig
from streams.handlers.common import Emit, Step, command_fields, conflict_audit
from streams.rules.deletes import ItemDeletion, decide_delete, owner_of, retired
from streams.rules.golden import GoldenRecord, Merge, MergeKind, merge, record_written
from streams.rules.ownership import other

MASTER = (EntityKind.CUSTOMER, EntityKind.CONTACT, EntityKind.ITEM)
DELETE_COMMAND = DeleteRecord.schema_subject
_MODELS: dict[EntityKind, type[Customer | Contact | Item]] = {
    EntityKind.CUSTOMER: Customer,
    EntityKind.CONTACT: Contact,
    EntityKind.ITEM: Item,
}


def snapshot(golden: GoldenRecord, now: datetime) -> Customer | Contact | Item:
    """The entity as q2c currently agrees it is."""
    model = _MODELS[golden.entity]
    return model.model_validate({**golden.values(), "ids": golden.ids, "updated_at": now})


def _upsert(
    cfg: SyncConfig,
    role: SystemRole,
    key: str,
    entity: Customer | Contact | Item,
    cause: str,
    now: datetime,
) -> Emit:
    ids = entity.ids.crm_id or entity.ids.erp_id or ""
    common = command_fields(cfg, role, now, f"upsert_{type(entity).__name__.lower()}", ids, cause)
    command: UpsertCustomer | UpsertContact | UpsertItem
    if isinstance(entity, Customer):
        command = UpsertCustomer.model_validate({**common, "caused_by": cause, "customer": entity})
    elif isinstance(entity, Contact):
        command = UpsertContact.model_validate({**common, "caused_by": cause, "contact": entity})
    else:
        command = UpsertItem.model_validate({**common, "caused_by": cause, "item": entity})
    return Emit(role, key, command)


def _refs(step: Step, entity: Customer | Contact | Item) -> None:
    if isinstance(entity, Customer):
        step.customers.append(entity)
    elif isinstance(entity, Item):
        step.items.append(entity)


def on_master_change(
    golden: GoldenRecord | None, change: EntityChange, key: str, cfg: SyncConfig, now: datetime
) -> tuple[GoldenRecord, Step]:
    result: Merge = merge(golden, change, cfg.ownership)
    step = Step()
    updated = result.golden
    if result.kind is MergeKind.DUPLICATE:
        return updated, step
    if result.kind is MergeKind.DELETED:
        return _on_delete(golden, updated, change, key, cfg, now)
    if golden is not None and retired(
        change.entity, change.origin_role, golden.deleted_in, cfg.ownership
    ):
        step.audits.append(
            AuditRecord(
                kind=AuditKind.DELETED,
                entity=change.entity,
                record=updated.ids,
                rule="change to a deleted record",
                reason=(
                    f"changed in {change.origin_system} after its owner deleted it; not propagated"
                ),
                at=now,
            )
        )
        return updated.model_copy(update={"deleted_in": golden.deleted_in}), step
    if not updated.fields:
        return updated, step
    current = snapshot(updated, now)
    if result.kind is MergeKind.ECHO:
        if golden is None or golden.ids != updated.ids:
            _refs(step, current)
        return updated, step

    origin = change.origin_role
    target = other(origin)
    creator = cfg.ownership.entities.get(change.entity)
    created_by_origin = (
        creator is None
        or creator.default is origin
        # A customer made first in the ERP reaches the CRM too, when so configured.
        or (
            change.entity is EntityKind.CUSTOMER
            and origin is SystemRole.ERP
            and cfg.erp_customers_to_crm
        )
    )
    target_has_it = (
        updated.ids.crm_id if target is SystemRole.CRM else updated.ids.erp_id
    ) is not None
    if result.accepted and (created_by_origin or target_has_it):
        step.commands.append(_upsert(cfg, target, key, current, change.fingerprint, now))
        updated = record_written(updated, target, result.accepted)
    for conflict in result.conflicts:
        step.audits.append(
            conflict_audit(
                cfg,
                change.entity,
                updated.ids,
                conflict.field,
                conflict.attempted,
                conflict.attempted_by,
                conflict.kept,
                conflict.owner,
                bool(result.overwrite),
                now,
            )
        )
    if result.overwrite:
        step.commands.append(_upsert(cfg, origin, key, current, change.fingerprint + ":owner", now))
        updated = record_written(updated, origin, result.overwrite)
    _refs(step, current)
    return updated, step


def _on_delete(
    before: GoldenRecord | None,
    updated: GoldenRecord,
    change: EntityChange,
    key: str,
    cfg: SyncConfig,
    now: datetime,
) -> tuple[GoldenRecord, Step]:
    """The delete policy: archive or delete in the other system, or only audit."""
    step = Step()
    already = before.deleted_in if before is not None else frozenset()
    names = {role: cfg.system(role) for role in SystemRole}
    decision = decide_delete(
        change.entity, updated.ids, change.origin_role, already, cfg.ownership, cfg.deletes, names
    )
    if decision is None:
        return updated, step
    sku = updated.values().get("sku")
    owner = owner_of(change.entity, cfg.ownership)
    if change.entity is EntityKind.ITEM and change.origin_role is owner and isinstance(sku, str):
        # Gone where items are made: no deal may use it any more.
        step.deleted_items.append(
            ItemDeletion(
                sku=sku,
                ids=updated.ids,
                role=change.origin_role,
                system=change.origin_system,
                at=change.source_ts,
            )
        )
    step.audits.append(
        AuditRecord(
            kind=AuditKind.DELETED,
            entity=change.entity,
            record=updated.ids,
            rule=decision.rule,
            reason=decision.reason,
            at=now,
        )
    )
    if decision.target is None or decision.mode is None:
        return updated, step
    ident = updated.ids.crm_id or updated.ids.erp_id or key
    fields = command_fields(cfg, decision.target, now, "delete_record", ident, change.fingerprint)
    command = DeleteRecord.model_validate(
        {
            **fields,
            "caused_by": change.fingerprint,
            "entity": change.entity,
            "record": updated.ids,
            "mode": decision.mode,
        }
    )
    step.commands.append(Emit(decision.target, key, command))
    # The other system's own delete (or the archived record leaving its lists) is then
    # q2c's echo, not a delete to act on.
    marked = updated.model_copy(update={"deleted_in": updated.deleted_in | {decision.target}})
    return marked, step


def on_master_result(
    golden: GoldenRecord | None, result: CommandResult, key: str, cfg: SyncConfig, now: datetime
) -> tuple[GoldenRecord | None, Step]:
    """A sink created or updated the entity: learn its id there; say why when it failed."""
    step = Step()
    if result.outcome is Outcome.FAILED:
        ids = golden.ids if golden is not None else None
        step.audits.append(
            AuditRecord(
                kind=AuditKind.REJECTED,
                entity=result.entity,
                record=ids or ExternalIds(crm_id=key.split(":", 1)[-1]),
                rule=f"{result.command} in {result.target_system}",
                reason=result.message,
                at=now,
            )
        )
        reportable = result.entity is not EntityKind.ITEM and result.command != DELETE_COMMAND
        if ids is not None and ids.crm_id and reportable:
            report = ReportSyncStatus.model_validate(
                {
                    **command_fields(
                        cfg, SystemRole.CRM, now, "report", key, result.idempotency_key
                    ),
                    "entity": result.entity,
                    "record": ExternalIds(crm_id=ids.crm_id),
                    "status": SyncStatus.REJECTED,
                    "message": f"not synced to {result.target_system}: {result.message}",
                }
            )
            step.commands.append(Emit(SystemRole.CRM, key, report))
        return golden, step
    if golden is None or result.ids is None or result.command == DELETE_COMMAND:
        return golden, step
    ids = ExternalIds(
        crm_id=golden.ids.crm_id or result.ids.crm_id, erp_id=golden.ids.erp_id or result.ids.erp_id
    )
    if ids == golden.ids:
        return golden, step
    updated = golden.model_copy(update={"ids": ids})
    if updated.fields:
        _refs(step, snapshot(updated, now))
    return updated, step
