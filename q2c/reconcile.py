"""Reading both systems whole, through their connectors, for `q2c reconcile` and
`q2c resync --rejected`.

Besides the canonical entities, a read keeps the raw change each entity was mapped from (so
a record can be sent through the sync again without reading it twice) and the sync status
q2c wrote on CRM records (the ``q2c_sync_status`` / ``q2c_sync_reason`` custom fields).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from connectors.base.runtime import ConnectorParts
from connectors.registry import builder
from q2c.core.settings import Settings
from schemas import RawChange
from schemas.changes import Entity
from schemas.entities import CreditMemo, Customer, EntityKind, Invoice, Item, Quote, SalesOrder
from streams.rules.reconcile import Snapshot, SyncMark

STATUS_FIELD = "q2c_sync_status"
REASON_FIELD = "q2c_sync_reason"
BALANCE_FIELD = "erp_outstanding_balance"

Progress = Callable[[str, int, int], None]
"""Told ``(system and stream, streams read, streams in all)`` as each stream starts."""


@dataclass
class SystemRead:
    """One system read whole: its snapshot and the raw change behind each entity."""

    system: str
    snapshot: Snapshot
    sources: dict[tuple[EntityKind, str], RawChange] = field(default_factory=dict)


def natural_key(entity: Entity) -> str | None:
    """How reconciliation names a record: the SKU of an item, else its CRM (or ERP) id."""
    if isinstance(entity, Item):
        return entity.sku
    return entity.ids.crm_id or entity.ids.erp_id


def _custom_fields(raw: RawChange) -> dict[str, Any]:
    custom = raw.record.get("custom_fields")
    return custom if isinstance(custom, dict) else {}


def shown_balance(raw: RawChange) -> Decimal | None:
    """The outstanding balance q2c wrote on a CRM account, if it wrote one."""
    value = _custom_fields(raw).get(BALANCE_FIELD)
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except ArithmeticError:
        return None


def sync_mark(raw: RawChange) -> SyncMark | None:
    """The sync status q2c wrote on the record, if it wrote one."""
    custom = _custom_fields(raw)
    status = custom.get(STATUS_FIELD)
    if not isinstance(status, str) or not status:
        return None
    reason = custom.get(REASON_FIELD)
    return SyncMark(status, reason if isinstance(reason, str) else "")


async def read_parts(parts: ConnectorParts, progress: Progress | None = None) -> SystemRead:
    """Every record of ``parts``' streams, mapped to canonical entities."""
    found = SystemRead(parts.system, Snapshot(customers=[], items=[], quotes=[], orders=[]))
    snap = found.snapshot
    for done, stream in enumerate(parts.streams):
        if progress is not None:
            progress(f"{parts.system} {stream.name}", done, len(parts.streams))
        cursor: str | None = None
        while True:
            batch = await stream.read(cursor)
            for raw in batch.changes:
                for change in parts.mapper.to_canonical(raw):
                    data = change.data
                    key = natural_key(data) if data is not None else None
                    if data is None or key is None:
                        continue
                    found.sources[(change.entity, key)] = raw
                    mark = sync_mark(raw) if isinstance(data, Quote) else None
                    if mark is not None:
                        snap.marks[key] = mark
                    if isinstance(data, Customer):
                        snap.customers.append(data)
                        balance = shown_balance(raw)
                        if balance is not None:
                            snap.balances[key] = balance
                    elif isinstance(data, Item):
                        snap.items.append(data)
                    elif isinstance(data, Quote):
                        snap.quotes.append(data)
                    elif isinstance(data, SalesOrder):
                        snap.orders.append(data)
                    elif isinstance(data, Invoice | CreditMemo):
                        snap.invoices.append(data)
            cursor = batch.cursor
            if not batch.more:
                break
    return found


async def connect(settings: Settings, system: str, defaults: Mapping[str, Any]) -> ConnectorParts:
    return await builder(system)(settings, defaults)


async def read_system(
    settings: Settings,
    system: str,
    defaults: Mapping[str, Any],
    progress: Progress | None = None,
) -> SystemRead:
    parts = await connect(settings, system, defaults)
    try:
        return await read_parts(parts, progress)
    finally:
        if parts.close is not None:
            await parts.close()
