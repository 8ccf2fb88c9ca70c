"""The delete policy, without Kafka: a delete in the owning system archives, deletes or is
only audited in the other one; a delete by a non-owner is audited and kept; q2c's own
deletes coming back are not acted on again; every decision is audited."""

from __future__ import annotations

from datetime import timedelta

import pytest

from schemas import AuditKind, CommandResult, DeleteMode, DeleteRecord, Outcome, fingerprint
from schemas.changes import EntityChange, SystemRole
from schemas.entities import EntityKind, ExternalIds
from schemas.envelope import Operation
from streams.config import SyncConfig
from streams.handlers.master import on_master_change, on_master_result
from streams.rules.deletes import DeleteAction, DeletePolicy, decide_delete
from streams.rules.golden import GoldenRecord
from streams.rules.ownership import OwnershipConfig
from tests.streams.factories import T0, change, customer, item

CRM, ERP = SystemRole.CRM, SystemRole.ERP
NOW = T0 + timedelta(minutes=30)
BOTH = ExternalIds(crm_id="acc-1", erp_id="42")


def deleted(
    entity: EntityKind, ids: ExternalIds, role: SystemRole, minutes: int = 5
) -> EntityChange:
    return EntityChange(
        entity=entity,
        ids=ids,
        origin_system="crm" if role is CRM else "erp",
        origin_role=role,
        operation=Operation.DELETE,
        source_ts=T0 + timedelta(minutes=minutes),
        fingerprint=fingerprint({"deleted": ids.model_dump(), "by": role.value, "at": minutes}),
    )


def config(**actions: DeleteAction) -> SyncConfig:
    policy = DeletePolicy(entities={EntityKind(name): action for name, action in actions.items()})
    return SyncConfig(deletes=policy)


def synced_customer(cfg: SyncConfig) -> GoldenRecord:
    golden, _ = on_master_change(
        None, change(customer(erp_id="42"), CRM), "customer:acc-1", cfg, NOW
    )
    return golden


@pytest.mark.parametrize(
    ("action", "mode"),
    [(DeleteAction.ARCHIVE, DeleteMode.ARCHIVE), (DeleteAction.DELETE, DeleteMode.DELETE)],
)
def test_a_customer_deleted_in_the_crm_is_archived_or_deleted_in_the_erp(
    action: DeleteAction, mode: DeleteMode
) -> None:
    cfg = config(customer=action)
    golden = synced_customer(cfg)
    after, step = on_master_change(
        golden, deleted(EntityKind.CUSTOMER, BOTH, CRM), "customer:acc-1", cfg, NOW
    )
    (emit,) = step.commands
    assert emit.role is ERP
    assert emit.key == "customer:acc-1"
    assert isinstance(emit.command, DeleteRecord)
    assert emit.command.mode is mode
    assert emit.command.record == BOTH
    assert emit.command.target_system == "tryton"
    (audit,) = step.audits
    assert audit.kind is AuditKind.DELETED
    assert audit.rule == f"delete policy for customer: {action.value}"
    assert after.deleted_in == {CRM, ERP}

    # Tryton's own report of the archived or deleted party is q2c's echo.
    echo, step = on_master_change(
        after, deleted(EntityKind.CUSTOMER, BOTH, ERP, minutes=6), "customer:acc-1", cfg, NOW
    )
    assert step.commands == []
    assert step.audits == []
    # And the CRM's delete seen again (a rescan) decides nothing twice.
    _, step = on_master_change(
        echo, deleted(EntityKind.CUSTOMER, BOTH, CRM, minutes=7), "customer:acc-1", cfg, NOW
    )
    assert step.commands == []
    assert step.audits == []


def test_by_default_a_customer_deleted_in_the_crm_is_only_audited() -> None:
    cfg = SyncConfig()
    golden = synced_customer(cfg)
    after, step = on_master_change(
        golden, deleted(EntityKind.CUSTOMER, BOTH, CRM), "customer:acc-1", cfg, NOW
    )
    assert step.commands == []
    (audit,) = step.audits
    assert audit.kind is AuditKind.DELETED
    assert audit.rule == "delete policy for customer: audit"
    assert audit.reason == "deleted in bottlecrm; kept in tryton"
    assert after.deleted_in == {CRM}


def test_a_delete_by_the_system_that_does_not_own_the_entity_is_audited_and_kept() -> None:
    cfg = config(customer=DeleteAction.DELETE)
    golden = synced_customer(cfg)
    _, step = on_master_change(
        golden, deleted(EntityKind.CUSTOMER, BOTH, ERP), "customer:acc-1", cfg, NOW
    )
    assert step.commands == []
    (audit,) = step.audits
    assert audit.rule == "delete by a non-owner"
    assert (
        "deleted in tryton, which does not own customer records; bottlecrm keeps it" in audit.reason
    )


def test_an_item_deleted_in_the_erp_is_archived_in_the_crm_by_default() -> None:
    cfg = SyncConfig()
    golden, _ = on_master_change(None, change(item(), ERP), "item:W-1", cfg, NOW)
    ids = ExternalIds(crm_id="prod-W-1", erp_id="7")
    _, step = on_master_change(golden, deleted(EntityKind.ITEM, ids, ERP), "item:W-1", cfg, NOW)
    (emit,) = step.commands
    assert emit.role is CRM
    assert isinstance(emit.command, DeleteRecord)
    assert (emit.command.mode, emit.command.entity) == (DeleteMode.ARCHIVE, EntityKind.ITEM)
    assert emit.command.record.crm_id == "prod-W-1"


def test_a_record_the_other_system_never_had_is_only_audited() -> None:
    cfg = config(customer=DeleteAction.DELETE)
    golden, _ = on_master_change(None, change(customer(), CRM), "customer:acc-1", cfg, NOW)
    only_crm = ExternalIds(crm_id="acc-1")
    _, step = on_master_change(
        golden, deleted(EntityKind.CUSTOMER, only_crm, CRM), "customer:acc-1", cfg, NOW
    )
    assert step.commands == []
    (audit,) = step.audits
    assert audit.reason == "deleted in bottlecrm; tryton never had it"


def test_a_refused_delete_is_audited_but_not_reported_on_the_deleted_record() -> None:
    cfg = config(customer=DeleteAction.DELETE)
    golden, step = on_master_change(
        synced_customer(cfg), deleted(EntityKind.CUSTOMER, BOTH, CRM), "customer:acc-1", cfg, NOW
    )
    (emit,) = step.commands
    refused = CommandResult(
        idempotency_key=emit.command.idempotency_key,
        command="delete_record",
        target_system="tryton",
        entity=EntityKind.CUSTOMER,
        outcome=Outcome.FAILED,
        message='tryton: "Acme GmbH" has sales and cannot be deleted',
        completed_at=NOW,
    )
    after, step = on_master_result(golden, refused, "customer:acc-1", cfg, NOW)
    assert after == golden
    (audit,) = step.audits
    assert audit.kind is AuditKind.REJECTED
    assert "cannot be deleted" in audit.reason
    assert step.commands == []  # the CRM account is gone: nothing to show it on


def test_the_decision_is_pure_and_unaffected_by_unlisted_entities() -> None:
    ownership = OwnershipConfig()
    policy = DeletePolicy(entities={EntityKind.ITEM: DeleteAction.DELETE})
    # Unlisted customers keep their default (audit).
    decision = decide_delete(EntityKind.CUSTOMER, BOTH, CRM, frozenset(), ownership, policy)
    assert decision is not None
    assert (decision.target, decision.mode) == (None, None)
    items = decide_delete(EntityKind.ITEM, BOTH, ERP, frozenset(), ownership, policy)
    assert items is not None
    assert (items.target, items.mode) == (CRM, DeleteMode.DELETE)
    assert decide_delete(EntityKind.ITEM, BOTH, ERP, frozenset({ERP}), ownership, policy) is None


def test_a_change_to_the_archived_copy_is_audited_and_not_written_back() -> None:
    cfg = SyncConfig()
    golden, _ = on_master_change(None, change(item(), ERP), "item:W-1", cfg, NOW)
    ids = ExternalIds(crm_id="prod-W-1", erp_id="7")
    gone, _ = on_master_change(golden, deleted(EntityKind.ITEM, ids, ERP), "item:W-1", cfg, NOW)
    # The CRM's product, archived by q2c, now reads inactive: the owner (the ERP) deleted
    # the item, so nothing is written back over the archive nor sent to the ERP.
    archived = change(item(active=False), CRM, minutes=10)
    after, step = on_master_change(gone, archived, "item:W-1", cfg, NOW)
    assert step.commands == []
    (audit,) = step.audits
    assert audit.rule == "change to a deleted record"
    assert after.deleted_in == gone.deleted_in
    # The owner making it again ends the retirement.
    again, step = on_master_change(after, change(item(), ERP, minutes=20), "item:W-1", cfg, NOW)
    assert ERP not in again.deleted_in
