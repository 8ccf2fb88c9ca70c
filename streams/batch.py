"""A checkpointed batch of the sync: what a run of events read, produced and will store.

The sync handles events one at a time but checkpoints them a batch at a time, in this
order: every output of the batch acknowledged by the broker → the new table state stored
→ the events acknowledged (their offsets may then be committed). A worker killed anywhere
in between handles the whole batch again from the state stored before it, and sends its
outputs again with the same idempotency keys (the sinks absorb repeats); stored before
its outputs were acknowledged, the new state would make the repeat look already handled.

While the batch runs, the state its events changed lives in an :class:`Overlay` in front
of the tables, so a later event of the batch sees what an earlier one decided before
anything is stored. The overlay holds the models themselves (read once, decoded once):
the handlers never change a state in place (they return copies), so a state kept here is
never altered behind the overlay's back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

E = TypeVar("E")
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class StateWrite(Generic[E]):
    """The state to store at ``key`` of ``table`` (None: delete the key), written on behalf
    of ``event`` (a table write belongs to the partition of the event that caused it)."""

    table: str
    key: str
    state: BaseModel | None
    event: E


class Overlay(Generic[E]):
    """Table state as the batch sees it: the last state an event of the batch stored for a
    key, else what the table holds."""

    def __init__(self) -> None:
        self._writes: dict[tuple[str, str], StateWrite[E]] = {}
        self._stored: dict[tuple[str, str], BaseModel] = {}
        """The states read from the tables, as read."""

    def get(self, table: str, key: str, model: type[M], load: Callable[[], M | None]) -> M | None:
        write = self._writes.get((table, key))
        if write is None:
            state = load()
            if state is not None:
                self._stored[(table, key)] = state
            return state
        if write.state is None:
            return None  # deleted by an earlier event of the batch
        if not isinstance(write.state, model):
            raise TypeError(f"{table}[{key}] holds a {type(write.state).__name__}, not {model}")
        return write.state

    def put(self, table: str, key: str, state: BaseModel | None, event: E) -> None:
        """Store ``state`` at ``key`` with the batch; nothing when it is the very state the
        table holds (a handler returns the state it was given when nothing changed: a
        duplicate, an echo), so a repeat costs no table write and no changelog message."""
        if (
            state is not None
            and (table, key) not in self._writes
            and self._stored.get((table, key)) is state
        ):
            return
        self._writes[(table, key)] = StateWrite(table, key, state, event)

    def writes(self) -> Iterator[StateWrite[E]]:
        """The state to store: one write per key, the last one made."""
        return iter(self._writes.values())

    def __len__(self) -> int:
        return len(self._writes)


@dataclass
class Batch(Generic[E]):
    """Events taken together, bounded by a count and an age (seconds since the first)."""

    max_events: int
    max_age: float
    started: float = 0.0
    events: list[E] = field(default_factory=list)
    acks: list[Any] = field(default_factory=list)
    """Futures of the broker's acknowledgements of what the batch sent."""
    overlay: Overlay[E] = field(default_factory=Overlay)
    latencies: list[float] = field(default_factory=list)
    """Won-to-order latencies, observed once the state recording the order is stored (a
    repeat of the batch then finds the deal ordered and does not count it twice)."""

    def add(self, event: E, now: float) -> None:
        if not self.events:
            self.started = now
        self.events.append(event)

    def __len__(self) -> int:
        return len(self.events)

    def full(self) -> bool:
        return len(self.events) >= self.max_events

    def remaining(self, now: float) -> float | None:
        """Seconds until the batch is due (None: it is empty, nothing is due)."""
        if not self.events:
            return None
        return max(0.0, self.max_age - (now - self.started))

    def clear(self) -> None:
        self.events.clear()
        self.acks.clear()
        self.overlay = Overlay()
        self.latencies.clear()
