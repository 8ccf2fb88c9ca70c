"""Change Data Capture event schemas and payloads, as Salesforce documents them.

A change event is an Avro record ``<Object>ChangeEvent`` (namespace ``com.sforce.eventbus``)
whose first field is the ``ChangeEventHeader`` and whose other fields are the object's
fields, each a nullable union defaulting to null. Compound fields are nested records: a
Contact's or User's ``Name`` (``Salutation``, ``FirstName``, ``LastName``) and every address
(``BillingAddress``: ``Street``, ``City``, ``State``, … ``GeocodeAccuracy``), where the REST
API has flat fields (``FirstName``, ``BillingCity``). Datetimes are ``long`` milliseconds
(``timestamp-millis``), dates ``int`` days (``date``).

The header's ``changedFields``, ``nulledFields`` and ``diffFields`` are bitmaps over the
schema's field positions: ``0x…`` is a hex number whose bit *i* is the *i*-th field of the
event record; ``p-0x…`` is the same over the sub-fields of the compound field at position
*p*. An UPDATE's body carries the changed fields; the others are null.

The schema of an object is its documented fields plus every other field seen in a change
(custom fields), in the order first seen, so adding a field makes a new schema (and id)
while old events keep theirs. The schema id is a hash of the schema's canonical JSON.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from q2c.localserver.salesforce.changes import RecordChange

log = logging.getLogger(__name__)

NAMESPACE = "com.sforce.eventbus"
CHANGE_TYPES = (
    "CREATE",
    "UPDATE",
    "DELETE",
    "UNDELETE",
    "GAP_CREATE",
    "GAP_UPDATE",
    "GAP_DELETE",
    "GAP_UNDELETE",
    "GAP_OVERFLOW",
)

# A field's kind: an Avro primitive, a datetime/date, or a compound field ("address", "name").
ADDRESS_PARTS = (
    ("Street", "string"),
    ("City", "string"),
    ("State", "string"),
    ("PostalCode", "string"),
    ("Country", "string"),
    ("StateCode", "string"),
    ("CountryCode", "string"),
    ("Latitude", "double"),
    ("Longitude", "double"),
    ("GeocodeAccuracy", "string"),
)
NAME_PARTS = (("Salutation", "string"), ("FirstName", "string"), ("LastName", "string"))

_AUDIT = (
    ("CreatedDate", "datetime"),
    ("CreatedById", "string"),
    ("LastModifiedDate", "datetime"),
    ("LastModifiedById", "string"),
)

# The documented standard fields change events carry (the record id is in the header).
STANDARD_FIELDS: dict[str, tuple[tuple[str, str], ...]] = {
    "Account": (
        ("Name", "string"),
        ("Type", "string"),
        ("ParentId", "string"),
        ("BillingAddress", "address"),
        ("ShippingAddress", "address"),
        ("Phone", "string"),
        ("Fax", "string"),
        ("AccountNumber", "string"),
        ("Website", "string"),
        ("Industry", "string"),
        ("AnnualRevenue", "double"),
        ("NumberOfEmployees", "int"),
        ("Description", "string"),
        ("OwnerId", "string"),
        *_AUDIT,
    ),
    "Contact": (
        ("AccountId", "string"),
        ("Name", "name"),
        ("MailingAddress", "address"),
        ("Phone", "string"),
        ("MobilePhone", "string"),
        ("Email", "string"),
        ("Title", "string"),
        ("Department", "string"),
        ("Description", "string"),
        ("OwnerId", "string"),
        *_AUDIT,
    ),
    "Opportunity": (
        ("AccountId", "string"),
        ("Name", "string"),
        ("Description", "string"),
        ("StageName", "string"),
        ("Amount", "double"),
        ("Probability", "double"),
        ("CloseDate", "date"),
        ("Type", "string"),
        ("NextStep", "string"),
        ("LeadSource", "string"),
        ("IsClosed", "boolean"),
        ("IsWon", "boolean"),
        ("ForecastCategory", "string"),
        ("ForecastCategoryName", "string"),
        ("Pricebook2Id", "string"),
        ("SyncedQuoteId", "string"),
        ("OwnerId", "string"),
        *_AUDIT,
    ),
    "Quote": (
        ("Name", "string"),
        ("OpportunityId", "string"),
        ("AccountId", "string"),
        ("ContactId", "string"),
        ("Pricebook2Id", "string"),
        ("QuoteNumber", "string"),
        ("IsSyncing", "boolean"),
        ("Status", "string"),
        ("ExpirationDate", "date"),
        ("Description", "string"),
        ("Tax", "double"),
        ("ShippingHandling", "double"),
        ("Discount", "double"),
        ("Subtotal", "double"),
        ("TotalPrice", "double"),
        ("GrandTotal", "double"),
        ("LineItemCount", "int"),
        ("OwnerId", "string"),
        *_AUDIT,
    ),
    "QuoteLineItem": (
        ("QuoteId", "string"),
        ("PricebookEntryId", "string"),
        ("Product2Id", "string"),
        ("OpportunityLineItemId", "string"),
        ("LineNumber", "string"),
        ("Quantity", "double"),
        ("UnitPrice", "double"),
        ("ListPrice", "double"),
        ("Subtotal", "double"),
        ("TotalPrice", "double"),
        ("Discount", "double"),
        ("ServiceDate", "date"),
        ("Description", "string"),
        *_AUDIT,
    ),
    "OpportunityLineItem": (
        ("OpportunityId", "string"),
        ("PricebookEntryId", "string"),
        ("Product2Id", "string"),
        ("ProductCode", "string"),
        ("Name", "string"),
        ("Quantity", "double"),
        ("UnitPrice", "double"),
        ("ListPrice", "double"),
        ("TotalPrice", "double"),
        ("Discount", "double"),
        ("ServiceDate", "date"),
        ("Description", "string"),
        *_AUDIT,
    ),
    "Product2": (
        ("Name", "string"),
        ("ProductCode", "string"),
        ("Description", "string"),
        ("IsActive", "boolean"),
        ("Family", "string"),
        ("QuantityUnitOfMeasure", "string"),
        ("StockKeepingUnit", "string"),
        ("ExternalId", "string"),
        *_AUDIT,
    ),
    "Pricebook2": (
        ("Name", "string"),
        ("IsActive", "boolean"),
        ("IsStandard", "boolean"),
        ("Description", "string"),
        *_AUDIT,
    ),
    "PricebookEntry": (
        ("Name", "string"),
        ("Pricebook2Id", "string"),
        ("Product2Id", "string"),
        ("UnitPrice", "double"),
        ("IsActive", "boolean"),
        ("UseStandardPrice", "boolean"),
        ("ProductCode", "string"),
        *_AUDIT,
    ),
    "User": (
        ("Username", "string"),
        ("Name", "name"),
        ("Alias", "string"),
        ("Email", "string"),
        ("IsActive", "boolean"),
        ("Title", "string"),
        ("Department", "string"),
        *_AUDIT,
    ),
}

# REST fields never in a change event: the id is the header's, the rest are not tracked.
UNTRACKED = frozenset({"Id", "IsDeleted", "SystemModstamp", "attributes", "LastViewedDate"})
_ADDRESS_PREFIXES = ("Billing", "Shipping", "Mailing", "Other")


def topic_of(entity: str) -> str:
    """``/data/AccountChangeEvent``; ``/data/Foo__ChangeEvent`` for ``Foo__c``."""
    if entity.endswith("__c"):
        return f"/data/{entity[:-3]}__ChangeEvent"
    return f"/data/{entity}ChangeEvent"


def kind_of_value(value: Any) -> str:
    """The kind of a field not in the documented list, from a value of it."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "double"
    return "string"


def compound_part(entity: str, name: str, fields: Sequence[tuple[str, str]]) -> tuple[str, str]:
    """The change-event field and sub-field of the REST field ``name``, ``(name, "")``
    when it is not part of a compound field of ``fields``."""
    kinds = dict(fields)
    if kinds.get("Name") == "name" and name in dict(NAME_PARTS):
        return "Name", name
    for prefix in _ADDRESS_PREFIXES:
        if name.startswith(prefix) and kinds.get(f"{prefix}Address") == "address":
            part = name[len(prefix) :]
            if part in dict(ADDRESS_PARTS):
                return f"{prefix}Address", part
    return name, ""


def _avro_type(kind: str, field: str) -> Any:
    if kind == "datetime":
        return {"type": "long", "logicalType": "timestamp-millis"}
    if kind == "date":
        return {"type": "int", "logicalType": "date"}
    if kind in ("address", "name"):
        parts = ADDRESS_PARTS if kind == "address" else NAME_PARTS
        record = "Address" if kind == "address" else "Switchable_PersonName"
        return {
            "type": "record",
            "name": f"{record}_{field}",
            "namespace": NAMESPACE,
            "fields": [
                {"name": part, "type": ["null", _avro_type(k, part)], "default": None}
                for part, k in parts
            ],
        }
    return kind


HEADER_SCHEMA: dict[str, Any] = {
    "type": "record",
    "name": "ChangeEventHeader",
    "namespace": NAMESPACE,
    "fields": [
        {"name": "entityName", "type": "string"},
        {"name": "recordIds", "type": {"type": "array", "items": "string"}},
        {
            "name": "changeType",
            "type": {"type": "enum", "name": "ChangeType", "symbols": list(CHANGE_TYPES)},
        },
        {"name": "changeOrigin", "type": "string"},
        {"name": "transactionKey", "type": "string"},
        {"name": "sequenceNumber", "type": "int"},
        {"name": "commitTimestamp", "type": "long"},
        {"name": "commitNumber", "type": "long"},
        {"name": "commitUser", "type": "string"},
        {"name": "nulledFields", "type": {"type": "array", "items": "string"}},
        {"name": "diffFields", "type": {"type": "array", "items": "string"}},
        {"name": "changedFields", "type": {"type": "array", "items": "string"}},
    ],
}


@dataclass(frozen=True)
class EventSchema:
    """One version of an object's change-event schema."""

    entity: str
    fields: tuple[tuple[str, str], ...]
    """The event's fields after the header, (name, kind), in schema order."""

    def avro(self) -> dict[str, Any]:
        name = self.entity[:-3] + "__" if self.entity.endswith("__c") else self.entity
        return {
            "type": "record",
            "name": f"{name}ChangeEvent",
            "namespace": NAMESPACE,
            "fields": [
                {"name": "ChangeEventHeader", "type": HEADER_SCHEMA},
                *(
                    {"name": f, "type": ["null", _avro_type(k, f)], "default": None}
                    for f, k in self.fields
                ),
            ],
        }

    def json(self) -> str:
        return orjson.dumps(self.avro(), option=orjson.OPT_SORT_KEYS).decode()

    @property
    def schema_id(self) -> str:
        digest = hashlib.sha256(self.json().encode()).digest()
        return base64.urlsafe_b64encode(digest).decode()[:22]

    def position(self, field: str) -> int:
        """The field's position in the event record (the header is 0)."""
        return 1 + [f for f, _ in self.fields].index(field)

    def with_fields_of(self, values: Mapping[str, Any]) -> EventSchema:
        """This schema, plus the fields of ``values`` it lacks (the REST API names)."""
        known = {f for f, _ in self.fields}
        extra: list[tuple[str, str]] = []
        for name, value in values.items():
            if name in UNTRACKED:
                continue
            field, _ = compound_part(self.entity, name, self.fields)
            if field not in known:
                known.add(field)
                extra.append((field, kind_of_value(value)))
        if not extra:
            return self
        return EventSchema(self.entity, (*self.fields, *extra))


def standard_schema(entity: str) -> EventSchema:
    return EventSchema(entity, STANDARD_FIELDS.get(entity, _AUDIT))


def _hex(bits: Iterable[int]) -> str:
    value = 0
    for bit in bits:
        value |= 1 << bit
    return f"0x{value:X}"


def bitmaps(schema: EventSchema, names: Iterable[str]) -> list[str]:
    """The documented bitmap list of the REST fields ``names``: ``0x…`` over the event's
    top-level fields, then ``p-0x…`` per compound field over its sub-fields."""
    top: set[int] = set()
    nested: dict[int, set[int]] = {}
    kinds = dict(schema.fields)
    for name in names:
        if name in UNTRACKED:
            continue
        field, part = compound_part(schema.entity, name, schema.fields)
        if field not in kinds:
            continue
        pos = schema.position(field)
        top.add(pos)
        if part:
            parts = [p for p, _ in (NAME_PARTS if kinds[field] == "name" else ADDRESS_PARTS)]
            nested.setdefault(pos, set()).add(parts.index(part))
    if not top:
        return []
    return [_hex(top), *(f"{pos}-{_hex(bits)}" for pos, bits in sorted(nested.items()))]


def _datetime_ms(value: Any) -> int:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return int(value)
    text = str(value).replace("Z", "+00:00")
    if len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"  # +0000 → +00:00
    moment = dt.datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp() * 1000)


def _date_days(value: Any) -> int:
    day = dt.date.fromisoformat(str(value)[:10])
    return (day - dt.date(1970, 1, 1)).days


def avro_value(kind: str, value: Any) -> Any:
    """A REST value as the event's Avro field holds it."""
    if value is None:
        return None
    if kind == "datetime":
        return _datetime_ms(value)
    if kind == "date":
        return _date_days(value)
    if kind == "double":
        return float(value)
    if kind == "int":
        return int(value)
    if kind == "boolean":
        return bool(value)
    if kind == "string":
        return value if isinstance(value, str) else orjson.dumps(value).decode()
    raise ValueError(f"no Avro value of kind {kind}")


def event_record(
    schema: EventSchema,
    change: RecordChange,
    *,
    transaction_key: str,
    commit_number: int,
    commit_timestamp_ms: int,
) -> dict[str, Any]:
    """The Avro record of one change: the header, then the fields the change carries."""
    kinds = dict(schema.fields)
    body: dict[str, Any] = {field: None for field, _ in schema.fields}
    is_update = change.change_type == "UPDATE"
    changed = list(change.changed_fields or (change.fields if is_update else ()))
    nulled = list(change.nulled_fields) or (
        [name for name in changed if change.fields.get(name) is None] if is_update else []
    )
    if not change.change_type.startswith("GAP_") and change.change_type != "DELETE":
        for name, value in change.fields.items():
            if name in UNTRACKED:
                continue
            field, part = compound_part(schema.entity, name, schema.fields)
            if field not in kinds:
                continue
            try:
                if part:
                    sub = dict(NAME_PARTS if kinds[field] == "name" else ADDRESS_PARTS)
                    nested = body[field] or {p: None for p in sub}
                    nested[part] = avro_value(sub[part], value)
                    body[field] = nested
                else:
                    body[field] = avro_value(kinds[field], value)
            except (ValueError, TypeError) as exc:
                log.warning(
                    "%s.%s: %r has no %s value: %s", schema.entity, name, value, kinds[field], exc
                )
    header = {
        "entityName": schema.entity,
        "recordIds": list(change.record_ids),
        "changeType": change.change_type,
        "changeOrigin": change.change_origin,
        "transactionKey": transaction_key,
        "sequenceNumber": change.sequence_number,
        "commitTimestamp": commit_timestamp_ms,
        "commitNumber": commit_number,
        "commitUser": change.commit_user,
        "nulledFields": bitmaps(schema, nulled) if is_update else [],
        "diffFields": [],
        "changedFields": bitmaps(schema, changed) if is_update else [],
    }
    return {"ChangeEventHeader": header, **body}
