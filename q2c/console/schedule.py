"""The worker's reconcile on an interval (``Q2C_WORKER__RECONCILE_INTERVAL``): the same run
as the console's "Run now", kept as the console's last report, and its counts exported as
the ``q2c_reconcile_*`` gauges so drift is alerted on rather than found by chance.

Every worker runs it (each serves a console); the gauges are alike across workers, and the
alert takes their maximum."""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Set
from datetime import datetime

from q2c.console.service import Report
from q2c.core.metrics import (
    RECONCILE_DISCREPANCIES,
    RECONCILE_EXPLAINED,
    RECONCILE_FAILURES,
    RECONCILE_LAST_RUN,
)
from streams.rules.reconcile import Reconciliation, Section

log = logging.getLogger(__name__)


def export_reconciliation(
    result: Reconciliation, at: datetime, known_kinds: Set[str]
) -> frozenset[str]:
    """Set the gauges from ``result``, finished ``at``. A discrepancy kind exported before
    (``known_kinds``) and absent now goes to 0: a gauge left at its last value would keep an
    alert firing after the drift was repaired. Returns every kind exported so far."""
    kinds = Counter(d.kind for d in result.discrepancies)
    exported = frozenset(known_kinds | kinds.keys())
    for kind in exported:
        RECONCILE_DISCREPANCIES.labels(kind=kind).set(kinds[kind])
    sections = Counter(e.section for e in result.explained)
    for section in Section:
        RECONCILE_EXPLAINED.labels(section=section.value).set(sections[section])
    RECONCILE_LAST_RUN.set(at.timestamp())
    return exported


class ReconcileSchedule:
    """One worker's scheduled reconciles; ``run`` reads both systems and compares them."""

    def __init__(self, run: Callable[[], Awaitable[Report]]) -> None:
        self.run = run
        self.kinds: frozenset[str] = frozenset()

    async def once(self) -> bool:
        """One reconcile; False when a system could not be read. Never raises for that: the
        worker's streams go on, and so does the schedule."""
        try:
            report = await self.run()
        except Exception:
            RECONCILE_FAILURES.inc()
            log.exception("scheduled reconcile failed; the next one runs on time")
            return False
        self.kinds = export_reconciliation(report.result, report.at, self.kinds)
        return True
