"""The benchmarks' summary: the figures the modules recorded, side by side with targets."""

from __future__ import annotations

from bench._summary import ROWS, Figure, as_json, table


def test_every_figure_has_a_line_measured_or_not() -> None:
    figures = {"sync_per_s": Figure(1234.4, "/s", "0.50 0.40 0.30")}
    lines = table(figures)
    assert len(lines) == 1 + len(ROWS)
    sync = next(line for line in lines if "q2c sync, one worker" in line)
    assert "1,234 /s" in sync
    assert ">= 1000 /s" in sync
    assert "0.50 0.40 0.30" in sync
    faust = next(line for line in lines if "Faust passthrough" in line)
    assert "not measured" in faust


def test_the_json_summary_gives_each_figure_with_its_load_average() -> None:
    figures = {
        "latency_load_p95_ms": Figure(950.24, "ms", "2.00 1.50 .. 2.50 1.80", "under 700/s"),
        "sync_cpu_us_per_event": Figure(612.0, "µs", "1.20 1.10 1.00"),
    }
    assert as_json(figures) == {
        "latency_load_p95_ms": 950.24,
        "latency_load_p95_ms_load": "2.00 1.50 .. 2.50 1.80",
        "sync_cpu_us_per_event": 612.0,
        "sync_cpu_us_per_event_load": "1.20 1.10 1.00",
    }
