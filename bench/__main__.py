"""Run every benchmark module in this package: ``python -m bench`` (or ``make bench``).

A benchmark module has a ``main() -> None`` that prints its figures, and records the throughput
figures in :mod:`bench._summary`; once every selected module ran, the summary prints them
side by side with their targets and load averages. Figures are printed, never asserted:
they depend on the machine. Options (``--json``) are left in ``sys.argv`` for the modules;
with ``--json`` a module's last line is its figures as one JSON object, and so is the
summary's.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import platform
import time

import orjson

import bench
from bench import _summary


def main() -> None:
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.system()}")
    names = sorted(
        info.name for info in pkgutil.iter_modules(bench.__path__) if not info.name.startswith("_")
    )
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("modules", nargs="*", help="benchmark modules (default: all)")
    parser.add_argument(
        "--tryton-db",
        choices=("sqlite", "postgresql"),
        help="Tryton's database for the benchmarks on the real peers (default sqlite)",
    )
    parser.add_argument(
        "--json", action="store_true", help="each module's last line: its figures as JSON"
    )
    args = parser.parse_args()
    if args.tryton_db:
        os.environ["Q2C_BENCH_TRYTON_DB"] = args.tryton_db  # read by bench.harness
    selected = args.modules or names
    as_json = args.json  # also left in sys.argv, where the modules read it
    for name in selected:
        module = importlib.import_module(f"bench.{name}")
        entry = getattr(module, "main", None)
        if entry is None:
            continue
        print(f"\n== bench.{name}")
        started = time.perf_counter()
        entry()
        if not as_json:
            print(f"   ({time.perf_counter() - started:.1f} s)")
    print("\n== summary")
    for line in _summary.table():
        print(line)
    if as_json:
        print(orjson.dumps(_summary.as_json()).decode())


if __name__ == "__main__":
    main()
