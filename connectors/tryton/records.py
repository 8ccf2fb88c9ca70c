"""A Tryton record as q2c's raw change: JSON the way q2c's contracts carry it.

Tryton's client hands back Python values (decimals, aware datetimes, dates, bytes; see
:mod:`connectors.tryton.codec`); a raw change carries JSON: decimals as fixed-point
strings, timestamps as ISO 8601 in UTC, dates as ISO dates.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from pydantic import JsonValue

from connectors.base.tracking import stamp_text
from connectors.tryton.errors import SYSTEM
from schemas import Operation, RawChange

Row = dict[str, Any]

IGNORED = ("write_date", "last_modified_at", "write_uid")
"""Saving a record unchanged moves these; the content is what counts for the fingerprint."""


def jsonable(value: Any) -> JsonValue:
    """``value`` as JSON the way q2c's contracts carry it."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def raw_change(
    model: str, row: Row, stamp: dt.datetime, operation: Operation, observed: dt.datetime
) -> RawChange:
    """The raw change of ``row`` of ``model``, modified at ``stamp``."""
    record = jsonable(row)
    assert isinstance(record, dict)
    return RawChange.of(
        system=SYSTEM,
        object=model,
        record_id=str(row["id"]),
        operation=operation,
        source_ts=stamp,
        cursor=f"{stamp_text(stamp)}/{row['id']}",
        record=record,
        observed_at=observed,
        ignore=IGNORED,
    )


def deleted_change(model: str, record_id: int, seen_at: dt.datetime) -> RawChange:
    """A delete of ``record_id``: Tryton keeps no time of the deletion, so it is stamped
    with when q2c saw the record gone, and carries an empty record."""
    return RawChange.of(
        system=SYSTEM,
        object=model,
        record_id=str(record_id),
        operation=Operation.DELETE,
        source_ts=seen_at,
        cursor=f"deleted@{stamp_text(seen_at)}/{record_id}",
        record={},
        observed_at=seen_at,
    )
