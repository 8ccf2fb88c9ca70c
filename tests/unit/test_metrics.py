"""What the metrics compute rather than count: latencies from the timestamps messages carry,
the source time a command inherits, and the bounded cause of an API error."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TypeVar

from prometheus_client import CollectorRegistry, generate_latest

from connectors.base.errors import ConnectorError, ErrorKind
from connectors.base.http import _cause
from q2c.core.metrics import WorkerReadiness, seconds_between
from schemas import CreateSalesOrder, UpsertItem
from schemas.changes import SystemRole
from streams.agents import _with_source_time
from streams.handlers.common import Emit
from tests.schemas.samples import all_samples

NOON = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
C = TypeVar("C")


def sample(kind: type[C]) -> C:
    return next(m for m in all_samples() if isinstance(m, kind))


def test_a_latency_is_the_seconds_from_source_to_end() -> None:
    assert seconds_between(NOON, NOON + timedelta(minutes=3, seconds=2)) == 182.0
    assert seconds_between(None, NOON) is None


def test_a_source_clock_ahead_of_the_sinks_counts_as_no_latency() -> None:
    assert seconds_between(NOON + timedelta(seconds=2), NOON) == 0.0


def test_a_command_inherits_the_source_time_of_the_message_that_caused_it() -> None:
    item = sample(UpsertItem).model_copy(update={"source_ts": None})
    stamped = _with_source_time(Emit(SystemRole.ERP, "item:1", item), NOON)
    assert stamped.command.source_ts == NOON
    assert stamped.command.model_copy(update={"source_ts": None}) == item
    assert _with_source_time(Emit(SystemRole.ERP, "item:1", item), None).command.source_ts is None


def test_a_command_that_has_a_source_time_keeps_it() -> None:
    earlier = NOON - timedelta(hours=1)
    item = sample(UpsertItem).model_copy(update={"source_ts": earlier})
    assert _with_source_time(Emit(SystemRole.ERP, "k", item), NOON).command.source_ts == earlier


def test_a_sales_order_dates_from_its_won_quote_also_when_a_recheck_released_it() -> None:
    order = sample(CreateSalesOrder).model_copy(update={"source_ts": None})
    for handled in (None, NOON):  # a recheck carries no source time; a result its own
        stamped = _with_source_time(Emit(SystemRole.ERP, "deal:42", order), handled)
        assert stamped.command.source_ts == order.quote.updated_at


def test_an_api_error_cause_is_a_bounded_label() -> None:
    def error(status: int | None, reason: str = "x") -> ConnectorError:
        return ConnectorError(ErrorKind.RETRIABLE, reason, status=status)

    assert _cause(error(503)) == "5xx"
    assert _cause(error(429)) == "4xx"
    assert _cause(error(None, "the request timed out")) == "timeout"
    assert _cause(error(None, "connection failed: ClientConnectorError")) == "connection"


def test_only_a_worker_exports_its_readiness() -> None:
    registry = CollectorRegistry()
    readiness = WorkerReadiness()
    registry.register(readiness)
    assert b"q2c_worker_ready" not in generate_latest(registry)  # a connector's process
    ready = False
    readiness.probe = lambda: ready
    assert b"q2c_worker_ready 0.0" in generate_latest(registry)
    ready = True
    assert b"q2c_worker_ready 1.0" in generate_latest(registry)
