"""What the conformance suite needs to know about a system that its spec does not say: how
to reach the test peer, how to make a record there, a valid command of each kind, the
error shapes its documentation lists, and secret values to look for.

Each system has one adapter, ``tests/conformance/adapters/<system>.py`` with an
``ADAPTER``; the suite finds it by the system's name.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel

import connectors.base.sink as sinks
from connectors.base.errors import ErrorKind
from connectors.base.runtime import ConnectorParts
from schemas import (
    Command,
)
from schemas.changes import SystemRole


def required_commands(role: SystemRole) -> list[str]:
    """The subjects of the commands a sink of ``role`` must apply."""
    return sorted(command.schema_subject for command in sinks.REQUIRED_COMMANDS[role])


@dataclass(frozen=True)
class ErrorCase:
    """One failure as the system's documentation shows it, and the kind it must be."""

    what: str
    status: int
    body: bytes
    kind: ErrorKind


class Live(ABC):
    """One test's access to a clean peer of the system."""

    @property
    @abstractmethod
    def defaults(self) -> Mapping[str, Any]:
        """What ``spec.build(settings, defaults)`` needs to reach the peer."""

    @abstractmethod
    def wrong_credentials(self) -> tuple[Mapping[str, Any], str]:
        """``defaults`` with a credential the peer refuses, and that credential."""

    @abstractmethod
    async def make_record(self, name: str) -> tuple[str, str]:
        """Make a record a source stream publishes: its (object, record id)."""

    @abstractmethod
    async def document(self, obj: str, record_id: str) -> tuple[str, Any]:
        """The record as the system delivers it to the source: its document stream and the
        document (JSON as it came over the wire)."""

    @abstractmethod
    async def command(self, subject: str, parts: ConnectorParts) -> Command:
        """A command of kind ``subject`` the peer can apply; what it refers to is made
        first (through the peer or ``parts.sink``)."""

    @abstractmethod
    async def close(self) -> None:
        """Release what the adapter opened."""


class Adapter(ABC):
    system: ClassVar[str]
    peer_fixture: ClassVar[str]
    """The fixture of tests/plugins that gives this test a clean peer."""

    @abstractmethod
    def settings_with_secrets(self) -> BaseModel:
        """The system's settings with every secret set to a recognisable value."""

    @abstractmethod
    def error_cases(self) -> Sequence[ErrorCase]:
        """The documented error answers of the system."""

    @abstractmethod
    def classify(self, status: int, body: bytes) -> ErrorKind:
        """The kind the connector gives an answer with ``status`` and ``body``, through
        the system's own error code."""

    @abstractmethod
    async def live(self, peer: Any) -> Live:
        """Access to ``peer`` (the value of :attr:`peer_fixture`)."""


def adapter_for(system: str) -> Adapter:
    name = f"tests.conformance.adapters.{system}"
    try:
        module = importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        raise LookupError(
            f"{system} has no conformance adapter: write tests/conformance/adapters/{system}.py"
        ) from exc
    adapter = module.ADAPTER
    if not isinstance(adapter, Adapter) or adapter.system != system:
        raise TypeError(f"tests/conformance/adapters/{system}.py has no ADAPTER for {system}")
    return adapter
