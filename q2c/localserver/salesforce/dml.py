"""Record writes with the platform's validation: field values are checked against the
describe metadata (unknown field ``INVALID_FIELD``, read-only field
``INVALID_FIELD_FOR_INSERT_UPDATE``, length ``STRING_TOO_LONG``, restricted picklist
``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST``, ids ``MALFORMED_ID``, references
``INVALID_CROSS_REFERENCE_KEY``, required fields ``REQUIRED_FIELD_MISSING``, unique fields
``DUPLICATE_VALUE``, duplicate rules ``DUPLICATES_DETECTED``); the standard objects' own
rules are in ``rules.py``."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import SalesforceError, invalid_field, malformed_id, not_found
from .ids import normalize_id
from .rules import StandardRules
from .schema import NUMERIC_TYPES, FieldDef, ObjectDef
from .store import Row, Store, Transaction
from .values import format_datetime, parse_date, parse_datetime

# Fields whose value a create sets when the body does not (the platform's defaults).
_DEFAULTS: dict[tuple[str, str], Any] = {
    ("Product2", "IsActive"): False,
    ("Pricebook2", "IsActive"): False,
    ("PricebookEntry", "IsActive"): False,
    ("PricebookEntry", "UseStandardPrice"): False,
    ("Opportunity", "IsClosed"): False,
    ("Opportunity", "IsWon"): False,
    ("Opportunity", "HasOpportunityLineItem"): False,
    ("Pricebook2", "IsStandard"): False,
}

# What a duplicate rule compares, per object (the standard rules match on these).
_DUPLICATE_KEYS = {"Contact": "Email", "User": "Username"}


@dataclass
class DuplicateRules:
    """Objects whose creates fail with DUPLICATES_DETECTED when a live record has the same
    name (email for contacts): the org's active duplicate rules, switched on by control."""

    objects: set[str] = field(default_factory=set)


def _label(definition: FieldDef) -> str:
    return definition.label or definition.name


class Writer:
    def __init__(self, store: Store, duplicates: DuplicateRules | None = None) -> None:
        self.store = store
        self.duplicates = duplicates or DuplicateRules()
        self.rules = StandardRules(store)

    # The four operations.

    def create(self, tx: Transaction, sobject: ObjectDef, body: Mapping[str, Any]) -> str:
        self._check_writable(sobject)
        values = self._coerce_body(sobject, body, creating=True)
        missing = [
            f.name for f in sobject.fields.values() if f.required and values.get(f.name) is None
        ]
        if missing:
            raise SalesforceError(
                400,
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        # Checkboxes are false unless set, as on the platform; other fields null.
        row_values: dict[str, Any] = {
            name: False if f.type == "boolean" else None for name, f in sobject.fields.items()
        }
        for (object_name, field_name), default in _DEFAULTS.items():
            if object_name == sobject.name:
                row_values[field_name] = default
        if "OwnerId" in sobject.fields:
            row_values["OwnerId"] = tx.context.user_id
        row_values.update(values)
        self._check_unique(sobject, values, None)
        self._check_duplicates(sobject, row_values)
        record_id = self.store.next_id(sobject.key_prefix)
        row_values["Id"] = record_id
        row = Row(sobject.name, row_values)
        self.rules.before_insert(row, values)
        tx.insert(row, self.store.now())
        self.rules.after_change(tx, row.sobject, row.values)
        return record_id

    def update(
        self, tx: Transaction, sobject: ObjectDef, record_id: str, body: Mapping[str, Any]
    ) -> None:
        self._check_writable(sobject)
        row = self.live_row(sobject, record_id)
        values = self._coerce_body(sobject, body, creating=False)
        self._check_unique(sobject, values, row.id)
        merged = {**row.values, **values}
        changes = self.rules.before_update(row, merged, values)
        tx.modify(row.id, changes, self.store.now())
        self.rules.after_change(tx, row.sobject, row.values)

    def delete(self, tx: Transaction, sobject: ObjectDef, record_id: str) -> None:
        self._check_writable(sobject)
        row = self.live_row(sobject, record_id)
        self.rules.delete(tx, row)

    def find_by(self, sobject: ObjectDef, definition: FieldDef, value: str) -> list[Row]:
        if definition.name == "Id":
            normalized = normalize_id(value)
            row = self.store.get(normalized) if normalized else None
            live = row is not None and row.sobject == sobject.name and row.deleted_at is None
            return [row] if live and row is not None else []
        if definition.type in NUMERIC_TYPES:
            try:
                number = float(value)
            except ValueError:
                return []
            return [
                row
                for row in self.store.all_rows(sobject.name)
                if row.values.get(definition.name) is not None
                and float(row.values[definition.name]) == number
            ]
        # Text external ids match case-insensitively (unless made case-sensitive, which the
        # Tooling API set-up here does not offer).
        wanted = value.lower()
        return [
            row
            for row in self.store.all_rows(sobject.name)
            if row.values.get(definition.name) is not None
            and str(row.values[definition.name]).lower() == wanted
        ]

    # Lookups.

    def live_row(self, sobject: ObjectDef, record_id: str) -> Row:
        """The record, or the documented error for a malformed, foreign, missing or deleted
        id."""
        normalized = normalize_id(record_id)
        if normalized is None or not normalized.startswith(sobject.key_prefix):
            raise malformed_id(sobject.name, record_id)
        row = self.store.get(normalized)
        if row is None or row.sobject != sobject.name:
            raise not_found()
        if row.deleted_at is not None:
            raise SalesforceError(404, "ENTITY_IS_DELETED", "entity is deleted")
        return row

    # Field values.

    def _check_writable(self, sobject: ObjectDef) -> None:
        if not sobject.createable:
            raise SalesforceError(
                400,
                "INVALID_TYPE_FOR_OPERATION",
                f"entity type {sobject.name} does not support this operation",
            )

    def _coerce_body(
        self, sobject: ObjectDef, body: Mapping[str, Any], *, creating: bool
    ) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for name, raw in body.items():
            if name == "attributes":
                continue
            definition = sobject.field(name)
            if definition is None:
                raise invalid_field(sobject.name, name)
            allowed = definition.createable if creating else definition.updateable
            if not allowed:
                raise SalesforceError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {definition.name}. Please check the "
                    "security settings of this field and verify that it is read/write for "
                    "your profile or permission set.",
                    [definition.name],
                )
            values[definition.name] = self._coerce(sobject, definition, raw)
        return values

    def _coerce(self, sobject: ObjectDef, definition: FieldDef, raw: Any) -> Any:
        kind = definition.type
        if raw is None:
            if kind == "boolean":
                return False
            if not definition.nillable and not definition.defaulted_on_create:
                raise SalesforceError(
                    400,
                    "REQUIRED_FIELD_MISSING",
                    f"Required fields are missing: [{definition.name}]",
                    [definition.name],
                )
            return None
        if kind == "boolean":
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str) and raw.lower() in {"true", "false"}:
                return raw.lower() == "true"
            raise _parse_error("boolean", raw)
        if kind in NUMERIC_TYPES:
            number = _number(raw)
            if kind == "int":
                if number != int(number):
                    raise _parse_error("int", raw)
                return int(number)
            # The platform keeps a number to its field's scale.
            return round(number, definition.scale) if definition.scale else number
        if kind == "date":
            try:
                return parse_date(str(raw)).isoformat()
            except ValueError:
                raise _parse_error("date", raw) from None
        if kind == "datetime":
            try:
                return format_datetime(parse_datetime(str(raw)))
            except ValueError:
                raise _parse_error("datetime", raw) from None
        if isinstance(raw, dict | list):
            raise _parse_error("string", raw)
        text = (
            raw if isinstance(raw, str) else str(raw).lower() if isinstance(raw, bool) else str(raw)
        )
        if kind == "reference":
            return self._reference(definition, text)
        if definition.length and len(text) > definition.length:
            raise SalesforceError(
                400,
                "STRING_TOO_LONG",
                f"{_label(definition)}: data value too large: {text[:40]} "
                f"(max length={definition.length})",
                [definition.name],
            )
        if kind == "email" and text and ("@" not in text or " " in text):
            raise SalesforceError(
                400,
                "INVALID_EMAIL_ADDRESS",
                f"{_label(definition)}: invalid email address: {text}",
                [definition.name],
            )
        if (
            kind == "picklist"
            and definition.restricted_picklist
            and text not in definition.picklist
        ):
            raise SalesforceError(
                400,
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{_label(definition)}: bad value for restricted picklist field: {text}",
                [definition.name],
            )
        return text

    def _reference(self, definition: FieldDef, text: str) -> str:
        target = self.store.objects[definition.reference_to[0]]
        normalized = normalize_id(text)
        if normalized is None or not normalized.startswith(target.key_prefix):
            raise malformed_id(target.name, text, [definition.name])
        row = self.store.get(normalized)
        if row is None or row.deleted_at is not None:
            raise SalesforceError(
                400,
                "INVALID_CROSS_REFERENCE_KEY",
                f"invalid cross reference id: {text}",
                [definition.name],
            )
        return normalized

    def _check_unique(
        self, sobject: ObjectDef, values: dict[str, Any], record_id: str | None
    ) -> None:
        """Unique fields (custom fields made with ``unique``) refuse a value another live
        record has, case-insensitively."""
        for name, value in values.items():
            definition = sobject.fields[name]
            if not definition.unique or value is None:
                continue
            for other in self.find_by(sobject, definition, str(value)):
                if other.id != record_id:
                    raise SalesforceError(
                        400,
                        "DUPLICATE_VALUE",
                        f"duplicate value found: {name} duplicates value on record with id: "
                        f"{other.id}",
                        [name],
                    )

    def _check_duplicates(self, sobject: ObjectDef, values: dict[str, Any]) -> None:
        if sobject.name not in self.duplicates.objects:
            return
        key = _DUPLICATE_KEYS.get(sobject.name, "Name")
        value = values.get(key)
        if value is None:
            return
        definition = sobject.fields[key]
        if self.find_by(sobject, definition, str(value)):
            raise SalesforceError(400, "DUPLICATES_DETECTED", "Use one of these records?")

    # The standard objects' rules.


def _number(raw: Any) -> float:
    number: float | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        number = float(raw)
    elif isinstance(raw, str):
        try:
            number = float(raw)
        except ValueError:
            number = None
    if number is None or not math.isfinite(number):
        raise _parse_error("double", raw)
    return number


def _parse_error(kind: str, raw: Any) -> SalesforceError:
    return SalesforceError(
        400,
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from value {raw!r} or request may be missing "
        "a required field",
    )
