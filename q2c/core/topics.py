"""Topic names: the one place connectors and streams agree on where messages go.

Every name starts with the configured prefix (``q2c`` by default), so several q2c
installations can share a cluster.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Topics:
    prefix: str = "q2c"

    def raw(self, system: str) -> str:
        """Raw change events of one source system, keyed by ``object/record id``."""
        return f"{self.prefix}.raw.{system}"

    @property
    def changes(self) -> str:
        """Canonical entity changes from every system, keyed by ``entity/origin id``."""
        return f"{self.prefix}.changes"

    def commands(self, system: str) -> str:
        """Commands for one target system, keyed by the target entity."""
        return f"{self.prefix}.commands.{system}"

    def results(self, system: str) -> str:
        """What the sink of one system did with each command."""
        return f"{self.prefix}.results.{system}"

    @property
    def cursors(self) -> str:
        """Source cursors (compacted), keyed by ``system/stream``."""
        return f"{self.prefix}.cursors"

    @property
    def sync(self) -> str:
        """Everything the sync stage reads, re-keyed by the record it concerns (internal)."""
        return f"{self.prefix}.sync"

    @property
    def control(self) -> str:
        """Approvals and rechecks of deals, keyed by deal."""
        return f"{self.prefix}.control"

    def reference(self, kind: str) -> str:
        """Join views every worker keeps whole (compacted): ``customers``, ``items``."""
        return f"{self.prefix}.ref.{kind}"

    @property
    def dead_letter(self) -> str:
        return f"{self.prefix}.dead-letter"

    @property
    def dead_letter_resolutions(self) -> str:
        """What operators did with each dead letter (compacted), keyed by its id."""
        return f"{self.prefix}.dead-letter.resolutions"

    @property
    def audit(self) -> str:
        return f"{self.prefix}.audit"
