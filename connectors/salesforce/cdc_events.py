"""Change Data Capture events as the Pub/Sub API delivers them, decoded (pure, no I/O).

An event is an Avro record written with the schema ``GetSchema`` returns for its schema id:
the ``ChangeEventHeader`` first, then the object's fields, null unless the change carries
them. The header's ``changedFields``, ``nulledFields`` and ``diffFields`` are bitmaps over the
schema's field positions (``0x…``: bit *i* is the *i*-th field; ``p-0x…``: the sub-fields of
the compound field at position *p*), decoded here to field names (``Name.LastName`` for a
sub-field). Compound fields (a person's ``Name``, addresses) are nested records in the event
and flat fields in the REST API (``FirstName``, ``BillingCity``): :func:`rest_fields` gives
the event's values under the REST names, datetimes and dates in the REST API's formats.

``changeOrigin`` carries the client id of the REST call that made the change
(``com/salesforce/api/rest/62.0;client=q2c``): :func:`is_echo` recognises q2c's own writes.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import fastavro
import orjson

GAP_TYPES = frozenset({"GAP_CREATE", "GAP_UPDATE", "GAP_DELETE", "GAP_UNDELETE"})
OVERFLOW = "GAP_OVERFLOW"
_ADDRESS = "Address"


class UndecodableEvent(ValueError):
    """An event that does not decode with its schema, or whose header is not CDC's."""


@dataclass(frozen=True)
class EventSchema:
    """A change-event schema: its id, JSON and the parsed form fastavro reads with."""

    schema_id: str
    schema_json: str
    parsed: Any = field(repr=False)
    fields: tuple[str, ...]
    """The record's field names, by position (0: ``ChangeEventHeader``)."""
    sub_fields: Mapping[int, tuple[str, ...]]
    """The sub-field names of the compound field at a position."""

    @classmethod
    def of(cls, schema_id: str, schema_json: str) -> EventSchema:
        try:
            document = orjson.loads(schema_json)
            parsed = fastavro.parse_schema(document)
            names: list[str] = []
            subs: dict[int, tuple[str, ...]] = {}
            for pos, item in enumerate(document["fields"]):
                names.append(str(item["name"]))
                for branch in item["type"] if isinstance(item["type"], list) else [item["type"]]:
                    if isinstance(branch, dict) and branch.get("type") == "record" and pos:
                        subs[pos] = tuple(str(sub["name"]) for sub in branch["fields"])
        except (ValueError, KeyError, TypeError) as exc:
            raise UndecodableEvent(f"schema {schema_id}: {exc}") from None
        if not names or names[0] != "ChangeEventHeader":
            raise UndecodableEvent(f"schema {schema_id} is not a change event schema")
        return cls(schema_id, schema_json, parsed, tuple(names), subs)


@dataclass(frozen=True)
class ChangeEvent:
    """One decoded change event."""

    entity: str
    record_ids: tuple[str, ...]
    change_type: str
    change_origin: str
    transaction_key: str
    sequence_number: int
    commit_timestamp: dt.datetime
    commit_number: int
    commit_user: str
    changed_fields: tuple[str, ...]
    nulled_fields: tuple[str, ...]
    diff_fields: tuple[str, ...]
    fields: Mapping[str, Any]
    """The event's field values by event field name (compound fields as dicts), as Avro
    decoded them; null fields left out."""

    @property
    def is_gap(self) -> bool:
        return self.change_type in GAP_TYPES

    @property
    def is_overflow(self) -> bool:
        return self.change_type == OVERFLOW


def decode_bitmap(schema: EventSchema, bitmaps: Sequence[str]) -> tuple[str, ...]:
    """The field names a documented bitmap list stands for: top-level fields by name, a
    compound field's sub-fields as ``Field.Sub``."""
    names: list[str] = []
    for item in bitmaps:
        pos_text, _, hex_text = item.rpartition("-")
        try:
            bits = int(hex_text, 16)
            parent = int(pos_text) if pos_text else None
        except ValueError:
            raise UndecodableEvent(f"bitmap {item!r} is not 0x… or position-0x…") from None
        if parent is None:
            table = schema.fields
        elif parent in schema.sub_fields:
            table = schema.sub_fields[parent]
        else:
            raise UndecodableEvent(f"bitmap {item!r}: field {parent} is not compound")
        prefix = "" if parent is None else f"{schema.fields[parent]}."
        index = 0
        while bits:
            if bits & 1:
                if index >= len(table):
                    raise UndecodableEvent(f"bitmap {item!r} names field {index} of {len(table)}")
                names.append(prefix + table[index])
            bits >>= 1
            index += 1
    return tuple(names)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return rest_datetime(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def rest_datetime(moment: dt.datetime) -> str:
    """The REST API's datetime format: ``2024-01-02T03:04:05.000+0000``."""
    moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def decode_event(schema: EventSchema, payload: bytes) -> ChangeEvent:
    """The change event of an Avro ``payload`` written with ``schema``."""
    try:
        record = fastavro.schemaless_reader(io.BytesIO(payload), schema.parsed, None)
    except Exception as exc:  # fastavro raises whatever the bytes provoke
        raise UndecodableEvent(
            f"payload does not decode with schema {schema.schema_id}: {exc}"
        ) from None
    if not isinstance(record, dict) or not isinstance(record.get("ChangeEventHeader"), dict):
        raise UndecodableEvent("the event has no ChangeEventHeader")
    header = record["ChangeEventHeader"]
    try:
        stamp = header["commitTimestamp"]
        return ChangeEvent(
            entity=str(header["entityName"]),
            record_ids=tuple(str(i) for i in header["recordIds"]),
            change_type=str(header["changeType"]),
            change_origin=str(header.get("changeOrigin") or ""),
            transaction_key=str(header.get("transactionKey") or ""),
            sequence_number=int(header.get("sequenceNumber") or 0),
            commit_timestamp=dt.datetime.fromtimestamp(int(stamp) / 1000, dt.UTC),
            commit_number=int(header.get("commitNumber") or 0),
            commit_user=str(header.get("commitUser") or ""),
            changed_fields=decode_bitmap(schema, header.get("changedFields") or ()),
            nulled_fields=decode_bitmap(schema, header.get("nulledFields") or ()),
            diff_fields=decode_bitmap(schema, header.get("diffFields") or ()),
            fields={
                k: _jsonable(v)
                for k, v in record.items()
                if k != "ChangeEventHeader" and v is not None
            },
        )
    except (KeyError, TypeError, ValueError, OverflowError) as exc:
        raise UndecodableEvent(f"the ChangeEventHeader is not CDC's: {exc}") from None


def rest_name(event_field: str) -> str:
    """The REST API field of an event field or sub-field: ``Name.FirstName`` →
    ``FirstName``, ``BillingAddress.City`` → ``BillingCity``, ``Amount`` → ``Amount``."""
    parent, _, sub = event_field.partition(".")
    if not sub:
        return parent
    if parent.endswith(_ADDRESS):
        return parent[: -len(_ADDRESS)] + sub
    return sub


def rest_fields(event: ChangeEvent) -> dict[str, Any]:
    """The event's values under REST API names: every field it carries, and the nulled
    ones as None (an UPDATE carries only what changed)."""
    values: dict[str, Any] = {}
    for name, value in event.fields.items():
        if isinstance(value, dict):
            for sub, part in value.items():
                if part is not None:
                    values[rest_name(f"{name}.{sub}")] = part
        else:
            values[name] = value
    nested = {name.partition(".")[0] for name in event.nulled_fields if "." in name}
    for name in event.nulled_fields:
        if name not in nested:
            values.setdefault(rest_name(name), None)
    return values


def changed_rest_fields(event: ChangeEvent) -> tuple[str, ...]:
    """An UPDATE's changed fields under REST API names (a compound field's sub-fields
    instead of the compound field itself)."""
    nested = {name.partition(".")[0] for name in event.changed_fields if "." in name}
    return tuple(rest_name(name) for name in event.changed_fields if name not in nested)


def is_echo(change_origin: str, client_id: str) -> bool:
    """Whether ``changeOrigin`` names q2c's client id (``…;client=<id>``)."""
    if not client_id:
        return False
    for part in change_origin.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key == "client" and value == client_id:
            return True
    return False


def complete_transactions(keys: Sequence[str], *, idle: bool) -> int:
    """How many events to hand on now, of those delivered with these transaction keys (in
    order), so that one transaction's events stay together: the trailing transaction may go
    on in the next delivery unless the channel went ``idle``, so it is held back, except
    when it is all there is (or has no key)."""
    if idle or not keys or not keys[-1]:
        return len(keys)
    start = len(keys)
    while start > 0 and keys[start - 1] == keys[-1]:
        start -= 1
    return start or len(keys)
