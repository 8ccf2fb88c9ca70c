"""The systems q2c has connectors for, by name: each package's ``spec`` module declares the
system (:class:`~connectors.base.spec.ConnectorSpec`); everything else reads it from here."""

from __future__ import annotations

import importlib
from functools import cache
from typing import Any

from connectors.base.spec import Builder, ConnectorSpec
from schemas.redaction import add_secret_patterns

SPECS: dict[str, str] = {
    "tryton": "connectors.tryton.spec",
    "bottlecrm": "connectors.bottlecrm.spec",
    "netsuite": "connectors.netsuite.spec",
    "salesforce": "connectors.salesforce.spec",
}

# Kept for the callers that only need the names.
CONNECTORS = SPECS


def systems() -> list[str]:
    return sorted(SPECS)


@cache
def spec(system: str) -> ConnectorSpec[Any]:
    try:
        module = SPECS[system]
    except KeyError:
        known = ", ".join(systems())
        raise ValueError(f"no connector for {system!r}; known: {known}") from None
    loaded = importlib.import_module(module).SPEC
    if not isinstance(loaded, ConnectorSpec) or loaded.name != system:
        raise TypeError(f"{module}.SPEC does not declare the {system!r} connector")
    return loaded


def specs() -> list[ConnectorSpec[Any]]:
    """Every system's spec, by name."""
    return [spec(system) for system in systems()]


def install_secret_patterns() -> None:
    """Mask every known system's secret shapes in logs, traces and dead-letter reasons from
    now on."""
    for system in systems():
        add_secret_patterns(spec(system).secret_patterns)


def builder(system: str) -> Builder:
    return spec(system).build
