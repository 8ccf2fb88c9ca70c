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
from q2c.settings import Settings

Builder = Callable[[Settings, Mapping[str, Any]], Awaitable[ConnectorParts]]

CONNECTORS: dict[str, str] = {
    "tryton": "connectors.tryton.connector",
    "bottlecrm": "connectors.bottlecrm.connector",
}


def builder(system: str) -> Builder:
    try:
        module = CONNECTORS[system]
    except KeyError:
        known = ", ".join(sorted(CONNECTORS))
        raise ValueError(f"no connector for {system!r}; known: {known}") from None
    return cast(Builder, importlib.import_module(module).build)
