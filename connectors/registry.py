"""The connectors q2c knows, by system name.

Each system package has a ``connector`` module whose ``build(settings, defaults)`` returns
its :class:`~connectors.base.runtime.ConnectorParts`; ``defaults`` is what the local stack
recorded for it (URL, credentials), under its own config section and ``Q2C_<SYSTEM>__*``
variables.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, cast

from connectors.base.runtime import ConnectorParts
from q2c.core.settings import Settings
from schemas.redaction import add_secret_patterns

Builder = Callable[[Settings, Mapping[str, Any]], Awaitable[ConnectorParts]]

CONNECTORS: dict[str, str] = {
    "tryton": "connectors.tryton.connector",
    "bottlecrm": "connectors.bottlecrm.connector",
}


def install_secret_patterns() -> None:
    """Mask every known system's secret shapes (its package's ``SECRET_PATTERNS``) in logs,
    traces and dead-letter reasons from now on."""
    for module in CONNECTORS.values():
        package = importlib.import_module(module.rsplit(".", 1)[0])
        add_secret_patterns(getattr(package, "SECRET_PATTERNS", ()))


def builder(system: str) -> Builder:
    try:
        module = CONNECTORS[system]
    except KeyError:
        known = ", ".join(sorted(CONNECTORS))
        raise ValueError(f"no connector for {system!r}; known: {known}") from None
    return cast(Builder, importlib.import_module(module).build)
