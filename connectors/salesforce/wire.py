"""How values travel to and from the REST API: SOQL literals and Salesforce dateTimes."""

from __future__ import annotations

import datetime as dt
from typing import Any


def soql_literal(value: str) -> str:
    """A quoted SOQL string literal (backslash escapes, as the SOQL reference lists)."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    escaped = escaped.replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return f"'{escaped}'"


def soql_datetime(value: dt.datetime) -> str:
    """An unquoted SOQL datetime literal in UTC (milliseconds kept)."""
    utc = value.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_datetime(value: Any) -> dt.datetime:
    """A Salesforce dateTime (``2024-05-07T22:07:19.000+0000``) as an aware datetime."""
    if not isinstance(value, str):
        raise ValueError(f"{value!r} is not a dateTime")
    text = value.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    elif len(text) >= 5 and text[-5] in "+-" and text[-3] != ":":
        text = f"{text[:-2]}:{text[-2:]}"
    parsed = dt.datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        raise ValueError(f"{value!r} has no time zone")
    return parsed.astimezone(dt.UTC)


def format_datetime(value: dt.datetime) -> str:
    """A datetime as the REST API writes it (``…T22:07:19.000+0000``)."""
    utc = value.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"
