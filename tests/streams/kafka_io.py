"""Producing contracts to, and collecting them from, the real broker in stream tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas import CODEC, Contract

C = TypeVar("C", bound=Contract)


async def produce(bootstrap: str, topic: str, items: list[tuple[str, Contract]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, message in items:
            await producer.send_and_wait(topic, key=key.encode(), value=CODEC.encode(message))
    finally:
        await producer.stop()


class Collector:
    """Follows topics from the beginning and keeps every decoded message."""

    def __init__(self, bootstrap: str, *topics: str) -> None:
        self._consumer = AIOKafkaConsumer(
            *topics,
            bootstrap_servers=bootstrap,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        self.messages: list[tuple[str, str, Contract]] = []

    async def __aenter__(self) -> Collector:
        await self._consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._consumer.stop()

    async def poll(self) -> None:
        batch = await self._consumer.getmany(timeout_ms=200)
        for records in batch.values():
            for record in records:
                if record.value is not None:
                    key = (record.key or b"").decode()
                    self.messages.append((record.topic, key, CODEC.decode(record.value)))

    def of(self, kind: type[C]) -> list[C]:
        return [m for _, _, m in self.messages if isinstance(m, kind)]

    async def wait_for(self, kind: type[C], where: Callable[[C], bool], within: float = 60.0) -> C:
        async with asyncio.timeout(within):
            while True:
                for message in self.of(kind):
                    if where(message):
                        return message
                await self.poll()
