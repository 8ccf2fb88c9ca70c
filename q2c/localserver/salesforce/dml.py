"""Record writes with the platform's validation and the standard objects' own rules.

Field values are checked against the describe metadata (unknown field ``INVALID_FIELD``,
read-only field ``INVALID_FIELD_FOR_INSERT_UPDATE``, length ``STRING_TOO_LONG``, restricted
picklist ``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST``, ids ``MALFORMED_ID``, required fields
``REQUIRED_FIELD_MISSING``). The standard objects' behaviour follows the Object Reference:
an opportunity's ``IsWon``/``IsClosed``/``Probability``/``ForecastCategoryName`` follow its
stage and its ``Amount`` is the sum of its line items once it has any; a line item needs an
active price book entry of the opportunity's price book (which it sets when the opportunity
has none); an entry in a custom price book needs the product's standard price first
(``STANDARD_PRICE_NOT_DEFINED``); deleting an account or opportunity deletes what hangs off it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import SalesforceError, invalid_field, malformed_id, not_found
from .ids import normalize_id
from .schema import NUMERIC_TYPES, STAGES, FieldDef, ObjectDef
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


def _integrity(detail: str, fields: tuple[str, ...] = ()) -> SalesforceError:
    return SalesforceError(
        400, "FIELD_INTEGRITY_EXCEPTION", f"field integrity exception: {detail}", fields
    )


class Writer:
    def __init__(self, store: Store, duplicates: DuplicateRules | None = None) -> None:
        self.store = store
        self.duplicates = duplicates or DuplicateRules()

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
        row_values: dict[str, Any] = {name: None for name in sobject.fields}
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
        self._before_insert(row, values)
        tx.insert(row, self.store.now())
        self._after_change(tx, row.sobject, row.values, None)
        return record_id

    def update(
        self, tx: Transaction, sobject: ObjectDef, record_id: str, body: Mapping[str, Any]
    ) -> None:
        self._check_writable(sobject)
        row = self.live_row(sobject, record_id)
        values = self._coerce_body(sobject, body, creating=False)
        self._check_unique(sobject, values, row.id)
        merged = {**row.values, **values}
        changes = self._before_update(row, merged, values)
        before = dict(row.values)
        tx.modify(row.id, changes, self.store.now())
        self._after_change(tx, row.sobject, row.values, before)

    def delete(self, tx: Transaction, sobject: ObjectDef, record_id: str) -> None:
        self._check_writable(sobject)
        row = self.live_row(sobject, record_id)
        self._delete_row(tx, row)

    def find_by(self, sobject: ObjectDef, definition: FieldDef, value: str) -> list[Row]:
        if definition.name == "Id":
            normalized = normalize_id(value)
            row = self.store.get(normalized) if normalized else None
            live = row is not None and row.sobject == sobject.name and row.deleted_at is None
            return [row] if live and row is not None else []
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

    def _before_insert(self, row: Row, explicit: dict[str, Any]) -> None:
        values = row.values
        if row.sobject == "Contact":
            values["Name"] = _full_name(values)
        elif row.sobject == "Opportunity":
            self._opportunity_fields(values, stage_changed=True, explicit=explicit)
        elif row.sobject == "PricebookEntry":
            self._check_entry(values)
        elif row.sobject == "OpportunityLineItem":
            self._line_from_entry(values)
            _line_totals(values, values)

    def _before_update(
        self, row: Row, merged: dict[str, Any], explicit: dict[str, Any]
    ) -> dict[str, Any]:
        """The values to write: what the body sets plus what the rules derive from it."""
        if row.sobject == "Contact":
            merged["Name"] = _full_name(merged)
        elif row.sobject == "Opportunity":
            moved = explicit.get("Pricebook2Id", row.values.get("Pricebook2Id"))
            if moved != row.values.get("Pricebook2Id") and self._lines(row.id):
                raise _integrity(
                    "Pricebook2Id (cannot change price book on an opportunity with products)",
                    ("Pricebook2Id",),
                )
            stage_changed = merged.get("StageName") != row.values.get("StageName")
            self._opportunity_fields(merged, stage_changed=stage_changed, explicit=explicit)
            if self._lines(row.id):
                merged["Amount"] = self._line_sum(row.id)
                merged["ExpectedRevenue"] = _expected(merged)
        elif row.sobject == "OpportunityLineItem":
            _line_totals(merged, explicit)
        elif row.sobject == "PricebookEntry" and merged.get("UseStandardPrice"):
            merged["UnitPrice"] = self._standard_price(str(merged["Product2Id"]))
        return {k: v for k, v in merged.items() if row.values.get(k) != v}

    def _after_change(
        self,
        tx: Transaction,
        sobject: str,
        values: dict[str, Any],
        before: dict[str, Any] | None,
    ) -> None:
        if sobject == "OpportunityLineItem":
            self._refresh_amount(tx, str(values["OpportunityId"]))

    def _opportunity_fields(
        self, values: dict[str, Any], *, stage_changed: bool, explicit: Mapping[str, Any]
    ) -> None:
        stage = values.get("StageName")
        probability, closed, won, forecast = STAGES.get(str(stage), (0, False, False, "Pipeline"))
        values["IsClosed"] = closed
        values["IsWon"] = won
        if stage_changed and "Probability" not in explicit:
            values["Probability"] = float(probability)
        if stage_changed and "ForecastCategoryName" not in explicit:
            values["ForecastCategoryName"] = forecast
        values["ExpectedRevenue"] = _expected(values)

    def _check_entry(self, values: dict[str, Any]) -> None:
        pricebook = self.store.rows[str(values["Pricebook2Id"])]
        product = self.store.rows[str(values["Product2Id"])]
        values["Name"] = product.values.get("Name")
        values["ProductCode"] = product.values.get("ProductCode")
        for row in self.store.all_rows("PricebookEntry"):
            if (
                row.values["Pricebook2Id"] == pricebook.id
                and row.values["Product2Id"] == product.id
            ):
                raise SalesforceError(
                    400,
                    "DUPLICATE_VALUE",
                    "This price definition already exists in this price book",
                )
        if pricebook.values.get("IsStandard"):
            if values.get("UseStandardPrice"):
                raise _integrity(
                    "UseStandardPrice (a standard price book entry cannot use the standard price)",
                    ("UseStandardPrice",),
                )
            return
        standard = self._standard_price(product.id)
        if values.get("UseStandardPrice"):
            values["UnitPrice"] = standard

    def _standard_price(self, product_id: str) -> float:
        for row in self.store.all_rows("PricebookEntry"):
            if (
                row.values["Product2Id"] == product_id
                and row.values["Pricebook2Id"] == self.store.standard_pricebook_id
            ):
                return float(row.values["UnitPrice"])
        raise SalesforceError(
            400, "STANDARD_PRICE_NOT_DEFINED", "No standard price defined for this product"
        )

    def _line_from_entry(self, values: dict[str, Any]) -> None:
        entry_id = values.get("PricebookEntryId")
        if entry_id is None:
            raise SalesforceError(
                400,
                "REQUIRED_FIELD_MISSING",
                "Required fields are missing: [PricebookEntryId]",
                ["PricebookEntryId"],
            )
        entry = self.store.rows[str(entry_id)]
        opportunity = self.store.rows[str(values["OpportunityId"])]
        if not entry.values.get("IsActive"):
            raise _integrity(
                "PricebookEntryId (pricebook entry is inactive)", ("PricebookEntryId",)
            )
        pricebook_id = opportunity.values.get("Pricebook2Id")
        if pricebook_id is not None and pricebook_id != entry.values["Pricebook2Id"]:
            raise _integrity(
                "PricebookEntryId (pricebook entry is in a different pricebook than the one "
                "assigned to the opportunity)",
                ("PricebookEntryId",),
            )
        product = self.store.rows[str(entry.values["Product2Id"])]
        values["Product2Id"] = product.id
        values["ListPrice"] = entry.values["UnitPrice"]
        values["ProductCode"] = product.values.get("ProductCode")
        values["Name"] = f"{opportunity.values.get('Name')} {product.values.get('Name')}"
        if values.get("UnitPrice") is not None and values.get("TotalPrice") is not None:
            raise _integrity(
                "TotalPrice (only one of unit price or total price may be specified)",
                ("TotalPrice",),
            )
        if values.get("UnitPrice") is None and values.get("TotalPrice") is None:
            values["UnitPrice"] = entry.values["UnitPrice"]

    def _lines(self, opportunity_id: str) -> list[Row]:
        return [
            row
            for row in self.store.all_rows("OpportunityLineItem")
            if row.values["OpportunityId"] == opportunity_id
        ]

    def _line_sum(self, opportunity_id: str) -> float:
        return round(
            sum(float(r.values["TotalPrice"] or 0) for r in self._lines(opportunity_id)), 2
        )

    def _refresh_amount(self, tx: Transaction, opportunity_id: str) -> None:
        opportunity = self.store.rows[opportunity_id]
        if opportunity.deleted_at is not None:
            return
        lines = self._lines(opportunity_id)
        values: dict[str, Any] = {"HasOpportunityLineItem": bool(lines)}
        if lines:
            values["Amount"] = self._line_sum(opportunity_id)
            values["ExpectedRevenue"] = _expected({**opportunity.values, **values})
            values["Pricebook2Id"] = self.store.rows[
                str(lines[0].values["PricebookEntryId"])
            ].values["Pricebook2Id"]
        changed = {k: v for k, v in values.items() if opportunity.values.get(k) != v}
        if changed:
            tx.modify(opportunity_id, changed, self.store.now())

    def _delete_row(self, tx: Transaction, row: Row) -> None:
        if row.sobject == "Pricebook2" and row.values.get("IsStandard"):
            raise SalesforceError(400, "DELETE_FAILED", "Cannot delete the standard price book")
        if row.sobject == "PricebookEntry" and any(
            line.values["PricebookEntryId"] == row.id
            for line in self.store.all_rows("OpportunityLineItem")
        ):
            raise SalesforceError(
                400, "DELETE_FAILED", "This price book entry is in use by opportunity products"
            )
        tx.remove(row.id, self.store.now())
        sobject = self.store.objects[row.sobject]
        for relationship in sobject.children:
            if not relationship.cascade_delete:
                continue
            for child in list(self.store.all_rows(relationship.child)):
                if child.values.get(relationship.field) == row.id:
                    self._delete_row(tx, child)
        if row.sobject == "OpportunityLineItem":
            self._refresh_amount(tx, str(row.values["OpportunityId"]))


def _full_name(values: Mapping[str, Any]) -> str:
    return " ".join(str(v) for v in (values.get("FirstName"), values.get("LastName")) if v)


def _expected(values: Mapping[str, Any]) -> float | None:
    amount, probability = values.get("Amount"), values.get("Probability")
    if amount is None or probability is None:
        return None
    return round(float(amount) * float(probability) / 100, 2)


def _line_totals(values: dict[str, Any], explicit: Mapping[str, Any]) -> None:
    """UnitPrice times Quantity, less the discount; a TotalPrice in the body sets UnitPrice."""
    quantity = float(values.get("Quantity") or 0)
    discount = float(values.get("Discount") or 0)
    if explicit.get("TotalPrice") is not None and quantity:
        values["UnitPrice"] = round(float(explicit["TotalPrice"]) / quantity, 2)
    unit = float(values.get("UnitPrice") or 0)
    values["Subtotal"] = round(unit * quantity, 2)
    values["TotalPrice"] = round(unit * quantity * (1 - discount / 100), 2)


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
