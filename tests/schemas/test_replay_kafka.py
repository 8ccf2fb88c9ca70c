"""Replaying a topic after a schema change, on the real broker.

Version 1 of a subject local to this test is frozen in a registry under tmp_path and
written to a topic; then the model "changes" to version 2 (a field split in two and a new
required currency, bridged by an upcaster), v2 is frozen, and the whole topic is read back
as v2. A corrupt record on the same topic becomes a dead letter, not a crash.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import ClassVar

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition

import schemas as s
from schemas.evolution import check, freeze
from schemas.store import SchemaStore
from schemas.upcasting import JsonObject
from tests.plugins.kafka import TopicFactory

pytestmark = pytest.mark.integration

AT = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
TRACEPARENT = b"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


class PriceNoteV1(s.Contract):
    schema_subject: ClassVar[str] = "price_note"
    schema_version: ClassVar[int] = 1

    sku: str
    text: str = ""
    amount: s.ExactDecimal


class PriceNoteV2(s.Contract):
    """v2: ``text`` became ``title`` + ``body``; the amount is Money (currency required)."""

    schema_subject: ClassVar[str] = "price_note"
    schema_version: ClassVar[int] = 2

    sku: str
    title: str
    body: str = ""
    price: s.Money
    written_at: s.UtcDateTime | None = None


def v2_upcasters() -> s.UpcasterRegistry:
    upcasters = s.UpcasterRegistry()

    @upcasters.register("price_note", from_version=1)
    def text_split_and_money(data: JsonObject) -> JsonObject:
        title, _, body = data.pop("text", "").partition("\n")
        # v1 only ever priced in the company currency.
        price = {"amount": data.pop("amount"), "currency": "EUR"}
        return {**data, "title": title or data["sku"], "body": body, "price": price}

    return upcasters


async def _produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for value in values:
            await producer.send_and_wait(
                topic, value=value, key=b"sku", headers=[("traceparent", TRACEPARENT)]
            )
    finally:
        await producer.stop()


async def _read(bootstrap: str, topic: str, count: int) -> list[ConsumerRecord[bytes, bytes]]:
    consumer = AIOKafkaConsumer(
        bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    try:
        tp = TopicPartition(topic, 0)
        consumer.assign([tp])
        await consumer.seek_to_beginning(tp)
        records: list[ConsumerRecord[bytes, bytes]] = []
        async with asyncio.timeout(30):
            while len(records) < count:
                batch = await consumer.getmany(tp, timeout_ms=500)
                records.extend(batch.get(tp, []))
        return records
    finally:
        await consumer.stop()


async def test_a_v1_topic_is_replayed_as_v2(
    kafka_bootstrap: str, topic_factory: TopicFactory, tmp_path: Path
) -> None:
    store = SchemaStore(tmp_path / "registry")
    v1 = s.Catalog([PriceNoteV1])
    assert freeze(v1, store).problems == []
    topic = await topic_factory("price-notes")

    old = [
        PriceNoteV1(sku=f"SKU-{n}", text=f"Autumn price {n}\nvalid until December", amount=price)
        for n, price in enumerate([Decimal("19.90"), Decimal("0.10"), Decimal("1234567.8900")])
    ]
    old.append(PriceNoteV1(sku="SKU-9", amount=Decimal("-5")))
    await _produce(kafka_bootstrap, topic, [s.MessageCodec(v1).encode(m) for m in old])

    # The model changes. Without an upcaster, v2 breaks BACKWARD and is not frozen...
    unbridged = freeze(s.Catalog([PriceNoteV2]), store)
    assert "price_note v2: field 'title' became required without a default (BACKWARD)" in [
        str(p) for p in unbridged.problems
    ]
    assert store.versions("price_note") == [1]
    # ... with one, it is.
    v2 = s.Catalog([PriceNoteV2], v2_upcasters())
    assert freeze(v2, store).written == [store.path("price_note", 2)]
    assert check(v2, store) == []

    codec = s.MessageCodec(v2)
    new = PriceNoteV2(
        sku="SKU-10",
        title="New",
        price=s.Money(amount=Decimal("7.00"), currency="USD"),
        written_at=AT,
    )
    await _produce(kafka_bootstrap, topic, [codec.encode(new), b'{"schema": "price_note"'])

    records = await _read(kafka_bootstrap, topic, len(old) + 2)
    assert [orjson.loads(r.value or b"{}").get("schema_version") for r in records[:5]] == [
        1,
        1,
        1,
        1,
        2,
    ]
    decoded: list[PriceNoteV2] = []
    dead: list[s.DeadLetter] = []
    for record in records:
        assert dict(record.headers)["traceparent"] == TRACEPARENT
        try:
            decoded.append(codec.decode_as(record.value or b"", PriceNoteV2))
        except s.DecodeError as error:
            dead.append(
                s.DeadLetter.of(
                    payload=record.value,
                    error=error,
                    stage="test.replay",
                    failed_at=AT,
                    origin=s.MessageOrigin(
                        topic=record.topic, partition=record.partition, offset=record.offset
                    ),
                )
            )

    assert decoded == [
        PriceNoteV2(
            sku="SKU-0",
            title="Autumn price 0",
            body="valid until December",
            price=s.Money(amount=Decimal("19.90"), currency="EUR"),
        ),
        PriceNoteV2(
            sku="SKU-1",
            title="Autumn price 1",
            body="valid until December",
            price=s.Money(amount=Decimal("0.10"), currency="EUR"),
        ),
        PriceNoteV2(
            sku="SKU-2",
            title="Autumn price 2",
            body="valid until December",
            price=s.Money(amount=Decimal("1234567.8900"), currency="EUR"),
        ),
        PriceNoteV2(sku="SKU-9", title="SKU-9", price=s.Money(amount=Decimal(-5), currency="EUR")),
        new,
    ]
    # Exact decimals, trailing zeros included, after a trip through Kafka and an upcast.
    assert str(decoded[2].price.amount) == "1234567.8900"
    assert [letter.origin.offset for letter in dead if letter.origin] == [5]
    assert dead[0].payload() == b'{"schema": "price_note"'
    assert dead[0].reason.startswith("not valid JSON")
