"""The base class of every message q2c puts on a topic.

A :class:`Contract` names its subject (``"quote"``), its version (an integer, bumped when the
model changes and frozen with ``q2c schemas freeze``) and the compatibility rule its versions
must follow. The codec writes ``schema`` and ``schema_version`` at the top of every message
from these class attributes, so every message on the wire says what it is.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

SCHEMA_KEY = "schema"
VERSION_KEY = "schema_version"


class Compatibility(StrEnum):
    """How the versions of one subject must relate, as in Confluent Schema Registry.

    BACKWARD: a reader of the new version reads data written with the previous one.
    FORWARD: a reader of the previous version reads data written with the new one.
    FULL: both. The *_TRANSITIVE modes apply the rule to every earlier version, not only
    the previous one. NONE: no check (a breaking change bridged by an upcaster).
    """

    NONE = "NONE"
    BACKWARD = "BACKWARD"
    BACKWARD_TRANSITIVE = "BACKWARD_TRANSITIVE"
    FORWARD = "FORWARD"
    FORWARD_TRANSITIVE = "FORWARD_TRANSITIVE"
    FULL = "FULL"
    FULL_TRANSITIVE = "FULL_TRANSITIVE"

    @property
    def backward(self) -> bool:
        return self in _BACKWARD

    @property
    def forward(self) -> bool:
        return self in _FORWARD

    @property
    def transitive(self) -> bool:
        return self.value.endswith("_TRANSITIVE")


_BACKWARD = frozenset(
    {
        Compatibility.BACKWARD,
        Compatibility.BACKWARD_TRANSITIVE,
        Compatibility.FULL,
        Compatibility.FULL_TRANSITIVE,
    }
)
_FORWARD = frozenset(
    {
        Compatibility.FORWARD,
        Compatibility.FORWARD_TRANSITIVE,
        Compatibility.FULL,
        Compatibility.FULL_TRANSITIVE,
    }
)


class Contract(BaseModel):
    """A versioned message type. Subclasses set ``schema_subject`` and ``schema_version``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_subject: ClassVar[str]
    schema_version: ClassVar[int]
    compatibility: ClassVar[Compatibility] = Compatibility.BACKWARD
