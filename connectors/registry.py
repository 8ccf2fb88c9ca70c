"""The systems q2c has connectors for, by name: each package's ``spec`` module declares the
system (:class:`~connectors.base.spec.ConnectorSpec`); everything else reads it from here.

A spec is loaded when it is first asked for, so a process loads only the connectors it
runs."""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING, Any

from connectors.secret_shapes import SECRET_PATTERNS
from schemas.redaction import add_secret_patterns

if TYPE_CHECKING:
    from connectors.base.spec import Builder, ConnectorSpec

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
    from connectors.base.spec import ConnectorSpec

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
    now on (without loading the connectors)."""
    for system in systems():
        add_secret_patterns(SECRET_PATTERNS[system])


def builder(system: str) -> Builder:
    return spec(system).build
