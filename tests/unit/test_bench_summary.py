"""The benchmarks' summary: the figures the modules recorded, side by side with targets."""

from __future__ import annotations

from bench._summary import ROWS, Figure, as_json, record_latency_lines, table

LATENCY_OUTPUT = """\
   BottleCRM webhooks on, scan every 60 s; Tryton polled every 1 s
   closed won -> confirmed sale   p50    612.3 ms   p95    804.0 ms   max    900.1 ms   (n=10)\
  alone, load 1.20 1.10 1.00
   the worker drained a burst of 3000 changes at 1400/s
   closed won -> confirmed sale   p50    700.5 ms   p95    950.2 ms   max   1200.0 ms   (n=50)\
  under 700 changes/s, load 2.00 1.50 1.20 .. 2.50 1.80 1.30
   Tryton JSON-RPC search         p50     10.0 ms   p95     12.0 ms   max     20.0 ms   (n=50)
"""


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


def test_the_latency_figures_are_read_from_what_bench_latency_printed() -> None:
    from bench import _summary

    _summary.FIGURES.clear()
    record_latency_lines(LATENCY_OUTPUT)
    figures = as_json()
    assert figures["latency_alone_p50_ms"] == 612.3
    assert figures["latency_alone_p95_ms"] == 804.0
    assert figures["latency_alone_p95_ms_load"] == "1.20 1.10 1.00"
    assert figures["latency_load_p95_ms"] == 950.2
    assert figures["latency_load_p95_ms_load"] == "2.00 1.50 1.20 .. 2.50 1.80 1.30"
    assert _summary.FIGURES["latency_load_p50_ms"].note == "under 700 changes/s"
    _summary.FIGURES.clear()
