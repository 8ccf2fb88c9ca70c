from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pydantic import JsonValue, ValidationError

import schemas as s
from tests.schemas.samples import AT


def test_fingerprint_ignores_key_order_and_volatile_keys() -> None:
    a = {"id": 1, "name": "Acme", "lines": [{"q": "1"}], "write_date": "x"}
    b = {"write_date": "y", "lines": [{"q": "1"}], "name": "Acme", "id": 1}
    assert s.fingerprint(a) != s.fingerprint(b)
    assert s.fingerprint(a, ignore=["write_date"]) == s.fingerprint(b, ignore=["write_date"])
    assert s.fingerprint(a).startswith("sha256:")
    assert len(s.fingerprint(a)) == len("sha256:") + 64


def test_fingerprint_changes_with_content() -> None:
    assert s.fingerprint({"amount": "1.0"}) != s.fingerprint({"amount": "1.00"})
    assert s.fingerprint({"lines": [1, 2]}) != s.fingerprint({"lines": [2, 1]})


def test_canonical_json_is_stable_for_python_values() -> None:
    record = {"b": Decimal("1.50"), "a": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), "c": (1, 2)}
    assert s.canonical_json(record) == b'{"a":"2026-01-02T03:04:05Z","b":"1.50","c":[1,2]}'
    with pytest.raises(TypeError, match="not JSON serializable"):
        s.fingerprint({"x": object()})


def test_raw_change_computes_its_fingerprint_and_round_trips() -> None:
    record: dict[str, JsonValue] = {"id": 5, "name": "Acme", "write_date": "2026-11-26 12:00:00"}
    change = s.RawChange.of(
        system="tryton",
        object="party.party",
        record_id="5",
        operation=s.Operation.UPDATE,
        source_ts=AT,
        cursor="c",
        record=record,
        observed_at=AT,
        ignore=["write_date"],
    )
    assert change.fingerprint == s.fingerprint(record, ignore=["write_date"])
    assert change.record == record
    wire = s.encode(change)
    assert wire.startswith(b'{"schema":"raw_change","schema_version":1,')
    assert b"traceparent" not in wire
    assert s.decode(wire) == change


def test_raw_change_refuses_a_malformed_fingerprint_and_unknown_operation() -> None:
    good = {
        "system": "crm",
        "object": "account",
        "record_id": "1",
        "operation": "update",
        "source_ts": AT,
        "cursor": "",
        "fingerprint": s.fingerprint({}),
        "record": {},
        "observed_at": AT,
    }
    assert s.RawChange.model_validate(good).operation is s.Operation.UPDATE
    with pytest.raises(ValidationError, match="fingerprint"):
        s.RawChange.model_validate({**good, "fingerprint": "md5:abc"})
    with pytest.raises(ValidationError, match="operation"):
        s.RawChange.model_validate({**good, "operation": "merge"})


def test_fingerprint_of_records_with_wide_integers() -> None:
    wide = {"b": 2**70, "a": datetime(2026, 1, 2, tzinfo=UTC), "c": "é"}
    assert s.canonical_json(wide) == (
        '{"a":"2026-01-02T00:00:00Z","b":1180591620717411303424,"c":"é"}'.encode()
    )
    assert s.fingerprint(wide) == s.fingerprint(dict(reversed(wide.items())))
    # The same canonical text as orjson gives for records that fit in 64 bits.
    narrow = {"b": 2**62, "a": datetime(2026, 1, 2, tzinfo=UTC), "c": "é"}
    assert s.canonical_json(narrow) == (
        '{"a":"2026-01-02T00:00:00Z","b":4611686018427387904,"c":"é"}'.encode()
    )
