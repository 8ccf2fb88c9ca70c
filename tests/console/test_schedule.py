"""The worker's scheduled reconcile: the gauges a reconciliation sets (a kind no longer found
goes to 0), a run that cannot read a system counted and survived, and a real worker that
keeps serving while its peers cannot be reached."""

from __future__ import annotations

import asyncio
import time
import urllib.request
from datetime import UTC, datetime

import pytest
from prometheus_client import REGISTRY

from q2c.console.schedule import ReconcileSchedule, export_reconciliation
from q2c.console.service import Report
from streams.rules.reconcile import Discrepancy, Explained, Reconciliation, Section, Snapshot
from tests.metrics_text import parse_samples
from tests.plugins.worker import WorkerProcess

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def gauge(name: str, **labels: str) -> float | None:
    return REGISTRY.get_sample_value(name, labels)


def failures() -> float:
    return REGISTRY.get_sample_value("q2c_reconcile_failures_total") or 0.0


def reconciliation(*kinds: str, sections: tuple[Section, ...] = ()) -> Reconciliation:
    return Reconciliation(
        [Discrepancy(kind, f"rec-{n}", "differs") for n, kind in enumerate(kinds)],
        [Explained(section, f"deal-{n}", "why") for n, section in enumerate(sections)],
    )


def report(result: Reconciliation) -> Report:
    empty = Snapshot(customers=[], items=[], quotes=[], orders=[])
    return Report(AT, ("bottlecrm", empty), ("tryton", empty), result)


def test_the_gauges_count_discrepancies_by_kind_and_explained_deals_by_section() -> None:
    found = reconciliation(
        "missing-order", "missing-order", "name-differs", sections=(Section.HELD, Section.HELD)
    )
    kinds = export_reconciliation(found, AT, frozenset())
    assert kinds == {"missing-order", "name-differs"}
    assert gauge("q2c_reconcile_discrepancies", kind="missing-order") == 2
    assert gauge("q2c_reconcile_discrepancies", kind="name-differs") == 1
    assert gauge("q2c_reconcile_explained", section="held") == 2
    assert gauge("q2c_reconcile_explained", section="rejected") == 0
    assert gauge("q2c_reconcile_explained", section="waiting") == 0
    assert gauge("q2c_reconcile_last_run_timestamp_seconds") == AT.timestamp()

    repaired = export_reconciliation(reconciliation("missing-product"), AT, kinds)
    assert repaired == {"missing-order", "name-differs", "missing-product"}
    assert gauge("q2c_reconcile_discrepancies", kind="missing-order") == 0
    assert gauge("q2c_reconcile_discrepancies", kind="name-differs") == 0
    assert gauge("q2c_reconcile_discrepancies", kind="missing-product") == 1
    assert gauge("q2c_reconcile_explained", section="held") == 0


async def test_a_run_that_cannot_read_a_system_is_counted_and_the_next_one_still_runs() -> None:
    outcomes: list[Reconciliation | OSError] = [
        OSError("Cannot connect to host crm.example:443"),
        reconciliation("duplicate-order"),
    ]

    async def run() -> Report:
        outcome = outcomes.pop(0)
        if isinstance(outcome, OSError):
            raise outcome
        return report(outcome)

    schedule = ReconcileSchedule(run)
    before = failures()
    assert await schedule.once() is False
    assert failures() == before + 1
    assert await schedule.once() is True
    assert failures() == before + 1
    assert schedule.kinds == {"duplicate-order"}
    assert gauge("q2c_reconcile_discrepancies", kind="duplicate-order") == 1


def _scrape(worker: WorkerProcess) -> str:
    with urllib.request.urlopen(worker.url + "/q2c/metrics", timeout=5) as reply:  # noqa: S310
        text: str = reply.read().decode()
        return text


@pytest.mark.integration
async def test_a_worker_whose_peers_cannot_be_reached_counts_failed_reconciles_and_serves_on(
    sync_worker: WorkerProcess,
) -> None:
    sync_worker.env |= {
        "Q2C_WORKER__RECONCILE_INTERVAL": "0.5",
        # Nothing listens on port 9 of the loopback: each read of a system is refused, and
        # with one attempt fails at once.
        "Q2C_BOTTLECRM__URL": "http://127.0.0.1:9",
        "Q2C_BOTTLECRM__TOKEN": "bcrm_pat_unused",
        "Q2C_BOTTLECRM__MAX_ATTEMPTS": "1",
        "Q2C_TRYTON__URL": "http://127.0.0.1:9",
        "Q2C_TRYTON__DATABASE": "q2c",
        "Q2C_TRYTON__PASSWORD": "unused",
        "Q2C_TRYTON__MAX_ATTEMPTS": "1",
    }
    await asyncio.to_thread(sync_worker.start)
    deadline = time.monotonic() + 120
    failed = 0.0
    while time.monotonic() < deadline:
        samples = parse_samples(await asyncio.to_thread(_scrape, sync_worker))
        failed = samples.total("q2c_reconcile_failures_total")
        if failed >= 2:
            break
        await asyncio.sleep(0.3)
    assert failed >= 2, "the worker did not go on reconciling after a failed run"
    assert sync_worker.proc is not None
    assert sync_worker.proc.poll() is None
    await asyncio.to_thread(sync_worker.wait_ready)
    log = sync_worker.log.read_text()
    assert "scheduled reconcile failed" in log
    assert "ValidationError" not in log  # the peers' settings are complete: a refused read
