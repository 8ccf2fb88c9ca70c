"""Run every benchmark module in this package: ``python -m bench`` (or ``make bench``).

A benchmark module has a ``main() -> None`` that prints its figures. Figures are printed,
never asserted: they depend on the machine. Options (``--json``) are left in ``sys.argv``
for the modules; with ``--json`` a module's last line is its figures as one JSON object.
"""

from __future__ import annotations

import importlib
import pkgutil
import platform
import sys
import time

import bench


def main() -> None:
    print(f"python {platform.python_version()} on {platform.machine()}, {platform.system()}")
    names = sorted(
        info.name for info in pkgutil.iter_modules(bench.__path__) if not info.name.startswith("_")
    )
    selected = [arg for arg in sys.argv[1:] if not arg.startswith("-")] or names
    as_json = "--json" in sys.argv[1:]
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


if __name__ == "__main__":
    main()
