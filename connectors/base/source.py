"""What a source is, and the loop that runs one.

A source system is read as a set of :class:`Stream` objects, one per object type. A stream
reads a batch of changes after a cursor (``None`` means: from the beginning, a snapshot)
and says where to resume. The :class:`SourceRunner` publishes each batch, waits until the
broker acknowledged all of it, and only then stores the new cursor: a source killed at any
moment repeats at most the batch it was publishing (downstream drops the duplicates by
fingerprint), and never skips a change.

A system's streams are declared on the change-tracking strategies of
:mod:`connectors.base.tracking` (modified-since polling, full scans by fingerprint, event
streams with a replay position); its webhook receiver, a connector service, publishes
through the same :class:`Publisher`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import ClassVar

from connectors.base.cursors import CursorStore
from connectors.base.errors import ConnectorError, ErrorKind
from connectors.base.publish import Publisher
from connectors.base.retry import RetryPolicy
from q2c.core import metrics
from schemas import DeadLetter, RawChange

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Batch:
    changes: Sequence[RawChange]
    cursor: str | None
    more: bool = False
    """True when the stream has more changes ready: poll again without waiting."""
    dead_letters: Sequence[DeadLetter] = field(default_factory=tuple)
    """Records the stream could read but not turn into changes (with the reason)."""


class Stream(ABC):
    """One object type of one source system."""

    system: ClassVar[str]
    name: ClassVar[str]
    follows: ClassVar[bool] = False
    """True for a stream whose ``read`` waits for changes itself (an event subscription's
    fetch): the runner reads it again as soon as it answers, not every poll interval."""

    @property
    def cursor_key(self) -> str:
        return f"{self.system}/{self.name}"

    @abstractmethod
    async def read(self, cursor: str | None) -> Batch:
        """Changes after ``cursor`` (all records when ``None``), oldest first."""


class SourceRunner:
    """Polls a source's streams forever, publishing changes and advancing cursors."""

    def __init__(
        self,
        streams: Sequence[Stream],
        publisher: Publisher,
        cursors: CursorStore,
        poll_interval: float = 2.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.streams = list(streams)
        self.publisher = publisher
        self.cursors = cursors
        self.poll_interval = poll_interval
        self.retry = retry or RetryPolicy(max_attempts=1_000_000, max_delay=60.0)
        self._failures: dict[str, int] = {}

    async def poll_once(self, stream: Stream) -> bool:
        """Publish one batch of ``stream``; True when it has more ready."""
        batch = await stream.read(self.cursors.get(stream.cursor_key))
        metrics.SOURCE_LAST_POLL.labels(stream.system, stream.name).set_to_current_time()
        metrics.CHANGES_READ.labels(stream.system, stream.name).inc(len(batch.changes))
        await self.publisher.publish_changes(batch.changes)
        for letter in batch.dead_letters:
            await self.publisher.dead_letter(letter)
        if batch.cursor is not None:
            await self.cursors.save(stream.cursor_key, batch.cursor)
        return batch.more

    async def run(self, stop: asyncio.Event) -> None:
        """Poll the polled streams every interval and read each following stream again as
        soon as it answers, until ``stop``; a FATAL error of any stream ends them all."""
        polled = [stream for stream in self.streams if not stream.follows]
        async with asyncio.TaskGroup() as group:
            if polled:
                group.create_task(self._loop(polled, stop, self.poll_interval))
            for stream in self.streams:
                if stream.follows:
                    # Its read waits for events itself: no pause between reads.
                    group.create_task(self._loop([stream], stop, 0.0))

    async def _loop(self, streams: Sequence[Stream], stop: asyncio.Event, interval: float) -> None:
        while not stop.is_set():
            busy = False
            wait = interval
            for stream in streams:
                if stop.is_set():
                    break
                try:
                    busy = await self.poll_once(stream) or busy
                    self._failures.pop(stream.cursor_key, None)
                except ConnectorError as exc:
                    if exc.kind is ErrorKind.FATAL:
                        raise
                    # A stream's read failed as a whole: it is retried from the same cursor.
                    attempt = self._failures.get(stream.cursor_key, 0) + 1
                    self._failures[stream.cursor_key] = attempt
                    metrics.SOURCE_POLL_FAILURES.labels(stream.system, stream.name).inc()
                    wait = max(wait, self.retry.delay(attempt, exc.retry_after))
                    log.warning("polling %s failed: %s", stream.cursor_key, exc.describe())
            if not busy and wait > 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wait)
            elif not busy:
                await asyncio.sleep(0)  # let the other loops run between reads
