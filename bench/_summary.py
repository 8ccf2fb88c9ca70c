"""The throughput figures side by side, as the benchmark modules measured them.

A module records each figure it measures (:func:`record`) with the load average at the time;
``python -m bench`` prints them in one table once every selected module ran (:func:`table`),
with the target where there is one. A figure a module did not measure in this run (not
selected, or failed) is shown as not measured. Figures only: nothing is compared or
asserted, they depend on the machine and on what else runs on it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    value: float
    unit: str
    load: str
    note: str = ""


@dataclass(frozen=True)
class Row:
    key: str
    label: str
    target: str = ""
    digits: int = 0


ROWS = (
    Row("aiokafka_per_s", "aiokafka passthrough"),
    Row("faust_per_s", "Faust passthrough"),
    Row("sync_per_s", "q2c sync, one worker", ">= 1000 /s"),
    Row("sync_of_faust", "q2c sync / Faust", ">= 0.50", digits=2),
    Row("sync_cpu_us_per_event", "q2c sync CPU per event", "<= 1000 µs"),
    Row("latency_alone_p50_ms", "won -> confirmed sale p50, alone"),
    Row("latency_alone_p95_ms", "won -> confirmed sale p95, alone"),
    Row("latency_load_p50_ms", "won -> confirmed sale p50, loaded"),
    Row("latency_load_p95_ms", "won -> confirmed sale p95, loaded", "<= 1000 ms"),
    Row("two_workers_per_s", "two workers, combined"),
    Row("rebalance_pause_s", "rebalance: longest output pause", digits=2),
    Row("views_read_s", "views of customers/items read", digits=1),
    Row("views_rss_mb", "worker RSS, views read"),
    Row("absorbed_rss_mb", "worker RSS, customers absorbed", "<= 300 MB"),
    Row("absorb_s", "sync absorbs new customers", digits=1),
    Row("parties_bare_read_per_s", "Tryton bare read of parties"),
    Row("parties_snapshot_s", "Tryton source snapshots the parties", digits=1),
    Row("parties_normalized_s", "... and they are normalized", digits=1),
    Row("parties_absorbed_s", "... and the sync absorbed them", digits=1),
    Row("parties_rss_mb", "worker RSS, parties absorbed", "<= 300 MB"),
)

FIGURES: dict[str, Figure] = {}


def record(key: str, value: float, unit: str, load: str, note: str = "") -> None:
    """Record figure ``key`` (one of :data:`ROWS`) as measured under ``load``."""
    FIGURES[key] = Figure(value, unit, load, note)


def table(figures: dict[str, Figure] | None = None) -> list[str]:
    """The summary, one line per figure of :data:`ROWS`."""
    figures = FIGURES if figures is None else figures
    lines = [f"   {'figure':<36}{'measured':>16}  {'target':<12}{'load average':<18}note"]
    for row in ROWS:
        found = figures.get(row.key)
        if found is None:
            lines.append(f"   {row.label:<36}{'not measured':>16}  {row.target:<12}")
            continue
        measured = f"{found.value:,.{row.digits}f} {found.unit}"
        lines.append(
            f"   {row.label:<36}{measured:>16}  {row.target:<12}{found.load:<16}  {found.note}"
        )
    return lines


def as_json(figures: dict[str, Figure] | None = None) -> dict[str, float | str]:
    """The summary as one JSON object: each figure, and ``<key>_load`` its load average."""
    figures = FIGURES if figures is None else figures
    out: dict[str, float | str] = {}
    for key, found in figures.items():
        out[key] = round(found.value, 2)
        out[f"{key}_load"] = found.load
    return out
