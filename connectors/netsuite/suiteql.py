"""SuiteQL as the source sends it, and SuiteQL values as it reads them. Pure: no I/O.

A stream's page is one query over one time window: the rows modified at or after the
window's start (the poll's high-water mark less the overlap) and before its end, after the
last (lastmodifieddate, id) key read, in that unique order. A window spans at most
``window`` so no query can reach the 100,000 rows one SuiteQL query may return; an empty
window moves the read to the next one until the present.

SuiteQL returns every value as a string, booleans as ``T``/``F``, and dates and times in
the account's time zone (and its date format): :func:`parse_time` reads them as aware
datetimes in UTC, :func:`literal` writes a time back in the account's zone.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%m/%d/%Y %I:%M:%S %p",
    "%m/%d/%Y %I:%M %p",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%d.%m.%Y %H:%M:%S",
)
_DATE_FORMATS = ("%Y-%m-%d", "%m/%d/%Y", "%d.%m.%Y")
_NUMBER = re.compile(r"^\d+$")


def parse_time(value: Any, zone: ZoneInfo) -> dt.datetime | None:
    """A SuiteQL date-time (in the account's ``zone`` unless it carries an offset) in UTC;
    None for an empty value. ``ValueError`` for text that is not a time."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text.endswith("Z") or re.search(r"[+-]\d{2}:?\d{2}$", text):
        return dt.datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(dt.UTC)
    for fmt in _FORMATS:
        try:
            local = dt.datetime.strptime(text.upper() if "M" in fmt else text, fmt)
        except ValueError:
            continue
        return local.replace(tzinfo=zone).astimezone(dt.UTC)
    for fmt in _DATE_FORMATS:
        try:
            local = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return local.replace(tzinfo=zone).astimezone(dt.UTC)
    raise ValueError(f"{text[:40]!r} is not a SuiteQL date and time")


def parse_date(value: Any) -> dt.date | None:
    """A SuiteQL date (a calendar date: no zone to convert); None for an empty value."""
    if value is None or value == "":
        return None
    text = str(value).strip().split(" ")[0].split("T")[0]
    for fmt in _DATE_FORMATS:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{text[:40]!r} is not a SuiteQL date")


def parse_bool(value: Any) -> bool:
    """``T`` / ``F`` (also a JSON boolean)."""
    if isinstance(value, bool):
        return value
    return str(value or "").strip().upper() in ("T", "TRUE", "Y")


def parse_decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(f"{str(value)[:40]!r} is not a number") from None
    if not number.is_finite():
        raise ValueError(f"{str(value)[:40]!r} is not a number")
    return number


TEXT_FORMAT = "YYYY-MM-DD HH24:MI:SS"


def as_text(column: str) -> str:
    """``column`` (a date-time) as SuiteQL text to the second, in the account's zone: the
    value SuiteQL itself returns holds only the date."""
    return f"TO_CHAR({column}, '{TEXT_FORMAT}')"


def local_text(moment: dt.datetime, zone: ZoneInfo) -> str:
    return quote(f"{moment.astimezone(zone):%Y-%m-%d %H:%M:%S}")


def literal(moment: dt.datetime, zone: ZoneInfo) -> str:
    """``moment`` as a SuiteQL timestamp literal in the account's zone."""
    local = moment.astimezone(zone).replace(tzinfo=None)
    return f"TO_TIMESTAMP('{local:%Y-%m-%d %H:%M:%S}', 'YYYY-MM-DD HH24:MI:SS')"


def quote(text: str) -> str:
    """A SuiteQL string literal."""
    return "'" + text.replace("'", "''") + "'"


def id_list(ids: Iterable[Any]) -> str:
    """A list of internal ids for ``IN (…)``; only digits pass."""
    clean = sorted({str(i) for i in ids if _NUMBER.match(str(i))}, key=int)
    if not clean:
        raise ValueError("no internal ids")
    return ", ".join(clean)


def window_query(
    select: str,
    *,
    where: str = "",
    start: dt.datetime | None,
    end: dt.datetime | None,
    after: tuple[dt.datetime, int | str] | None,
    zone: ZoneInfo,
    key: str = "lastmodifieddate",
    id_column: str = "id",
) -> str:
    """One window's query: ``select`` (``SELECT … FROM …``) with the rows modified in
    [start, end) after the key ``after``, ordered uniquely by (key, id). The key is
    compared and ordered to the second (as :func:`as_text` reads it), so a page's last key
    is exactly where the next one starts."""
    conditions = [where] if where else []
    if start is not None:
        conditions.append(f"{key} >= {literal(start, zone)}")
    if end is not None:
        conditions.append(f"{key} < {literal(end, zone)}")
    text = as_text(key)
    if after is not None:
        stamp, rid = after
        at = local_text(stamp, zone)
        conditions.append(f"({text} > {at} OR ({text} = {at} AND {id_column} > {int(rid)}))")
    clause = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"{select}{clause} ORDER BY {text}, {id_column}"


def windows(
    start: dt.datetime, now: dt.datetime, span: dt.timedelta
) -> Iterable[tuple[dt.datetime, dt.datetime | None]]:
    """The windows from ``start`` to the present: ``span`` long, the last one open."""
    begin = start
    while begin + span < now:
        yield begin, begin + span
        begin = begin + span
    yield begin, None
