"""An item deleted by its owner leaves the join views: the sync publishes a tombstone with
the deletion in a header, every view drops the item and remembers why, and a deal using
it is rejected with that reason (and dead-lettered) instead of waiting for it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from aiokafka import AIOKafkaProducer, ConsumerRecord

from q2c.core.kafka_admin import ensure_compacted
from schemas import CODEC, AuditKind, ExternalIds, ReportSyncStatus, SyncStatus
from schemas.changes import SystemRole
from schemas.entities import EntityKind
from streams.handlers.deals import OrderState, OrderStatus, on_quote_change, on_recheck
from streams.handlers.master import on_master_change
from streams.rules.deletes import ItemDeletion
from streams.views import JoinViews, deletion_header, deletion_of
from tests.streams.factories import T0, change, item, line, quote
from tests.streams.rules.test_deletes import deleted
from tests.streams.test_handlers import CFG, NOW, known_views

CRM, ERP = SystemRole.CRM, SystemRole.ERP
ITEMS = "t.reference.items"
GONE = ItemDeletion(
    sku="W-1",
    ids=ExternalIds(crm_id="prod-W-1", erp_id="7"),
    role=ERP,
    system="tryton",
    at=T0 + timedelta(minutes=5),
)


def test_an_item_deleted_by_its_owner_leaves_the_views() -> None:
    golden, _ = on_master_change(None, change(item(), ERP), "item:W-1", CFG, NOW)
    _, step = on_master_change(
        golden, deleted(EntityKind.ITEM, GONE.ids, ERP), "item:W-1", CFG, NOW
    )
    (gone,) = step.deleted_items
    assert (gone.sku, gone.ids, gone.role, gone.system) == ("W-1", GONE.ids, ERP, "erp")
    assert gone.at == T0 + timedelta(minutes=5)
    # Deleted in the CRM, which does not own items: the item stays sellable.
    _, step = on_master_change(
        golden, deleted(EntityKind.ITEM, GONE.ids, CRM), "item:W-1", CFG, NOW
    )
    assert step.deleted_items == []


def record(key: bytes, value: bytes | None, headers: tuple[tuple[str, bytes], ...] = ()) -> Any:
    size = len(value) if value is not None else 0
    return ConsumerRecord(ITEMS, 0, 0, 0, 0, key, value, None, len(key), size, headers)


async def test_a_tombstone_drops_the_item_under_every_key_until_it_is_made_again() -> None:
    views = JoinViews("t.reference.customers", ITEMS, {})
    widget = item("W-1")
    await views._take(record(b"W-1", CODEC.encode(widget)))
    assert views.item("prod-W-1") == widget

    await views._take(record(b"W-1", None, (deletion_header(GONE),)))
    for key in ("W-1", "prod-W-1", "7"):
        assert views.item(key) is None
        assert views.deleted_item(key) == GONE
    assert deletion_of([deletion_header(GONE)]) == GONE
    assert deletion_of([("q2c-deleted", b"not json")]) is None

    await views._take(record(b"W-1", CODEC.encode(widget)))  # made again in the ERP
    assert views.item("W-1") == widget
    assert views.deleted_item("W-1") is None


async def test_an_own_tombstone_read_back_is_not_applied_again() -> None:
    views = JoinViews("t.reference.customers", ITEMS, {})
    widget = item("W-1")
    views.apply_own(ITEMS, "W-1", CODEC.encode(widget), widget)
    views.retire_own(ITEMS, GONE)
    assert views.item("W-1") is None
    # The item record published before the tombstone, read back: older, not applied.
    assert views.own_or_older(record(b"W-1", CODEC.encode(widget)))
    assert views.item("W-1") is None
    assert views.own_or_older(record(b"W-1", None))  # the tombstone itself
    assert views.deleted_item("prod-W-1") == GONE


def test_a_deal_using_a_deleted_item_is_rejected_with_the_reason() -> None:
    views = known_views()
    del views.items["prod-W-1"]
    views.deleted["prod-W-1"] = GONE
    won = change(quote(line(1, "W-1", "2", "100.00"), line(2, "G-2", "1", "25.00")), CRM)
    state, step = on_quote_change(OrderState(deal="deal-1"), won, views, CFG, NOW)
    assert state.status is OrderStatus.REJECTED
    reason = "line 1: item W-1 was deleted in the ERP (tryton) on 2026-11-26"
    (emit,) = step.commands
    assert isinstance(emit.command, ReportSyncStatus)
    assert (emit.command.status, emit.command.message) == (SyncStatus.REJECTED, reason)
    assert [a.kind for a in step.audits] == [AuditKind.REJECTED]
    assert step.dead_letters == [f"deal deal-1 cannot be ordered: {reason}"]


def test_a_deal_waiting_for_an_item_is_rejected_once_the_item_is_deleted() -> None:
    views = known_views()
    del views.items["prod-W-1"]
    won = change(quote(line(1, "W-1", "2", "100.00")), CRM)
    waiting, _ = on_quote_change(OrderState(deal="deal-1"), won, views, CFG, NOW)
    assert waiting.status is OrderStatus.WAITING
    views.deleted["prod-W-1"] = GONE
    state, step = on_recheck(waiting, views, CFG, NOW)
    assert state.status is OrderStatus.REJECTED
    assert "item W-1 was deleted in the ERP (tryton)" in step.dead_letters[0]


@pytest.mark.integration
async def test_a_view_read_from_the_topic_knows_the_deleted_item(kafka_bootstrap: str) -> None:
    """On the real broker: a worker (re)reading the items topic from the beginning meets the
    item, then its tombstone, and knows the item as deleted."""
    suffix = uuid.uuid4().hex[:8]
    customers, items = f"t-{suffix}.reference.customers", f"t-{suffix}.reference.items"
    client = {"bootstrap_servers": kafka_bootstrap}
    await ensure_compacted(client, customers, items)
    producer = AIOKafkaProducer(**client, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(items, key=b"W-1", value=CODEC.encode(item("W-1")))
        await producer.send_and_wait(items, key=b"W-1", value=None, headers=[deletion_header(GONE)])
    finally:
        await producer.stop()

    views = JoinViews(customers, items, client)
    stop = asyncio.Event()
    following = asyncio.create_task(views.follow(stop))
    try:
        await asyncio.wait_for(views.ready.wait(), 60)
        assert views.item("W-1") is None
        assert views.deleted_item("prod-W-1") == GONE
    finally:
        stop.set()
        await asyncio.wait_for(following, 30)
