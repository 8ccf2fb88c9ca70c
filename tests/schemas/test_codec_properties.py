"""Property tests: random and mutated payloads thrown at the codec.

Whatever the input, the codec returns a valid contract or raises DecodeError; it raises
nothing else, it never hangs (each example has a deadline), and mutations that make a
record invalid are always refused.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import schemas as s
from schemas.types import DECIMAL_PATTERN
from tests.schemas.samples import all_samples, quote

SAMPLES = {m.schema_subject: m for m in all_samples()}
WIRE = {subject: orjson.loads(s.encode(m)) for subject, m in SAMPLES.items()}
DECIMAL = re.compile(DECIMAL_PATTERN)

fast = settings(
    max_examples=300,
    deadline=timedelta(seconds=2),
    suppress_health_check=[HealthCheck.too_slow],
)

# orjson writes integers up to 64 bits; anything wider is not on the wire.
ints = st.integers(min_value=-(2**63), max_value=2**63 - 1)
json_scalars = st.none() | st.booleans() | ints | st.floats() | st.text(max_size=20)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5)
    ),
    max_leaves=25,
)


def decodes_safely(payload: bytes) -> s.Contract | None:
    """The decoded message, or None for a DecodeError; any other exception fails the test."""
    try:
        message = s.decode(payload)
    except s.DecodeError as error:
        reason = error.reason
        assert reason, "a DecodeError always says why"
        return None
    # Whatever was accepted is a valid current-version record that survives a round trip.
    again = s.decode(s.encode(message))
    assert again == message
    type(message).model_validate(message.model_dump())
    return message


@fast
@given(st.binary(max_size=2000))
def test_random_bytes(payload: bytes) -> None:
    assert decodes_safely(payload) is None


@fast
@given(st.sampled_from(sorted(SAMPLES)), st.dictionaries(st.text(max_size=12), json_values))
def test_random_objects_with_a_real_header(subject: str, body: dict[str, Any]) -> None:
    payload = {**body, "schema": subject, "schema_version": 1}
    decodes_safely(orjson.dumps(payload))


# -- mutations of valid messages ----------------------------------------------------------------

Path = tuple[str | int, ...]


def _paths(node: Any, prefix: Path = ()) -> list[Path]:
    found: list[Path] = [prefix]
    if isinstance(node, dict):
        for key, value in node.items():
            found += _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += _paths(value, (*prefix, index))
    return found


def _get(node: Any, path: Path) -> Any:
    for part in path:
        node = node[part]
    return node


def _in_raw_record(subject: str, path: Path) -> bool:
    # The source record inside a raw change is free-form JSON: anything goes there.
    return subject == "raw_change" and len(path) >= 1 and path[0] == "record"


def _mutated(subject: str, mutate: Callable[[Any], None]) -> bytes:
    data = orjson.loads(orjson.dumps(WIRE[subject]))
    mutate(data)
    return orjson.dumps(data)


@fast
@given(st.data())
def test_arbitrary_mutations_never_crash(data: st.DataObject) -> None:
    subject = data.draw(st.sampled_from(sorted(WIRE)))
    paths = [p for p in _paths(WIRE[subject]) if p]
    path = data.draw(st.sampled_from(paths))
    replacement = data.draw(json_values)
    delete = data.draw(st.booleans())

    def mutate(root: Any) -> None:
        parent = _get(root, path[:-1])
        if delete and isinstance(parent, dict):
            del parent[path[-1]]
        else:
            parent[path[-1]] = replacement

    decodes_safely(_mutated(subject, mutate))


def _object_paths(subject: str) -> list[Path]:
    return [
        p
        for p in _paths(WIRE[subject])
        if isinstance(_get(WIRE[subject], p), dict) and not _in_raw_record(subject, p)
    ]


@fast
@given(st.data(), st.text(min_size=1, max_size=10), json_values)
def test_unknown_fields_are_refused_everywhere(data: st.DataObject, name: str, value: Any) -> None:
    subject = data.draw(st.sampled_from(sorted(WIRE)))
    path = data.draw(st.sampled_from(_object_paths(subject)))
    target = _get(WIRE[subject], path)
    if name in target or (path == () and name in ("schema", "schema_version")):
        return

    def mutate(root: Any) -> None:
        _get(root, path)[name] = value

    assert decodes_safely(_mutated(subject, mutate)) is None


def _required(subject: str) -> list[str]:
    model = s.CATALOG.models[subject]
    return list(model.model_json_schema()["required"])


@fast
@given(st.data())
def test_a_missing_required_field_is_refused(data: st.DataObject) -> None:
    subject = data.draw(st.sampled_from(sorted(WIRE)))
    field = data.draw(st.sampled_from(_required(subject)))
    assert decodes_safely(_mutated(subject, lambda root: root.pop(field))) is None


def _decimal_paths(subject: str) -> list[Path]:
    wire = WIRE[subject]
    return [
        p
        for p in _paths(wire)
        if isinstance(_get(wire, p), str)
        and DECIMAL.match(_get(wire, p))
        and not _in_raw_record(subject, p)
    ]


@fast
@given(st.data())
def test_a_decimal_written_as_a_json_float_is_refused(data: st.DataObject) -> None:
    subjects = sorted(k for k in WIRE if _decimal_paths(k))
    subject = data.draw(st.sampled_from(subjects))
    path = data.draw(st.sampled_from(_decimal_paths(subject)))

    def mutate(root: Any) -> None:
        parent = _get(root, path[:-1])
        parent[path[-1]] = float(parent[path[-1]]) + 0.5

    assert decodes_safely(_mutated(subject, mutate)) is None


@fast
@given(
    st.decimals(
        allow_nan=False, allow_infinity=False, min_value=-(10**20), max_value=10**20, places=8
    )
)
def test_decimals_round_trip_exactly(amount: Decimal) -> None:
    message = quote(1).model_copy(update={"total": s.Money(amount=amount, currency="EUR")})
    back = s.CODEC.decode_as(s.encode(message), s.Quote)
    assert back.total.amount == amount
    assert back.total.amount.as_tuple() == amount.as_tuple()


@fast
@given(st.dictionaries(st.text(max_size=8), json_values | st.integers(), max_size=8), st.randoms())
def test_fingerprints_do_not_depend_on_key_order(record: dict[str, Any], rnd: Any) -> None:
    keys = list(record)
    rnd.shuffle(keys)
    assert s.fingerprint({k: record[k] for k in keys}) == s.fingerprint(record)
