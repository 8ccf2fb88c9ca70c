"""Ownership, echo suppression and conflicts in the golden record."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from schemas.changes import SystemRole
from schemas.entities import EntityKind, ExternalIds
from streams.rules.golden import MergeKind, merge, record_written
from streams.rules.ownership import ConflictPolicy, EntityOwnership, OwnershipConfig
from tests.streams.factories import ADDRESS, change, customer

CRM, ERP = SystemRole.CRM, SystemRole.ERP
CONFIG = OwnershipConfig()


def test_defaults_follow_the_seeds() -> None:
    assert CONFIG.owner(EntityKind.CUSTOMER, "name") is CRM
    assert CONFIG.owner(EntityKind.CUSTOMER, "billing_address") is ERP
    assert CONFIG.owner(EntityKind.CUSTOMER, "payment_terms") is ERP
    assert CONFIG.owner(EntityKind.CONTACT, "email") is CRM
    assert CONFIG.owner(EntityKind.QUOTE, "stage") is CRM
    for kind in (EntityKind.ITEM, EntityKind.SALES_ORDER, EntityKind.INVOICE, EntityKind.PAYMENT):
        assert CONFIG.owner(kind, "anything") is ERP


def test_a_new_crm_account_is_accepted_whole_and_its_ids_grow() -> None:
    first = merge(None, change(customer(billing_address=ADDRESS), CRM), CONFIG)
    assert first.kind is MergeKind.APPLIED
    assert first.accepted["name"] == "Acme GmbH"
    assert first.accepted["billing_address"] is not None  # nobody had one: seeded from the CRM
    erp_side = customer(erp_id="42", billing_address=ADDRESS)
    second = merge(first.golden, change(erp_side, ERP, minutes=1), CONFIG)
    assert second.golden.ids == ExternalIds(crm_id="acc-1", erp_id="42")
    assert second.kind is MergeKind.ECHO


def test_a_non_owner_edit_is_a_conflict_overwritten_back_once() -> None:
    golden = merge(None, change(customer(erp_id="42"), CRM), CONFIG).golden
    renamed_in_erp = change(customer(erp_id="42", name="ACME (ERP typo)"), ERP, minutes=5)
    result = merge(golden, renamed_in_erp, CONFIG)
    assert result.accepted == {}
    (conflict,) = result.conflicts
    assert (conflict.field, conflict.attempted, conflict.kept) == (
        "name",
        "ACME (ERP typo)",
        "Acme GmbH",
    )
    assert conflict.owner is CRM
    assert result.overwrite == {"name": "Acme GmbH"}
    # The same edit seen again (before the overwrite landed) is not audited twice.
    again = merge(result.golden, change(customer(erp_id="42", name="ACME (ERP typo)"), ERP), CONFIG)
    assert again.conflicts == ()
    assert again.overwrite == {}


def test_the_audit_policy_keeps_the_owner_value_without_writing_back() -> None:
    config = OwnershipConfig(policy=ConflictPolicy.AUDIT)
    golden = merge(None, change(customer(), CRM), config).golden
    result = merge(golden, change(customer(name="Other"), ERP), config)
    assert len(result.conflicts) == 1
    assert result.overwrite == {}
    assert result.golden.values()["name"] == "Acme GmbH"


def test_owner_changes_are_accepted_and_late_older_ones_ignored() -> None:
    golden = merge(None, change(customer(), CRM), CONFIG).golden
    newer = merge(golden, change(customer(name="Acme AG"), CRM, minutes=10), CONFIG)
    assert newer.accepted == {"name": "Acme AG"}
    older = merge(newer.golden, change(customer(name="Acme Old"), CRM, minutes=5), CONFIG)
    assert older.accepted == {}
    assert older.golden.values()["name"] == "Acme AG"


def test_what_q2c_wrote_comes_back_as_an_echo() -> None:
    golden = merge(None, change(customer(), CRM), CONFIG).golden
    # q2c writes the ERP's payment terms to the CRM ...
    golden = merge(
        golden, change(customer(erp_id="42", payment_terms="30 days"), ERP), CONFIG
    ).golden
    golden = record_written(golden, CRM, {"payment_terms": "30 days"})
    # ... and the CRM's webhook reports the change back.
    echo = merge(golden, change(customer(payment_terms="30 days"), CRM, minutes=1), CONFIG)
    assert echo.kind is MergeKind.ECHO
    assert echo.accepted == {}
    assert echo.conflicts == ()


def test_a_field_owner_can_be_configured() -> None:
    config = OwnershipConfig(
        entities={EntityKind.CUSTOMER: EntityOwnership(default=ERP, fields={"email": CRM})}
    )
    assert config.owner(EntityKind.CUSTOMER, "name") is ERP
    assert config.owner(EntityKind.CUSTOMER, "email") is CRM
    assert config.owner(EntityKind.ITEM, "sku") is ERP  # unlisted entities keep defaults


def test_deletes_are_recorded_not_propagated() -> None:
    from schemas.envelope import Operation

    golden = merge(None, change(customer(), CRM), CONFIG).golden
    deleted = change(customer(), CRM, minutes=3, op=Operation.DELETE).model_copy(
        update={"data": None}
    )
    result = merge(golden, deleted, CONFIG)
    assert result.kind is MergeKind.DELETED
    assert result.golden.deleted_in == frozenset({CRM})
    assert result.accepted == {}


@given(st.lists(st.sampled_from(["Acme", "Acme AG", "Globex", "Initech"]), min_size=1, max_size=8))
def test_replaying_any_sequence_of_changes_is_absorbed(names: list[str]) -> None:
    changes = [change(customer(name=n), CRM, minutes=i) for i, n in enumerate(names)]
    golden = None
    for c in changes:
        golden = merge(golden, c, CONFIG).golden
    assert golden is not None
    final = golden.values()["name"]
    assert final == names[-1]
    # The last change delivered again (a source re-emitting after a restart): absorbed.
    assert merge(golden, changes[-1], CONFIG).kind is MergeKind.DUPLICATE


def test_fields_the_origin_does_not_hold_are_not_compared() -> None:
    from tests.streams.factories import item

    golden = merge(None, change(item("W-1", "100.00", unit="hour"), ERP), CONFIG).golden
    crm_side = change(item("W-1", "100.00"), CRM).model_copy(
        update={"held": frozenset({"sku", "name", "prices"})}
    )
    # The CRM's product has no unit: its default "unit" is not an edit of the ERP's "hour".
    result = merge(golden, crm_side, CONFIG)
    assert result.conflicts == ()
    assert result.kind is MergeKind.ECHO
    repriced = change(item("W-1", "90.00"), CRM).model_copy(update={"held": frozenset({"prices"})})
    assert [c.field for c in merge(golden, repriced, CONFIG).conflicts] == ["prices"]
