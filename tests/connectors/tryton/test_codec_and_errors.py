"""Tryton's tagged JSON values and the classification of its errors (no server needed)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from connectors.base.errors import ConnectorError, ErrorKind
from connectors.tryton import codec
from connectors.tryton.errors import (
    TrytonAuthError,
    TrytonConcurrencyError,
    TrytonProtocolError,
    TrytonServerError,
    TrytonTransportError,
    TrytonUserError,
    TrytonUserWarning,
    classify,
    from_connector_error,
    from_error_member,
)

# Tryton's own encoding of each type, as trytond.protocols.jsonrpc writes it.
WIRE_SAMPLES: list[tuple[Any, dict[str, Any]]] = [
    (Decimal("10.50"), {"__class__": "Decimal", "decimal": "10.50"}),
    (dt.date(2026, 11, 26), {"__class__": "date", "year": 2026, "month": 11, "day": 26}),
    (
        dt.datetime(2026, 11, 26, 13, 5, 7, 250, tzinfo=dt.UTC),
        {
            "__class__": "datetime",
            "year": 2026,
            "month": 11,
            "day": 26,
            "hour": 13,
            "minute": 5,
            "second": 7,
            "microsecond": 250,
        },
    ),
    (
        dt.time(8, 30, 1, 5),
        {"__class__": "time", "hour": 8, "minute": 30, "second": 1, "microsecond": 5},
    ),
    (dt.timedelta(hours=1, seconds=3), {"__class__": "timedelta", "seconds": 3603.0}),
    (b"\x00pdf", {"__class__": "bytes", "base64": "AHBkZg=="}),
]


@pytest.mark.parametrize(("value", "wire"), WIRE_SAMPLES)
def test_values_travel_as_tryton_tags(value: Any, wire: dict[str, Any]) -> None:
    assert orjson.loads(codec.encode({"v": value})) == {"v": wire}
    assert codec.decode(orjson.dumps([wire])) == [value]


def test_aware_datetimes_are_sent_as_naive_utc() -> None:
    paris = dt.timezone(dt.timedelta(hours=1))
    sent = orjson.loads(codec.encode(dt.datetime(2026, 1, 1, 0, 30, tzinfo=paris)))
    assert (sent["year"], sent["month"], sent["day"], sent["hour"]) == (2025, 12, 31, 23)


def test_secrets_are_revealed_only_inside_the_body() -> None:
    secret = SecretStr("s3cr3t")
    assert orjson.loads(codec.encode({"password": secret})) == {"password": "s3cr3t"}
    assert "s3cr3t" not in repr(secret)


def test_untagged_dicts_and_unknown_tags_are_left_alone() -> None:
    raw = b'{"a": {"__class__": "Unknown", "x": 1}, "b": [{"c": 2}]}'
    assert codec.decode(raw) == {"a": {"__class__": "Unknown", "x": 1}, "b": [{"c": 2}]}


def test_unsupported_types_are_refused() -> None:
    with pytest.raises(TypeError):
        codec.encode(object())


tryton_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**53), max_value=2**53)
    | st.text()
    | st.decimals(allow_nan=False, allow_infinity=False)
    | st.dates()
    | st.datetimes(timezones=st.just(dt.UTC))
    | st.times()
    | st.binary(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=20,
)


@given(tryton_values)
def test_encode_then_decode_is_identity(value: Any) -> None:
    assert codec.decode(codec.encode(value)) == value


@pytest.mark.parametrize(
    ("status", "name", "message", "kind"),
    [
        (None, None, "", ErrorKind.RETRIABLE),
        (429, None, "", ErrorKind.RETRIABLE),
        (500, None, "", ErrorKind.RETRIABLE),
        (503, None, "", ErrorKind.RETRIABLE),
        (504, None, "", ErrorKind.RETRIABLE),
        (400, None, "", ErrorKind.FATAL),
        (401, None, "", ErrorKind.FATAL),
        (403, None, "", ErrorKind.FATAL),
        (404, None, "", ErrorKind.FATAL),
        (200, "UserError", "", ErrorKind.SKIPPABLE),
        (200, "UserWarning", "", ErrorKind.SKIPPABLE),
        (200, "ConcurrencyException", "", ErrorKind.RETRIABLE),
        (200, "LoginException", "", ErrorKind.FATAL),
        (200, None, "database is locked", ErrorKind.RETRIABLE),
        (200, None, "'no.such.model'", ErrorKind.FATAL),
    ],
)
def test_classify(status: int | None, name: str | None, message: str, kind: ErrorKind) -> None:
    assert classify(status, name, message) is kind


def test_user_error_member_keeps_the_server_words() -> None:
    error = from_error_member(
        "model.sale.sale.delete",
        ["UserError", ["You must cancel the sale first.", "Sale S1 is confirmed.", None]],
    )
    assert isinstance(error, TrytonUserError)
    assert error.kind is ErrorKind.SKIPPABLE
    assert error.message == "You must cancel the sale first."
    assert error.description == "Sale S1 is confirmed."
    assert str(error) == "tryton: You must cancel the sale first."
    assert error.detail == "model.sale.sale.delete: Sale S1 is confirmed."


def test_other_error_members() -> None:
    warning = from_error_member("m", ["UserWarning", ["key", "Are you sure?", ""]])
    assert isinstance(warning, TrytonUserWarning)
    assert (warning.name, warning.message) == ("key", "Are you sure?")
    assert isinstance(
        from_error_member("m", ["ConcurrencyException", "stale"]), TrytonConcurrencyError
    )
    assert isinstance(
        from_error_member("m", ["LoginException", ["p", "x", "password"]]), TrytonAuthError
    )
    server = from_error_member("m", ["database is locked", "Traceback ..."])
    assert isinstance(server, TrytonServerError)
    assert server.retriable
    assert server.detail == "m: Traceback ..."
    assert isinstance(from_error_member("m", "nonsense"), TrytonProtocolError)


def _http_error(status: int | None, retry_after: float | None = None) -> ConnectorError:
    return ConnectorError(
        ErrorKind.RETRIABLE, "as the shared client saw it", status=status, retry_after=retry_after
    )


def test_http_errors_of_the_shared_client_become_tryton_errors() -> None:
    busy = from_connector_error("m", _http_error(429, retry_after=2.5))
    assert isinstance(busy, TrytonTransportError)
    assert (busy.retriable, busy.retry_after, busy.system) == (True, 2.5, "tryton")
    locked = from_connector_error("m", _http_error(503))
    assert locked.retriable
    assert locked.reason == "the Tryton database is busy"
    assert isinstance(from_connector_error("m", _http_error(401)), TrytonAuthError)
    missing = from_connector_error("m", _http_error(404))
    assert isinstance(missing, TrytonProtocolError)
    assert missing.kind is ErrorKind.FATAL  # the shared table says skippable; not for Tryton
    offline = from_connector_error("m", _http_error(None))
    assert isinstance(offline, TrytonTransportError)
    assert offline.retriable
