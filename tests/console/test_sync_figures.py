"""The overview's sync figures from constructed results: per window the results, the failed
ones and the error rate, and the latency percentiles over results that carry a source time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from q2c.console import pages
from q2c.console.overview import SyncWindow, percentile, sync_windows
from schemas.commands import CommandResult, Outcome
from schemas.entities import EntityKind

NOW = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def result(
    ago: timedelta, outcome: Outcome = Outcome.CREATED, latency: float | None = None
) -> CommandResult:
    done = NOW - ago
    return CommandResult(
        idempotency_key=f"k-{ago.total_seconds()}-{outcome}",
        command="upsert_customer",
        target_system="tryton",
        entity=EntityKind.CUSTOMER,
        outcome=outcome,
        completed_at=done,
        source_ts=None if latency is None else done - timedelta(seconds=latency),
    )


def test_the_percentiles_are_observed_values_by_nearest_rank() -> None:
    assert percentile([], 0.5) is None
    assert percentile([3.0], 0.95) == 3.0
    assert percentile([4.0, 1.0, 3.0, 2.0], 0.5) == 2.0
    assert percentile([float(n) for n in range(1, 101)], 0.95) == 95.0


def test_each_window_counts_results_failures_and_latency_where_a_source_time_is_known() -> None:
    results = [
        result(timedelta(minutes=5), latency=2.0),
        result(timedelta(minutes=20), Outcome.FAILED),
        result(timedelta(minutes=40), Outcome.UNCHANGED, latency=10.0),
        result(timedelta(hours=3), Outcome.FAILED, latency=100.0),
        result(timedelta(hours=5), Outcome.UPDATED),
        result(timedelta(days=2), Outcome.FAILED, latency=1000.0),  # older than a day
        result(-timedelta(minutes=1)),  # completed after the figures' time: the next read's
    ]
    hour, day = sync_windows(results, NOW)
    assert (hour.results, hour.failed, hour.error_rate) == (3, 1, 1 / 3)
    assert (hour.p50, hour.p95) == (2.0, 10.0)
    assert (day.results, day.failed, day.error_rate) == (5, 2, 0.4)
    assert (day.p50, day.p95) == (10.0, 100.0)


def test_no_result_means_no_rate_rather_than_zero() -> None:
    (hour, _day) = sync_windows([], NOW)
    assert hour == SyncWindow(timedelta(hours=1), 0, 0, None, None)
    assert hour.error_rate is None


def test_the_sync_table_shows_rate_and_latency_of_each_window() -> None:
    windows = sync_windows([result(timedelta(minutes=5), Outcome.FAILED, 2.5)], NOW)
    shown = pages.sync_table(windows)
    assert "<td>Last hour</td><td>1</td><td>1</td><td>100.0%</td><td>2.5 s</td>" in shown
    assert "<td>Last day</td>" in shown
    quiet = pages.sync_table(sync_windows([], NOW))
    assert "<td>0</td><td>0</td><td>n/a</td><td>n/a</td><td>n/a</td>" in quiet
