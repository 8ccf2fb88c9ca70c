"""What a system contributes to q2c, declared in one place: its ``spec`` module's ``SPEC``.

The registry (:mod:`connectors.registry`) lists the specs; the CLI (`q2c connector list`,
`setup`, `map`, `run`), the dev stack, the redaction of secrets and the conformance suite all
read them, so adding a system is writing its package, not editing those.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from connectors.base.mapping import Mapper
from connectors.base.runtime import ConnectorParts
from q2c.core.settings import Settings
from schemas import RawChange
from schemas.changes import SystemRole

Builder = Callable[[Settings, Mapping[str, Any]], Awaitable[ConnectorParts]]
"""``build(settings, defaults)``: the running parts; ``defaults`` is what the local stack
recorded for the system (URL, credentials), under its config section and variables."""

Provisioner = Callable[[Settings, Mapping[str, Any]], Awaitable[Sequence[str]]]
"""``provision(settings, defaults)``: make the system ready for q2c, idempotently; the lines
say what was created, changed or checked."""


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
class ConnectorSpec:
    name: str
    role: SystemRole
    settings_model: type[BaseModel]
    build: Builder
    mapper: Callable[[], Mapper]
    """A mapper with the defaults a connector has before it reads its system (for `map`)."""
    documents: Mapping[str, DocumentStream] = field(default_factory=dict)
    provision: Provisioner | None = None
    secret_patterns: Sequence[tuple[str, str]] = ()
    """``(regex, replacement)`` pairs masking this system's secrets in logs and errors."""
