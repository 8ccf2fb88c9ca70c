"""Reading both systems whole, through their connectors, for `q2c reconcile`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from connectors.base.runtime import ConnectorParts
from connectors.registry import builder
from q2c.settings import Settings
from schemas.entities import Customer, Item, Quote, SalesOrder
from streams.rules.reconcile import Snapshot


async def snapshot(parts: ConnectorParts) -> Snapshot:
    """Every record of ``parts``' streams, mapped to canonical entities."""
    found = Snapshot(customers=[], items=[], quotes=[], orders=[])
    for stream in parts.streams:
        cursor: str | None = None
        while True:
            batch = await stream.read(cursor)
            for raw in batch.changes:
                for change in parts.mapper.to_canonical(raw):
                    data = change.data
                    if isinstance(data, Customer):
                        found.customers.append(data)
                    elif isinstance(data, Item):
                        found.items.append(data)
                    elif isinstance(data, Quote):
                        found.quotes.append(data)
                    elif isinstance(data, SalesOrder):
                        found.orders.append(data)
            cursor = batch.cursor
            if not batch.more:
                break
    return found


async def read_system(settings: Settings, system: str, defaults: Mapping[str, Any]) -> Snapshot:
    parts = await builder(system)(settings, defaults)
    try:
        return await snapshot(parts)
    finally:
        if parts.close is not None:
            await parts.close()
