"""Every kind of command is one some role's sinks must apply, so none goes unchecked."""

from __future__ import annotations

from schemas import Command
from schemas.changes import SystemRole
from tests.conformance.adapter import required_commands


def _kinds(base: type[Command]) -> set[str]:
    found: set[str] = set()
    for sub in base.__subclasses__():
        found.add(sub.schema_subject)
        found |= _kinds(sub)
    return found


def test_every_command_kind_is_required_of_a_role() -> None:
    required = {subject for role in SystemRole for subject in required_commands(role)}
    assert _kinds(Command) <= required
