"""What a system contributes to q2c, declared in one place: its ``spec`` module's ``SPEC``.

The registry (:mod:`connectors.registry`) lists the specs; the CLI (`q2c connector list`,
`setup`, `map`, `run`), the dev stack, the redaction of secrets, the test plugins and the
conformance suite all read them, so adding a system is writing its package, not editing
those. The base does what every system would otherwise repeat: it loads the system's
settings (:meth:`ConnectorSpec.configured`) and refuses a sink that misses a command of the
system's role (:func:`~connectors.base.sink.check_sink`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from connectors.base.mapping import Mapper
from connectors.base.runtime import ConnectorParts
from connectors.base.sink import Sink, check_sink
from q2c.core.settings import Settings, load_section
from schemas import RawChange
from schemas.changes import SystemRole

C = TypeVar("C", bound=BaseModel)

Builder = Callable[[Settings, Mapping[str, Any]], Awaitable[ConnectorParts]]
"""``build(settings, defaults)``: the running parts; ``defaults`` is what the local stack
recorded for the system (URL, credentials), under its config section and variables."""


@dataclass(frozen=True)
class SetupOptions:
    """What `q2c connector setup` was asked beyond the system's settings."""

    webhook_url: str | None = None
    """Where the system should deliver its webhooks (systems that push changes)."""
    secret_file: Path | None = None
    """Where a secret the system shows only once (a webhook's) is written, mode 0600."""
    rotate_secret: bool = False
    """Have the system mint a new such secret (needs ``secret_file``)."""


Provisioner = Callable[[C, SetupOptions], Awaitable[Sequence[str]]]
"""``provision(config, options)``: make the system ready for q2c, idempotently; the lines
say what was created, changed or checked. A refusal is a FATAL ``ConnectorError``."""


@dataclass(frozen=True)
class Reading:
    """What one document, exactly as the system delivers it, stands for: raw changes to map,
    or (for a control event such as a gap or an expired position) what the connector does."""

    changes: Sequence[RawChange] = ()
    action: str = ""


@dataclass(frozen=True)
class DocumentStream:
    """One kind of document the system delivers (a record, a page, an event, a webhook
    notification, a list of deleted ids); ``read`` is pure and raises ``ValueError`` (or a
    :class:`~connectors.base.mapping.MappingError`) with a reason for an unreadable one."""

    name: str
    description: str
    read: Callable[[Any], Reading]


@dataclass(frozen=True)
class ConnectorSpec(Generic[C]):
    name: str
    role: SystemRole
    settings_model: type[C]
    connect: Callable[[C], Awaitable[ConnectorParts]]
    """The running parts over the system's loaded settings."""
    mapper: Callable[[], Mapper]
    """A mapper with the defaults a connector has before it reads its system (for `map`)."""
    sink: type[Sink] | None = None
    """The sink's class; it must apply every command of :attr:`role`."""
    recorded: Sequence[str] = ()
    """The keys of what the local stack records for the system that are settings."""
    description: str = ""
    documents: Mapping[str, DocumentStream] = field(default_factory=dict)
    provision: Provisioner[C] | None = None
    secret_patterns: Sequence[tuple[str, str]] = ()
    """``(regex, replacement)`` pairs masking this system's secrets in logs and errors."""

    def __post_init__(self) -> None:
        if self.sink is not None:
            check_sink(self.sink, self.role)

    def configured(self, defaults: Mapping[str, Any] | None = None) -> C:
        """The system's settings: its config-file section and ``Q2C_<NAME>__*`` variables
        over the recorded ``defaults``."""
        given = defaults or {}
        recorded = {key: given[key] for key in self.recorded if given.get(key)}
        return load_section(self.settings_model, self.name, recorded)

    async def build(self, settings: Settings, defaults: Mapping[str, Any]) -> ConnectorParts:
        """The connector's running parts (a :data:`Builder`)."""
        del settings  # nothing global is needed beyond what the runtime passes around
        return await self.connect(self.configured(defaults))

    async def setup(
        self, defaults: Mapping[str, Any], options: SetupOptions | None = None
    ) -> Sequence[str]:
        """Provision the system for q2c (idempotently) with its configured settings; what
        was done, line by line."""
        return await self.set_up(self.configured(defaults), options)

    async def set_up(self, config: C, options: SetupOptions | None = None) -> Sequence[str]:
        """Provision the system reached with ``config`` (and nothing else)."""
        if self.provision is None:
            return [f"{self.name}: nothing to set up"]
        return await self.provision(config, options or SetupOptions())
