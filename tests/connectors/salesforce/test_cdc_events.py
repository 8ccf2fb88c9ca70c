"""Decoding change events (pure): bitmaps, Avro, REST field names, echoes, transactions."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import fastavro
import orjson
import pytest

from connectors.base.tracking.events import ChannelEvent, EventCursor, Gap, Overflow, plan
from connectors.salesforce.cdc import _delivery
from connectors.salesforce.cdc_events import (
    ChangeEvent,
    EventSchema,
    UndecodableEvent,
    changed_rest_fields,
    complete_transactions,
    decode_bitmap,
    decode_event,
    is_echo,
    rest_fields,
    rest_name,
)
from q2c.localserver.salesforce.cdc_log import ChangeEventLog
from q2c.localserver.salesforce.cdc_schema import standard_schema
from q2c.localserver.salesforce.changes import RecordChange

HEADER = {
    "type": "record",
    "name": "ChangeEventHeader",
    "fields": [
        {"name": "entityName", "type": "string"},
        {"name": "recordIds", "type": {"type": "array", "items": "string"}},
        {"name": "changeType", "type": "string"},
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
NAME = {
    "type": "record",
    "name": "PersonName",
    "fields": [
        {"name": "Salutation", "type": ["null", "string"], "default": None},
        {"name": "FirstName", "type": ["null", "string"], "default": None},
        {"name": "LastName", "type": ["null", "string"], "default": None},
    ],
}
# A ContactChangeEvent as documented: header, then fields (Name compound at position 2).
CONTACT = {
    "type": "record",
    "name": "ContactChangeEvent",
    "namespace": "com.sforce.eventbus",
    "fields": [
        {"name": "ChangeEventHeader", "type": HEADER},
        {"name": "AccountId", "type": ["null", "string"], "default": None},
        {"name": "Name", "type": ["null", NAME], "default": None},
        {"name": "Email", "type": ["null", "string"], "default": None},
        {
            "name": "LastModifiedDate",
            "type": ["null", {"type": "long", "logicalType": "timestamp-millis"}],
            "default": None,
        },
    ],
}
SCHEMA = EventSchema.of("contact-1", orjson.dumps(CONTACT).decode())


def header(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "entityName": "Contact",
        "recordIds": ["003000000000001AAA"],
        "changeType": "UPDATE",
        "changeOrigin": "com/salesforce/api/rest/62.0;client=someone",
        "transactionKey": "tx-1",
        "sequenceNumber": 1,
        "commitTimestamp": 1_700_000_000_123,
        "commitNumber": 42,
        "commitUser": "005000000000001AAA",
        "nulledFields": [],
        "diffFields": [],
        "changedFields": [],
    }
    return base | overrides


def encode(record: dict[str, Any], schema: dict[str, Any] = CONTACT) -> bytes:
    buffer = io.BytesIO()
    fastavro.schemaless_writer(buffer, fastavro.parse_schema(schema), record)
    return buffer.getvalue()


def test_bitmaps_name_fields_by_position_and_compound_sub_fields() -> None:
    # bit 1 AccountId, bit 2 Name, bit 4 LastModifiedDate; Name's bit 2 is LastName.
    assert decode_bitmap(SCHEMA, ["0x16", "2-0x4"]) == (
        "AccountId",
        "Name",
        "LastModifiedDate",
        "Name.LastName",
    )
    assert decode_bitmap(SCHEMA, ["0x8"]) == ("Email",)
    assert decode_bitmap(SCHEMA, []) == ()
    with pytest.raises(UndecodableEvent):
        decode_bitmap(SCHEMA, ["0x100"])  # no field 8
    with pytest.raises(UndecodableEvent):
        decode_bitmap(SCHEMA, ["3-0x1"])  # Email is not compound
    with pytest.raises(UndecodableEvent):
        decode_bitmap(SCHEMA, ["zz"])


def test_an_update_decodes_to_its_changed_fields_under_rest_names() -> None:
    payload = encode(
        {
            "ChangeEventHeader": header(changedFields=["0x1C", "2-0x6"], nulledFields=["0x8"]),
            "Name": {"Salutation": None, "FirstName": "Ada", "LastName": "Lovelace"},
            "LastModifiedDate": dt.datetime(2024, 5, 6, 7, 8, 9, 10_000, tzinfo=dt.UTC),
        }
    )
    event = decode_event(SCHEMA, payload)
    assert event.entity == "Contact"
    assert event.record_ids == ("003000000000001AAA",)
    assert event.commit_timestamp == dt.datetime(2023, 11, 14, 22, 13, 20, 123_000, dt.UTC)
    assert event.changed_fields == (
        "Name",
        "Email",
        "LastModifiedDate",
        "Name.FirstName",
        "Name.LastName",
    )
    assert changed_rest_fields(event) == ("Email", "LastModifiedDate", "FirstName", "LastName")
    assert rest_fields(event) == {
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "LastModifiedDate": "2024-05-06T07:08:09.010+0000",
        "Email": None,
    }


def test_rest_names_of_compound_sub_fields() -> None:
    assert rest_name("BillingAddress.City") == "BillingCity"
    assert rest_name("MailingAddress.PostalCode") == "MailingPostalCode"
    assert rest_name("Name.FirstName") == "FirstName"
    assert rest_name("Amount") == "Amount"


def test_a_payload_that_does_not_fit_its_schema_is_undecodable() -> None:
    with pytest.raises(UndecodableEvent):
        decode_event(SCHEMA, b"\x02garbage")
    with pytest.raises(UndecodableEvent):
        EventSchema.of("x", '{"type": "record", "name": "X", "fields": []}')


def test_the_local_servers_events_round_trip(tmp_path: Any) -> None:
    """The local server writes what the decoder reads, bitmaps included."""
    log = ChangeEventLog(tmp_path / "cdc.sqlite3")
    (stored,) = log.append(
        [
            RecordChange(
                "Account",
                "UPDATE",
                ("001000000000001AAA", "001000000000002AAA"),
                {"BillingCity": "Lyon", "Phone": None, "AnnualRevenue": 12.5},
                changed_fields=("BillingCity", "Phone", "AnnualRevenue"),
                nulled_fields=("Phone",),
                change_origin="com/salesforce/api/rest/62.0;client=q2c",
            )
        ]
    )
    schema_json = log.schema_json(stored.schema_id)
    assert schema_json is not None
    event = decode_event(EventSchema.of(stored.schema_id, schema_json), stored.payload)
    assert event.record_ids == ("001000000000001AAA", "001000000000002AAA")
    assert set(changed_rest_fields(event)) == {"BillingCity", "Phone", "AnnualRevenue"}
    assert event.nulled_fields == ("Phone",)
    assert rest_fields(event) == {"BillingCity": "Lyon", "AnnualRevenue": 12.5, "Phone": None}
    assert is_echo(event.change_origin, "q2c")
    assert stored.schema_id == standard_schema("Account").schema_id
    log.close()


def test_echoes_are_recognised_by_the_client_id() -> None:
    assert is_echo("com/salesforce/api/rest/62.0;client=q2c", "q2c")
    assert is_echo("com/salesforce/api/soap/62.0;client=q2c;other=1", "q2c")
    assert not is_echo("com/salesforce/api/rest/62.0;client=q2c-test", "q2c")
    assert not is_echo("com/salesforce/api/rest/62.0", "q2c")
    assert not is_echo("", "q2c")
    assert not is_echo("com/salesforce/api/rest/62.0;client=", "")


def test_one_transactions_events_stay_together() -> None:
    assert complete_transactions(["a", "a", "b", "b"], idle=False) == 2
    assert complete_transactions(["a", "a", "b", "b"], idle=True) == 4
    assert complete_transactions(["b", "b"], idle=False) == 2  # all there is
    assert complete_transactions(["a", ""], idle=False) == 2
    assert complete_transactions([], idle=False) == 0


def event_of(change_type: str, ids: tuple[str, ...] = ("006000000000001AAA",)) -> ChangeEvent:
    return ChangeEvent(
        entity="Opportunity",
        record_ids=ids,
        change_type=change_type,
        change_origin="",
        transaction_key="t",
        sequence_number=1,
        commit_timestamp=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        commit_number=1,
        commit_user="",
        changed_fields=(),
        nulled_fields=(),
        diff_fields=(),
        fields={},
    )


def test_gap_and_overflow_events_plan_a_reread_and_a_resnapshot() -> None:
    cursor = EventCursor("00", dt.datetime(2023, 12, 31, tzinfo=dt.UTC))
    gap = _delivery(b"\x01", event_of("GAP_UPDATE"))
    assert isinstance(gap, Gap)
    action, after = plan(gap, cursor, lambda obj, since: "poll")
    assert action.describe() == "re-read 1 Opportunity record(s) by id"
    assert after.position == "01"
    overflow = _delivery(b"\x02", event_of("GAP_OVERFLOW", ()))
    assert isinstance(overflow, Overflow)
    action, after = plan(overflow, cursor, lambda obj, since: f"poll {obj} since {since}")
    assert "re-snapshot Opportunity" in action.describe()
    assert after.resync is not None
    assert after.resync.pending == (
        ("Opportunity", "poll Opportunity since 2023-12-31 00:00:00+00:00"),
    )
    assert after.resync.resume == "02"
    change = _delivery(b"\x03", event_of("UPDATE"))
    assert isinstance(change, ChannelEvent)
    assert change.position == "03"
    # Those of an object not followed are passed over like its change events.
    passed = _delivery(b"\x04", event_of("GAP_OVERFLOW", ()), frozenset({"Account"}))
    assert isinstance(passed, ChannelEvent)
