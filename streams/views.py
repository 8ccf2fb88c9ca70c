"""Join views: what the ERP knows of customers and items, kept whole by every worker.

Deals are partitioned by deal, customers by customer and items by SKU, so a deal cannot read
its customer or items from a local table partition. Instead the sync publishes every
customer and item it learns about to a compacted reference topic, and each worker reads
those topics from the beginning and keeps following them (Faust's GlobalTable is not
relied on: its standby assignment is unreliable with several workers). A deal that arrives
before its customer or items parks and is looked at again when the view changes.

An item its owner deleted leaves the view: the sync publishes a tombstone (no value) at
its SKU, with an ``q2c-deleted`` header saying where and when it was deleted, and every
worker's view drops the item and remembers the deletion, so a deal using it is told why
instead of waiting for it. (Compaction removes tombstones after the topic's
``delete.retention.ms``; a view read after that no longer knows the item at all.)

A record on a reference topic that is not a customer or an item q2c can read is handed to
``on_unreadable`` (the worker dead-letters it) and the view goes on without it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import ValidationError

from q2c.core.kafka_admin import ensure_compacted
from schemas import CODEC, DecodeError
from schemas.entities import Customer, ExternalIds, Item
from streams.rules.deletes import ItemDeletion

log = logging.getLogger(__name__)

Unreadable = Callable[[ConsumerRecord[bytes, bytes], DecodeError], Awaitable[None]]
DELETED_HEADER = "q2c-deleted"
"""The header of an item's tombstone: the :class:`ItemDeletion`, as JSON."""
_TOMBSTONE = b""
"""What this worker's own tombstone is remembered as until it is read back."""


def deletion_header(deletion: ItemDeletion) -> tuple[str, bytes]:
    return DELETED_HEADER, deletion.model_dump_json().encode()


def deletion_of(headers: Iterable[tuple[str, bytes]]) -> ItemDeletion | None:
    """The deletion a tombstone's headers carry; None when they carry none readable."""
    for name, value in headers:
        if name == DELETED_HEADER:
            try:
                return ItemDeletion.model_validate_json(value)
            except ValidationError:
                return None
    return None


class JoinViews:
    def __init__(
        self,
        customers_topic: str,
        items_topic: str,
        client_kwargs: dict[str, Any],
        on_unreadable: Unreadable | None = None,
    ) -> None:
        self.customers_topic = customers_topic
        self.on_unreadable = on_unreadable
        self.items_topic = items_topic
        self._client_kwargs = client_kwargs
        # Records are kept as the bytes they were read as, and decoded when a deal reads
        # them: a worker holds every customer and item, and a decoded model takes about
        # three times the memory of its JSON.
        self._customers: dict[str, bytes] = {}
        self._customers_by_erp: dict[str, bytes] = {}
        self._accounts: dict[str, str | None] = {}
        """The CRM account of each ERP customer (read for every finance change)."""
        self._items: dict[str, bytes] = {}
        self._deleted: dict[str, ItemDeletion] = {}
        """Items their owner deleted, by SKU, CRM id and ERP id."""
        self._own: dict[tuple[str, bytes], bytes] = {}
        """The latest record this worker published per (topic, key), not yet read back."""
        self.ready = asyncio.Event()
        self.changed = asyncio.Event()

    # -- reads (the Refs protocol of the deal handlers) --------------------------------
    def customer(self, ids: ExternalIds) -> Customer | None:
        raw = None
        if ids.crm_id:
            raw = self._customers.get(ids.crm_id)
        if raw is None and ids.erp_id:
            raw = self._customers_by_erp.get(ids.erp_id)
        return None if raw is None else CODEC.decode_as(raw, Customer)

    def item(self, key: str) -> Item | None:
        raw = self._items.get(key)
        return None if raw is None else CODEC.decode_as(raw, Item)

    def deleted_item(self, key: str) -> ItemDeletion | None:
        """How the item known as ``key`` (SKU, CRM or ERP id) was deleted, if it was."""
        return self._deleted.get(key)

    def account_of(self, customer_erp_id: str) -> str | None:
        return self._accounts.get(customer_erp_id)

    # -- updates ----------------------------------------------------------------------
    def apply(self, value: bytes) -> None:
        """Take in a reference record; DecodeError when it is not a customer or an item."""
        message = CODEC.decode(value)
        if not isinstance(message, Customer | Item):
            raise DecodeError(
                f"a reference record is a customer or an item, not {message.schema_subject}"
            )
        self._apply(message, value)

    def apply_own(self, topic: str, key: str, value: bytes, message: Customer | Item) -> None:
        """Take in a record this worker publishes (``value``, on ``topic`` at ``key``) from
        the model it was encoded from; reading it back from the topic then costs no decode.

        Until it is read back, an older record of the same key (an earlier one of this
        worker's, or one another worker published before it) is not applied over it.

        The view keeps a copy of ``value`` of its own size: what ``orjson.dumps`` returns
        keeps the whole buffer it was written in (4 KiB or more), and a worker keeps every
        customer and item."""
        value = memoryview(value).tobytes()
        self._apply(message, value)
        self._own[(topic, key.encode())] = value

    def retire_own(self, topic: str, deletion: ItemDeletion) -> None:
        """Take in an item tombstone this worker publishes (at ``deletion.sku``)."""
        self._retire(deletion)
        self._own[(topic, deletion.sku.encode())] = _TOMBSTONE

    def _retire(self, deletion: ItemDeletion) -> None:
        """Drop the item from the view and remember its deletion under each of its keys."""
        keys = {deletion.sku, deletion.ids.crm_id, deletion.ids.erp_id}
        raw = self._items.get(deletion.sku)
        if raw is not None:
            try:
                known = CODEC.decode_as(raw, Item)
                keys |= {known.ids.crm_id, known.ids.erp_id}
            except DecodeError:
                pass
        for key in keys:
            if key:
                self._items.pop(key, None)
                self._deleted[key] = deletion

    def withdraw_own(self, topic: str, key: str) -> None:
        """Take out the customer this worker withdraws (a tombstone it publishes at ``key``
        of ``topic``); until the tombstone is read back, no older record of the key is
        applied over it."""
        self.withdraw(key)
        self._own[(topic, key.encode())] = _TOMBSTONE

    def withdraw(self, key: str) -> None:
        """Forget the customer kept at reference key ``key`` (its CRM id, or ``erp:<id>``)."""
        raw = self._customers.get(key) or self._customers_by_erp.get(key.removeprefix("erp:"))
        if raw is None:
            return
        customer = CODEC.decode_as(raw, Customer)
        if customer.ids.crm_id:
            self._customers.pop(customer.ids.crm_id, None)
        if customer.ids.erp_id:
            self._customers_by_erp.pop(customer.ids.erp_id, None)
            self._accounts.pop(customer.ids.erp_id, None)
        self.changed.set()

    def _apply(self, message: Customer | Item, value: bytes) -> None:
        if isinstance(message, Customer):
            if message.ids.crm_id:
                self._customers[message.ids.crm_id] = value
            if message.ids.erp_id:
                self._customers_by_erp[message.ids.erp_id] = value
                self._accounts[message.ids.erp_id] = message.ids.crm_id
        elif isinstance(message, Item):
            for key in (message.sku, message.ids.crm_id, message.ids.erp_id):
                if key:
                    self._items[key] = value
                    self._deleted.pop(key, None)  # made again
        self.changed.set()

    async def follow(self, stop: asyncio.Event | None = None) -> None:
        """Read both topics from the beginning; set ``ready`` once caught up; keep following."""
        await ensure_compacted(self._client_kwargs, self.customers_topic, self.items_topic)
        consumer = AIOKafkaConsumer(
            **self._client_kwargs, enable_auto_commit=False, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            tps = [
                TopicPartition(topic, p)
                for topic in (self.customers_topic, self.items_topic)
                for p in sorted(consumer.partitions_for_topic(topic) or {0})
            ]
            consumer.assign(tps)
            await consumer.seek_to_beginning(*tps)
            ends = await consumer.end_offsets(tps)
            while stop is None or not stop.is_set():
                batch = await consumer.getmany(*tps, timeout_ms=500)
                for records in batch.values():
                    for record in records:
                        await self._take(record)
                if not self.ready.is_set():
                    behind = [tp for tp in tps if await consumer.position(tp) < ends[tp]]
                    if not behind:
                        self.ready.set()
        finally:
            await consumer.stop()

    def own_or_older(self, record: ConsumerRecord[bytes, bytes]) -> bool:
        """Whether ``record`` is already applied (one this worker published) or older than
        a record this worker published and applied since (one not to apply over it)."""
        assert record.key is not None
        own = self._own.get((record.topic, record.key))
        if own is None:
            return False
        if own == (_TOMBSTONE if record.value is None else record.value):
            del self._own[(record.topic, record.key)]
        return True

    async def _take(self, record: ConsumerRecord[bytes, bytes]) -> None:
        if self._own and record.key is not None and self.own_or_older(record):
            return
        if record.value is None:
            deletion = deletion_of(record.headers or ())
            if record.topic == self.items_topic and deletion is not None:
                self._retire(deletion)
            elif record.topic == self.customers_topic and record.key is not None:
                # An erased customer leaves the view.
                self.withdraw(record.key.decode("utf-8", errors="replace"))
            return  # any other tombstone: compaction's business, not a record
        try:
            self.apply(record.value)
        except DecodeError as exc:
            if self.on_unreadable is None:
                log.error(
                    "unreadable reference record at %s/%d/%d: %s",
                    record.topic,
                    record.partition,
                    record.offset,
                    exc,
                )
            else:
                await self.on_unreadable(record, exc)
