"""What the overview page sums up, from what was read off Kafka: how fresh each system's
changes are, how many dead letters arrived lately and are still open, and how the sinks'
commands fared (error rate, change-to-applied latency) over the last hour and day."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from q2c.core.metrics import seconds_between
from q2c.deadletter_views import Letter
from schemas.commands import CommandResult, Outcome
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


@dataclass(frozen=True)
class SyncWindow:
    """The sinks' results completed within ``span`` before now."""

    span: timedelta
    results: int
    failed: int
    p50: float | None
    """Seconds from the source change to the sink having applied it, over the results that
    carry their source time; None when none does."""
    p95: float | None

    @property
    def error_rate(self) -> float | None:
        """Failed results over all results; None without results (no rate, not 0%)."""
        return self.failed / self.results if self.results else None


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """The nearest-rank percentile: a value that was observed, never an interpolation."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def sync_window(results: Iterable[CommandResult], now: datetime, span: timedelta) -> SyncWindow:
    count = failed = 0
    latencies: list[float] = []
    for result in results:
        if not now - span <= result.completed_at <= now:
            continue
        count += 1
        failed += result.outcome is Outcome.FAILED
        latency = seconds_between(result.source_ts, result.completed_at)
        if latency is not None:
            latencies.append(latency)
    return SyncWindow(span, count, failed, percentile(latencies, 0.5), percentile(latencies, 0.95))


SYNC_WINDOWS = (timedelta(hours=1), timedelta(days=1))


def sync_windows(results: Sequence[CommandResult], now: datetime) -> list[SyncWindow]:
    """The last hour and the last day, by when the sink completed each command."""
    return [sync_window(results, now, span) for span in SYNC_WINDOWS]
