"""What the overview page sums up, from what was read off Kafka: how fresh each system's
changes are, and how many dead letters arrived lately and are still open."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from q2c.deadletter_views import Letter
from schemas.decisions import DeadLetterResolution


@dataclass(frozen=True)
class LetterCounts:
    last_hour: int
    last_day: int
    open: int
    """Neither retried nor resolved, whenever they arrived."""


def letter_counts(
    letters: Iterable[Letter], handled: Mapping[str, DeadLetterResolution], now: datetime
) -> LetterCounts:
    hour = day = still_open = 0
    for letter in letters:
        age = now - letter.written_at
        hour += age <= timedelta(hours=1)
        day += age <= timedelta(days=1)
        still_open += letter.id not in handled
    return LetterCounts(hour, day, still_open)


@dataclass(frozen=True)
class CursorMark:
    """A source's cursor for one stream, and when it last moved (the source stored it only
    after Kafka acknowledged every change it covers)."""

    system: str
    stream: str
    cursor: str
    saved_at: datetime


@dataclass(frozen=True)
class Freshness:
    system: str
    newest: datetime | None
    """When the newest of the system's cursors moved; None when it has none."""
    streams: tuple[CursorMark, ...]


def freshness(marks: Iterable[CursorMark], systems: Iterable[str]) -> list[Freshness]:
    """Per system (those named first, then any other with a cursor), its cursors."""
    by_system: dict[str, list[CursorMark]] = {name: [] for name in systems}
    for mark in marks:
        by_system.setdefault(mark.system, []).append(mark)
    return [
        Freshness(
            system,
            max((m.saved_at for m in found), default=None),
            tuple(sorted(found, key=lambda m: m.stream)),
        )
        for system, found in by_system.items()
    ]


def age(then: datetime | None, now: datetime) -> str:
    """How long ago ``then`` was, in words an operator reads at a glance."""
    if then is None:
        return "never"
    seconds = max(0, int((now - then).total_seconds()))
    if seconds < 120:
        return f"{seconds} s ago"
    if seconds < 7200:
        return f"{seconds // 60} min ago"
    if seconds < 172800:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} days ago"
