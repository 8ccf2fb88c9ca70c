"""Poison on every topic q2c consumes, with the worker and both connectors running as real
processes on the real peers: random bytes, truncated and wrongly shaped JSON, bad schema
versions, messages of the wrong kind, empty values, null and non-UTF-8 keys, and payloads
near the broker's size limit. Each becomes exactly one dead letter naming where it was read
(counted by topic, partition and offset), every process stays up, and a deal closed won
afterwards still becomes a confirmed sale.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections import Counter

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas import CODEC, DeadLetter
from tests.e2e.conftest import Stack
from tests.e2e.helpers import account_in_both, crm_product, make_item, sale_of, won_deal
from tests.schemas.samples import all_samples

pytestmark = pytest.mark.integration

PER_TOPIC = 180
LARGE = 900_000  # near the broker's 1 MiB message limit
Origin = tuple[str, int, int]


def poison_values(rng: random.Random) -> list[bytes | None]:
    """Messages no consumer can use, of every kind."""
    samples = [orjson.loads(CODEC.encode(m)) for m in all_samples()]
    audit = next(CODEC.encode(m) for m in all_samples() if m.schema_subject == "audit_record")
    values: list[bytes | None] = []
    for n in range(PER_TOPIC):
        sample = samples[n % len(samples)]
        kind = n % 9
        if kind == 0:
            values.append(b"\xff" + os.urandom(rng.randint(0, 2000)))
        elif kind == 1:
            whole = orjson.dumps(sample)
            values.append(whole[: rng.randint(1, len(whole) - 1)])
        elif kind == 2:
            values.append(orjson.dumps(rng.choice([[1, 2], "x", 42, None, {}, {"schema": 5}])))
        elif kind == 3:
            values.append(orjson.dumps({**sample, "schema_version": rng.choice([0, 99, "1"])}))
        elif kind == 4:
            values.append(audit)  # a real message, of a kind no consumer of these reads
        elif kind == 5:
            values.append(None if n % 2 else b"")  # no value at all, or an empty one
        elif kind == 6:
            values.append(orjson.dumps({**sample, "schema": "no_such_thing"}))
        elif kind == 7:
            values.append(orjson.dumps({**sample, "updated_at": 12, "ids": [], "record": 5}))
        else:
            values.append(b"hello, not json")
    values.append(b"\xff" + os.urandom(LARGE))
    values.append(b'{"schema": "quote", "schema_version": 1, "x": "' + b"a" * LARGE + b'"}')
    return values


def is_cursor(value: bytes | None) -> bool:
    try:
        document = orjson.loads(value or b"")
    except orjson.JSONDecodeError:
        return False
    return isinstance(document, dict) and isinstance(document.get("cursor"), str)


async def produce_poison(stack: Stack, topics: list[str], compacted: set[str]) -> set[Origin]:
    """Poison on each topic; the origins of what was written."""
    rng = random.Random(8)
    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    await producer.start()
    origins: set[Origin] = set()
    try:
        for topic in topics:
            pending = []
            for n, value in enumerate(poison_values(rng)):
                keys: list[bytes | None] = [f"poison-{n}".encode(), b"\xff\xfe" + bytes([n % 256])]
                if topic not in compacted:  # compacted topics refuse records without a key
                    keys.append(None)
                key = keys[n % len(keys)]
                if topic == stack.topics.cursors:
                    if is_cursor(value):
                        continue  # a message that happens to hold a cursor: readable
                    key = f"tryton/poison-{n}".encode()  # the Tryton connector's own cursors
                if value is None and topic in compacted:
                    value = b""  # no value there is a deletion, not a message
                if value is None and key is None:
                    key = b"\xff"  # Kafka takes a record without key or value from nobody
                pending.append(await producer.send(topic, value=value, key=key))
            for metadata in await asyncio.gather(*pending):
                origins.add((metadata.topic, metadata.partition, metadata.offset))
    finally:
        await producer.stop()
    return origins


class DeadLetters:
    """Follows the dead-letter topic and counts letters by where their message was read."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.by_origin: Counter[Origin] = Counter()
        self.letters: dict[Origin, DeadLetter] = {}
        self._consumer = AIOKafkaConsumer(
            stack.topics.dead_letter,
            bootstrap_servers=stack.bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )

    async def __aenter__(self) -> DeadLetters:
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def read(self) -> None:
        for records in (await self._consumer.getmany(timeout_ms=300)).values():
            for record in records:
                letter = CODEC.decode_as(record.value or b"", DeadLetter)
                assert letter.origin is not None, letter
                origin = (letter.origin.topic, letter.origin.partition, letter.origin.offset)
                self.by_origin[origin] += 1
                self.letters[origin] = letter

    async def covering(self, origins: set[Origin], what: str) -> None:
        async def probe() -> bool | None:
            await self.read()
            return True if origins <= set(self.by_origin) else None

        try:
            await self.stack.eventually(probe, what, within=240)
        except AssertionError:
            missing = sorted(origins - set(self.by_origin))
            raise AssertionError(f"{len(missing)} not dead-lettered, e.g. {missing[:5]}") from None


def assert_alive(stack: Stack) -> None:
    assert stack.worker.proc is not None
    assert stack.worker.proc.poll() is None, stack.diagnostics()
    for connector in stack.connectors.values():
        assert connector.proc is not None
        assert connector.proc.poll() is None, stack.diagnostics()


async def test_poison_on_every_topic_is_dead_lettered_once_and_nothing_stops(stack: Stack) -> None:
    t = stack.topics
    live = [
        t.raw("tryton"),
        t.raw("bottlecrm"),
        t.changes,
        t.results("tryton"),
        t.results("bottlecrm"),
        t.control,
        t.sync,
        t.commands("tryton"),
        t.commands("bottlecrm"),
        t.reference("customers"),
        t.reference("items"),
    ]
    # Every topic but control is compacted (those with personal data also deleted by age).
    compacted = {*live, t.cursors} - {t.control}
    async with DeadLetters(stack) as letters:
        origins = await produce_poison(stack, live, compacted)
        await letters.covering(origins, "a dead letter for every poison message")
        assert_alive(stack)

        # Cursors are read when a connector starts: the Tryton connector, restarted, finds
        # its unreadable ones.
        cursor_origins = await produce_poison(stack, [t.cursors], compacted)
        stack.connectors["tryton"].stop()
        stack.connectors["tryton"].start()
        await letters.covering(cursor_origins, "a dead letter for every unreadable cursor")

        # A real change goes through once the poison is behind.
        await make_item(stack, "P-1", "100")
        product = await crm_product(stack, "P-1")
        account, party = await account_in_both(stack, "Poison Proof Inc")
        deal = await won_deal(stack, account, [(product, "2", "100")], "After the poison")
        sale = await sale_of(stack, deal, ("confirmed", "processing"))
        await letters.read()

    assert sale["party"] == party
    assert_alive(stack)
    everything = origins | cursor_origins
    assert len(everything) > 2000
    repeated = {o: n for o, n in letters.by_origin.items() if o in everything and n != 1}
    assert repeated == {}, f"dead-lettered more than once: {list(repeated.items())[:5]}"
    by_topic = Counter(topic for topic, _, _ in everything)
    assert set(by_topic) == {*live, t.cursors}
    large = [letters.letters[o] for o in everything if letters.letters[o].payload_size == LARGE + 1]
    assert large
    assert all(letter.payload_truncated for letter in large)
    assert all(
        letter.reason.endswith(f"not a q2c message: {LARGE + 1} bytes that are not UTF-8 text")
        for letter in large
    )
    assert all(letters.letters[o].reason for o in everything)
