"""Running one connector: its source streams, its normalizer, its sink and any extra
services (a webhook receiver, say), until asked to stop.

A FATAL error in any part stops the whole connector with the reason; everything already
acknowledged stays committed, everything else is redone on restart.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

from connectors.base.cursors import CursorStore
from connectors.base.mapping import Mapper
from connectors.base.normalize import Normalizer
from connectors.base.publish import Publisher
from connectors.base.sink import Sink, SinkRunner, check_sink
from connectors.base.source import SourceRunner, Stream
from q2c.core.settings import DeadLetterSettings
from q2c.core.topics import Topics

log = logging.getLogger(__name__)

Service = Callable[[asyncio.Event, Publisher], Coroutine[Any, Any, None]]


@dataclass
class ConnectorParts:
    """Everything one system contributes; built by the system's ``connector.build``."""

    system: str
    mapper: Mapper
    streams: Sequence[Stream] = ()
    sink: Sink | None = None
    services: Sequence[Service] = ()
    poll_interval: float = 2.0
    close: Callable[[], Awaitable[None]] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # A sink missing a command of its role would dead-letter each one at run time.
        if self.sink is not None:
            check_sink(type(self.sink), self.mapper.role)


async def run_connector(
    parts: ConnectorParts,
    client_kwargs: dict[str, Any],
    topics: Topics,
    stop: asyncio.Event,
    *,
    source: bool = True,
    sink: bool = True,
    ready: asyncio.Event | None = None,
    dead_letters: DeadLetterSettings | None = None,
) -> None:
    limits = dead_letters or DeadLetterSettings()
    publisher = Publisher(client_kwargs, topics, limits.max_payload_bytes)
    cursors = CursorStore(
        topics.cursors,
        client_kwargs,
        publisher,
        parts.system,
        owner=f"{topics.cursors}.{parts.system}",
    )
    tasks: list[asyncio.Task[None]] = []
    try:
        await publisher.start()  # inside: a broker that is away still closes the clients
        if source:
            await cursors.start()
            runner = SourceRunner(parts.streams, publisher, cursors, parts.poll_interval)
            if parts.streams:
                tasks.append(asyncio.create_task(runner.run(stop), name="source"))
            for service in parts.services:
                tasks.append(asyncio.create_task(service(stop, publisher), name="service"))
            normalizer = Normalizer(parts.mapper, publisher, client_kwargs)
            tasks.append(asyncio.create_task(normalizer.run(stop), name="normalize"))
        if sink and parts.sink is not None:
            sink_runner = SinkRunner(parts.sink, publisher, client_kwargs)
            tasks.append(asyncio.create_task(sink_runner.run(stop), name="sink"))
        log.info("connector %s running: %s", parts.system, [t.get_name() for t in tasks])
        if ready is not None:
            ready.set()
        done, _ = await asyncio.wait(
            [*tasks, asyncio.create_task(stop.wait())], return_when=asyncio.FIRST_COMPLETED
        )
        failed = [t for t in done if t in tasks and t.exception() is not None]
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        if failed:
            raise failed[0].exception()  # type: ignore[misc]
    finally:
        for task in tasks:
            task.cancel()
        await cursors.stop()
        await publisher.stop()
        if parts.close is not None:
            await parts.close()
