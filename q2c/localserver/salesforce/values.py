"""Field values on the wire: the REST API writes datetimes as ``2024-01-01T09:30:00.000+0000``
(UTC, milliseconds) and dates as ``2024-01-01``; it reads ISO 8601 with ``Z`` or an offset."""

from __future__ import annotations

from datetime import UTC, date, datetime


def format_datetime(moment: datetime) -> str:
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}+0000"


def parse_datetime(text: str) -> datetime:
    """An ISO 8601 datetime with ``Z``, ``+hh:mm`` or ``+hhmm``; naive ones are UTC."""
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    elif len(value) >= 5 and value[-5] in "+-" and value[-4:].isdigit() and "T" in value:
        value = value[:-2] + ":" + value[-2:]
    moment = datetime.fromisoformat(value)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def parse_date(text: str) -> date:
    return date.fromisoformat(text.strip())
