"""Tryton's JSON: decimals, dates, times and bytes travel as tagged objects.

Tryton writes ``{"__class__": "Decimal", "decimal": "10.00"}``, ``{"__class__": "date",
"year": .., "month": .., "day": ..}`` and so on, and reads the same back. Its datetimes are
naive and mean UTC; q2c works with aware datetimes, so :func:`decode` returns them in UTC
and :func:`encode` converts aware ones to naive UTC (a naive one is taken to be UTC).
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import orjson
from pydantic import SecretStr


def _naive_utc(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        return value
    return value.astimezone(dt.UTC).replace(tzinfo=None)


def _tag(value: Any) -> Any:
    """orjson's ``default`` hook: the tagged form of the types JSON lacks."""
    if isinstance(value, Decimal):
        return {"__class__": "Decimal", "decimal": str(value)}
    if isinstance(value, dt.datetime):  # before date: a datetime is a date
        value = _naive_utc(value)
        return {
            "__class__": "datetime",
            "year": value.year,
            "month": value.month,
            "day": value.day,
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.date):
        return {"__class__": "date", "year": value.year, "month": value.month, "day": value.day}
    if isinstance(value, dt.time):
        return {
            "__class__": "time",
            "hour": value.hour,
            "minute": value.minute,
            "second": value.second,
            "microsecond": value.microsecond,
        }
    if isinstance(value, dt.timedelta):
        return {"__class__": "timedelta", "seconds": value.total_seconds()}
    if isinstance(value, bytes | bytearray | memoryview):
        return {"__class__": "bytes", "base64": base64.b64encode(bytes(value)).decode()}
    if isinstance(value, SecretStr):  # revealed only into the request body
        return value.get_secret_value()
    if isinstance(value, set | frozenset):
        return sorted(value, key=repr)
    raise TypeError(f"{type(value).__name__} cannot be sent to Tryton")


def encode(payload: Any) -> bytes:
    return orjson.dumps(payload, default=_tag, option=orjson.OPT_PASSTHROUGH_DATETIME)


def _datetime(tag: dict[str, Any]) -> dt.datetime:
    return dt.datetime(
        tag["year"],
        tag["month"],
        tag["day"],
        tag.get("hour", 0),
        tag.get("minute", 0),
        tag.get("second", 0),
        tag.get("microsecond", 0),
        tzinfo=dt.UTC,
    )


_DECODERS: dict[str, Callable[[dict[str, Any]], Any]] = {
    "Decimal": lambda tag: Decimal(tag["decimal"]),
    "datetime": _datetime,
    "date": lambda tag: dt.date(tag["year"], tag["month"], tag["day"]),
    "time": lambda tag: dt.time(
        tag.get("hour", 0), tag.get("minute", 0), tag.get("second", 0), tag.get("microsecond", 0)
    ),
    "timedelta": lambda tag: dt.timedelta(seconds=tag["seconds"]),
    "bytes": lambda tag: base64.b64decode(tag["base64"]),
}


def revive(value: Any) -> Any:
    """``value`` with every tagged object replaced by the Python value it stands for."""
    if isinstance(value, dict):
        tag = value.get("__class__")
        if isinstance(tag, str) and tag in _DECODERS:
            return _DECODERS[tag](value)
        return {key: revive(item) for key, item in value.items()}
    if isinstance(value, list):
        return [revive(item) for item in value]
    return value


def decode(raw: bytes) -> Any:
    return revive(orjson.loads(raw))
