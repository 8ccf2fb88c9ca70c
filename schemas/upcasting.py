"""Upcasting: reading a message written with an older version as the current version.

An upcaster is a small pure function from the JSON object of version N of a subject to the
JSON object of version N + 1 (header fields already removed). Steps that have no upcaster
pass the object through unchanged, which is right when the change between the two versions
is compatible (the schema check makes sure of that). So replaying a topic written months ago
runs each old message through the chain up to the current version, then validates it.

Register the project's upcasters on :data:`UPCASTERS` in :mod:`schemas.upcasters`::

    @UPCASTERS.register("quote", from_version=1)
    def quote_v1_to_v2(data: JsonObject) -> JsonObject:
        return {**data, "stage": data.get("stage") or "unknown"}
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

JsonObject = dict[str, Any]
Upcaster = Callable[[JsonObject], JsonObject]


class UpcasterRegistry:
    """The upcasting steps of every subject, keyed by (subject, from_version)."""

    def __init__(self) -> None:
        self._steps: dict[tuple[str, int], Upcaster] = {}

    def register(self, subject: str, *, from_version: int) -> Callable[[Upcaster], Upcaster]:
        """Decorator: ``fn`` turns ``subject`` v``from_version`` into v``from_version + 1``."""
        if from_version < 1:
            raise ValueError("versions start at 1")

        def add(fn: Upcaster) -> Upcaster:
            key = (subject, from_version)
            if key in self._steps:
                raise ValueError(f"{subject} v{from_version} already has an upcaster")
            self._steps[key] = fn
            return fn

        return add

    def step(self, subject: str, from_version: int) -> Upcaster | None:
        return self._steps.get((subject, from_version))

    def bridges(self, subject: str, from_version: int) -> bool:
        """Whether data of ``from_version`` is transformed on its way to the next version."""
        return (subject, from_version) in self._steps

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return iter(sorted(self._steps))

    def upcast(self, subject: str, data: JsonObject, *, source: int, target: int) -> JsonObject:
        """``data`` of version ``source`` run through every step up to ``target``.

        Errors raised by a step propagate; the codec turns them into a DecodeError.
        """
        for version in range(source, target):
            fn = self._steps.get((subject, version))
            if fn is None:
                continue
            data = fn(data)
            if not isinstance(data, dict):
                raise TypeError(
                    f"the upcaster of {subject} v{version} returned {type(data).__name__}, "
                    "not a JSON object"
                )
        return data
