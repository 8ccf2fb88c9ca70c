"""What every component of the local stack is, and the files that record the stack."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from q2c.core.settings import Settings
from q2c.devstack import procs
from q2c.devstack.supervisor import write_private

Entry = dict[str, Any]
Report = Callable[[str], None]


@dataclass(frozen=True)
class StackFiles:
    state_dir: Path

    @property
    def stack_json(self) -> Path:
        return self.state_dir / "stack.json"

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"

    @property
    def programs(self) -> Path:
        """What the supervisor runs (it holds credentials)."""
        return self.state_dir / "supervisor-programs.json"

    @property
    def supervisor_state(self) -> Path:
        return self.state_dir / "supervisor.json"

    @property
    def admin_token(self) -> Path:
        """The worker's admin token; outlives `q2c dev down` so the token stays the same."""
        return self.state_dir / "admin-token"

    def load(self) -> dict[str, Entry]:
        try:
            data: dict[str, Entry] = orjson.loads(self.stack_json.read_bytes())
        except FileNotFoundError:
            return {}
        return data

    def save(self, stack: dict[str, Entry]) -> None:
        write_private(self.stack_json, stack)  # holds credentials


class Component:
    """One process of the local stack."""

    name: str = ""

    def start(self, settings: Settings, files: StackFiles, stack: dict[str, Entry]) -> Entry:
        raise NotImplementedError

    def healthy(self, entry: Entry) -> bool:
        raise NotImplementedError

    def wanted(self, settings: Settings) -> bool:
        """Whether `q2c dev up` starts it with these settings."""
        return True

    def stop(self, entry: Entry) -> None:
        if entry.get("pid"):
            procs.stop_pid(int(entry["pid"]))

    def describe(self, entry: Entry) -> Iterator[str]:
        yield from ()

    def status(self, entry: Entry, programs: dict[str, Entry]) -> tuple[bool, list[str]]:
        """Whether it is up, and what `q2c dev status` adds about its process;
        ``programs`` is what the supervisor says of the programs it runs."""
        return self.healthy(entry), [f"pid {entry['pid']}"] if entry.get("pid") else []
