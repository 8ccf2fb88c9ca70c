"""The golden record: the agreed value of every field of one entity, who owns it, and what
q2c last wrote to each system.

:func:`merge` folds one :class:`EntityChange` into it and says what to do:

- a change whose fingerprint was already folded in is a *duplicate* (a source re-emitting
  after a restart): nothing to do;
- a field whose value is already agreed, or that repeats what q2c itself wrote to that
  system, is an *echo*: nothing to do;
- a new value from the field's owner is *accepted* and propagated to the other system;
- a new value from the non-owner is a *conflict*: audited once per distinct value and, under
  the OVERWRITE policy, written back with the owner's value. A field nobody has set yet is
  taken from whichever side has it first (how a new CRM account gets its first address).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, JsonValue

from schemas.changes import EntityChange, SystemRole
from schemas.entities import EntityKind, ExternalIds
from schemas.envelope import Operation
from streams.rules.ownership import ConflictPolicy, OwnershipConfig

_NOT_FIELDS = frozenset({"ids", "updated_at"})


def entity_fields(data: BaseModel) -> dict[str, JsonValue]:
    """The comparable fields of a canonical entity, as JSON values."""
    dumped: dict[str, JsonValue] = data.model_dump(mode="json", exclude=set(_NOT_FIELDS))
    return dumped


class FieldState(BaseModel):
    model_config = ConfigDict(frozen=True)

    value: JsonValue
    owner: SystemRole
    set_by: SystemRole
    source_ts: datetime


class GoldenRecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    entity: EntityKind
    ids: ExternalIds
    fields: dict[str, FieldState] = {}
    written: dict[SystemRole, dict[str, JsonValue]] = {}
    contested: dict[SystemRole, dict[str, JsonValue]] = {}
    fingerprints: dict[SystemRole, str] = {}
    deleted_in: frozenset[SystemRole] = frozenset()

    def values(self) -> dict[str, JsonValue]:
        return {name: state.value for name, state in self.fields.items()}


class MergeKind(StrEnum):
    DUPLICATE = "duplicate"
    ECHO = "echo"
    APPLIED = "applied"
    DELETED = "deleted"


@dataclass(frozen=True)
class Conflict:
    field: str
    attempted: JsonValue
    kept: JsonValue
    owner: SystemRole
    attempted_by: SystemRole


@dataclass(frozen=True)
class Merge:
    golden: GoldenRecord
    kind: MergeKind
    accepted: dict[str, JsonValue] = field(default_factory=dict)
    """Fields to propagate to the other system."""
    conflicts: tuple[Conflict, ...] = ()
    overwrite: dict[str, JsonValue] = field(default_factory=dict)
    """Owner values to write back over the origin's edits."""


def _merged_ids(a: ExternalIds, b: ExternalIds) -> ExternalIds:
    return ExternalIds(crm_id=a.crm_id or b.crm_id, erp_id=a.erp_id or b.erp_id)


def merge(golden: GoldenRecord | None, change: EntityChange, config: OwnershipConfig) -> Merge:
    role = change.origin_role
    if golden is None:
        golden = GoldenRecord(entity=change.entity, ids=change.ids)
    if golden.fingerprints.get(role) == change.fingerprint:
        return Merge(golden, MergeKind.DUPLICATE)
    fingerprints = {**golden.fingerprints, role: change.fingerprint}
    ids = _merged_ids(golden.ids, change.ids)

    if change.operation is Operation.DELETE or change.data is None:
        updated = golden.model_copy(
            update={
                "ids": ids,
                "fingerprints": fingerprints,
                "deleted_in": golden.deleted_in | {role},
            }
        )
        return Merge(updated, MergeKind.DELETED)

    fields = dict(golden.fields)
    contested = {r: dict(v) for r, v in golden.contested.items()}
    written = golden.written.get(role, {})
    accepted: dict[str, JsonValue] = {}
    overwrite: dict[str, JsonValue] = {}
    conflicts: list[Conflict] = []
    incoming = entity_fields(change.data)
    if change.held is not None:
        incoming = {k: v for k, v in incoming.items() if k in change.held}
    for name, value in incoming.items():
        current = fields.get(name)
        if current is not None and current.value == value:
            contested.get(role, {}).pop(name, None)
            continue
        if name in written and written[name] == value:
            continue  # q2c wrote this value there itself
        owner = config.owner(change.entity, name)
        if current is None or owner is role:
            if (
                current is not None
                and current.set_by is role
                and current.source_ts > change.source_ts
            ):
                continue  # an older change of the owner, arriving late
            fields[name] = FieldState(
                value=value, owner=owner, set_by=role, source_ts=change.source_ts
            )
            accepted[name] = value
            continue
        if contested.get(role, {}).get(name, _UNSET) == value:
            continue  # this edit was audited (and overwritten) already
        contested.setdefault(role, {})[name] = value
        conflicts.append(Conflict(name, value, current.value, owner, role))
        if config.policy is ConflictPolicy.OVERWRITE:
            overwrite[name] = current.value

    updated = golden.model_copy(
        update={
            "ids": ids,
            "fields": fields,
            "contested": contested,
            "fingerprints": fingerprints,
            "deleted_in": golden.deleted_in - {role},
        }
    )
    kind = MergeKind.APPLIED if accepted or conflicts else MergeKind.ECHO
    return Merge(updated, kind, accepted, tuple(conflicts), overwrite)


_UNSET: Any = object()


def record_written(
    golden: GoldenRecord, role: SystemRole, values: dict[str, JsonValue]
) -> GoldenRecord:
    """``golden`` remembering that q2c wrote ``values`` to ``role`` (for echo suppression)."""
    written = {r: dict(v) for r, v in golden.written.items()}
    written.setdefault(role, {}).update(values)
    return golden.model_copy(update={"written": written})
