"""Hostile records through normalize's pure path: whatever a source record holds, it becomes
canonical changes or a rejection with a readable reason (a MappingError or DecodeError),
never an exception escaping the normalizer."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from connectors.base.mapping import Mapper, MappingError
from connectors.base.normalize import Normalized, normalize
from connectors.bottlecrm import mapping as crm
from connectors.tryton import mapping as erp
from schemas import CODEC, DecodeError, Operation, RawChange
from schemas.changes import EntityChange
from tests.connectors.poison_strategies import deeply_nested, json_values, records

NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)
MAPPERS: list[tuple[Mapper, str]] = [
    *((erp.TrytonMapper(), obj) for obj in (erp.PARTY, erp.PRODUCT, erp.SALE, erp.INVOICE)),
    (erp.TrytonMapper(), erp.PAYMENT),
    *((crm.BottleCrmMapper(), obj) for obj in (crm.ACCOUNT, crm.CONTACT, crm.DEAL, crm.PRODUCT)),
]
hostile = settings(
    max_examples=100,
    deadline=timedelta(seconds=5),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def raw(system: str, obj: str, record: dict[str, Any], record_id: str = "1") -> bytes:
    change = RawChange.of(
        system=system,
        object=obj,
        record_id=record_id,
        operation=Operation.UPDATE,
        source_ts=NOW,
        cursor="c",
        record=record,
        observed_at=NOW,
    )
    return CODEC.encode(change)


def mapped_or_rejected(result: Normalized) -> None:
    """The only two outcomes: changes that read back, or a classified rejection."""
    if result.error is None:
        assert result.raw is not None
        for _key, value in result.changes:
            assert isinstance(CODEC.decode(value), EntityChange)
        return
    assert isinstance(result.error, MappingError | DecodeError), repr(result.error)
    assert result.reason
    assert not result.changes


@pytest.mark.parametrize(("mapper", "obj"), MAPPERS, ids=lambda v: getattr(v, "system", v))
@hostile
@given(record=records())
def test_any_record_is_mapped_or_rejected(mapper: Mapper, obj: str, record: dict[str, Any]) -> None:
    mapped_or_rejected(normalize(mapper, raw(mapper.system, obj, record)))


@pytest.mark.parametrize(("mapper", "obj"), MAPPERS, ids=lambda v: getattr(v, "system", v))
@hostile
@given(record=records(), record_id=st.sampled_from(["1", "17", "deal-9", "acc-1"]))
def test_records_with_an_id_and_a_name_reach_deeper(
    mapper: Mapper, obj: str, record: dict[str, Any], record_id: str
) -> None:
    record = {"id": record_id, "name": "Acme", "account": "acc-1", "sku": "W-1", **record}
    mapped_or_rejected(normalize(mapper, raw(mapper.system, obj, record, record_id)))


@hostile
@given(message=json_values(max_leaves=30))
def test_any_json_message_is_rejected_as_not_a_raw_change(message: Any) -> None:
    payload = orjson.dumps(message)
    result = normalize(crm.BottleCrmMapper(), payload)
    assert result.raw is None
    assert isinstance(result.error, DecodeError)


@hostile
@given(data=st.binary(max_size=2000))
def test_any_bytes_are_rejected_with_a_reason(data: bytes) -> None:
    result = normalize(erp.TrytonMapper(), data)
    assert result.raw is None
    assert isinstance(result.error, DecodeError)
    assert result.reason


def test_random_bytes_are_said_to_be_no_q2c_message() -> None:
    result = normalize(erp.TrytonMapper(), b"\xff" + os.urandom(900_000))
    assert result.reason == "not a q2c message: 900001 bytes that are not UTF-8 text"
    assert normalize(erp.TrytonMapper(), None).reason == "an empty message (no value)"


def test_deep_nesting_and_wrong_versions_are_rejected() -> None:
    head = b'{"schema": "raw_change", "schema_version": 1, "record": '
    deep = head + b"[" * 100_000 + b"]" * 100_000 + b"}"
    assert isinstance(normalize(crm.BottleCrmMapper(), deep).error, DecodeError)
    nested = orjson.loads(raw("bottlecrm", crm.DEAL, {"id": "1"}))
    nested["record"]["line_items"] = deeply_nested(200)
    assert normalize(crm.BottleCrmMapper(), orjson.dumps(nested)).error is not None
    for version in (0, 99, -1, "1", None, 1.5):
        nested["schema_version"] = version
        result = normalize(crm.BottleCrmMapper(), orjson.dumps(nested))
        assert isinstance(result.error, DecodeError)


DEAL = {"id": "deal-1", "account": "acc-1", "stage": "CLOSED_WON", "currency": "EUR"}


@pytest.mark.parametrize(
    ("mapper", "obj", "record", "reason"),
    [
        (crm.BottleCrmMapper(), crm.DEAL, {**DEAL, "line_items": [1, "x"]}, "not an object"),
        (crm.BottleCrmMapper(), crm.DEAL, {**DEAL, "line_items": 7}, "not a list"),
        (crm.BottleCrmMapper(), crm.DEAL, {**DEAL, "amount": "NaN"}, "'NaN' is not a number"),
        (
            crm.BottleCrmMapper(),
            crm.DEAL,
            {
                **DEAL,
                "line_items": [
                    {"id": "l1", "quantity": "1", "unit_price": "2", "total": "2"},
                    {"id": "l2", "order": "b", "quantity": "1", "unit_price": "2", "total": "2"},
                    {"id": 3, "order": 1, "quantity": "1", "unit_price": "2", "total": "2"},
                    {
                        "id": "l4",
                        "quantity": "1",
                        "unit_price": "2",
                        "total": "2",
                        "subtotal": "NaN",
                    },
                ],
            },
            "'NaN' is not a number",
        ),
        (crm.BottleCrmMapper(), crm.ACCOUNT, {"name": "Acme"}, "the record has no id"),
        (crm.BottleCrmMapper(), crm.CONTACT, {"last_name": "Doe"}, "the record has no id"),
        (
            crm.BottleCrmMapper(),
            crm.PRODUCT,
            {"id": 1, "name": "W", "sku": "W", "price": "-Infinity"},
            "is not a number",
        ),
        (
            erp.TrytonMapper(),
            erp.PARTY,
            {"id": 1, "name": "Acme", "addresses": 5},
            "a list was expected, not int",
        ),
        (
            erp.TrytonMapper(),
            erp.SALE,
            {
                "id": 1,
                "currency.": {"code": "EUR"},
                "party": 1,
                "state": "draft",
                "lines": {"a": 1},
            },
            "a list was expected",
        ),
    ],
)
def test_the_shapes_that_stopped_the_normalizer_are_rejected_with_a_reason(
    mapper: Mapper, obj: str, record: dict[str, Any], reason: str
) -> None:
    record_id = str(record.get("id", "1"))
    result = normalize(mapper, raw(mapper.system, obj, record, record_id))
    assert isinstance(result.error, MappingError), result
    assert reason in result.reason
