"""Every ``q2c_*`` Prometheus metric, defined once for the whole process.

Connectors and streams import the metrics from here (they never import each other), and
each process serves the default registry on ``/q2c/metrics``. Labels are bounded sets:
system, stream (a source's object type), stage, error class, command, outcome, status.
Never a record id, a name or an e-mail: a label value is a time series for ever.

Two targets are watched: fewer than 2% of commands failing, and a deal closed won in the
CRM confirmed as an ERP order within 15 minutes. Freshness gauges hold Unix timestamps
(seconds); their age is ``time() - gauge`` in PromQL, so nothing updates them on scrape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime

from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric

# Seconds, from a second to two hours: the 15-minute target sits in the middle.
FLOW_BUCKETS = (1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0, 7200.0)
# Seconds of one API call: from 5 ms to the 30 s client timeout.
API_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# -- sources and normalize (connectors) -------------------------------------------------
CHANGES_READ = Counter(
    "q2c_changes_read_total",
    "Changes a source stream read from its system (before publishing).",
    ["system", "stream"],
)
CHANGES_PUBLISHED = Counter(
    "q2c_changes_published_total",
    "Raw changes published to the system's raw topic and acknowledged by the broker.",
    ["system", "stream"],
)
SOURCE_NEWEST_CHANGE = Gauge(
    "q2c_source_newest_change_timestamp_seconds",
    "Source timestamp of the newest change published per stream (age: time() - this).",
    ["system", "stream"],
)
SOURCE_LAST_POLL = Gauge(
    "q2c_source_last_poll_timestamp_seconds",
    "When a source stream last read its system successfully (a quiet system still polls).",
    ["system", "stream"],
)
SOURCE_POLL_FAILURES = Counter(
    "q2c_source_poll_failures_total",
    "Polls of a source stream that failed as a whole and are retried from the same cursor.",
    ["system", "stream"],
)
CHANGES_NORMALIZED = Counter(
    "q2c_changes_normalized_total",
    "Raw changes mapped to canonical entity changes and published.",
    ["system"],
)

# -- dead letters (connectors and workers) ------------------------------------------------
DEAD_LETTERS = Counter(
    "q2c_dead_letters_total",
    "Messages sent to the dead-letter topic, by the stage that gave up and the error class.",
    ["stage", "error_class"],
)

# -- commands (workers send, sinks apply) ---------------------------------------------------
COMMANDS_SENT = Counter(
    "q2c_commands_sent_total",
    "Commands the worker sent to a target system's command topic (acknowledged).",
    ["system", "command"],
)
COMMAND_RESULTS = Counter(
    "q2c_command_results_total",
    "Commands a sink finished, by outcome (created, updated, unchanged, failed, ...).",
    ["system", "command", "outcome"],
)
COMMAND_RETRIES = Counter(
    "q2c_command_retries_total",
    "Retriable failures of a command in a sink, each followed by a backoff and a retry.",
    ["system", "command"],
)
CHANGE_TO_APPLIED = Histogram(
    "q2c_change_to_applied_seconds",
    "From the source change that caused a command to the sink having applied it.",
    ["system", "command"],
    buckets=FLOW_BUCKETS,
)

# -- the peers' APIs (connectors) ---------------------------------------------------------
API_REQUEST_DURATION = Histogram(
    "q2c_api_request_duration_seconds",
    "One HTTP call to a system's API (each attempt), from sending to the whole reply.",
    ["system"],
    buckets=API_BUCKETS,
)
API_ERRORS = Counter(
    "q2c_api_errors_total",
    "Failed API calls by error kind (retriable, skippable, fatal) and cause.",
    ["system", "kind", "cause"],
)
API_RETRIES = Counter(
    "q2c_api_retries_total",
    "API calls retried after a retriable failure.",
    ["system"],
)
API_RETRY_AFTER = Counter(
    "q2c_api_retry_after_total",
    "Failed API calls whose reply asked to wait (Retry-After), pausing the system's calls.",
    ["system"],
)
RATE_LIMIT_WAITS = Counter(
    "q2c_rate_limit_waits_total",
    "API calls that waited for the system's rate limiter.",
    ["system"],
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "q2c_rate_limit_wait_seconds_total",
    "Seconds API calls spent waiting for the system's rate limiter.",
    ["system"],
)

# -- the sync (workers) ---------------------------------------------------------------------
DEAL_WON_TO_ORDER = Histogram(
    "q2c_deal_won_to_order_seconds",
    "From a deal's closed-won change in the CRM to its sales order confirmed in the ERP.",
    buckets=FLOW_BUCKETS,
)
DEALS = Gauge(
    "q2c_deals",
    "Won deals by sync status in this worker's partitions of the orders table "
    "(sum over workers for the whole).",
    ["status"],
)
# -- reconciliation (workers, on Q2C_WORKER__RECONCILE_INTERVAL) ------------------------------
RECONCILE_DISCREPANCIES = Gauge(
    "q2c_reconcile_discrepancies",
    "Differences between CRM and ERP q2c does not explain, by kind, at the last reconcile.",
    ["kind"],
)
RECONCILE_EXPLAINED = Gauge(
    "q2c_reconcile_explained",
    "Won deals without an ERP sale for a reason q2c gave (rejected, held, waiting), at the "
    "last reconcile.",
    ["section"],
)
RECONCILE_LAST_RUN = Gauge(
    "q2c_reconcile_last_run_timestamp_seconds",
    "When the last reconcile that read both systems finished (age: time() - this).",
)
RECONCILE_FAILURES = Counter(
    "q2c_reconcile_failures_total",
    "Scheduled reconciles that could not read a system; the next one runs on time.",
)
CONNECTOR_RUNNING = Gauge(
    "q2c_connector_running",
    "1 while the connector's parts (source, normalize, sink) are running.",
    ["system"],
)


class WorkerReadiness:
    """``q2c_worker_ready``: 1 while the worker has recovered its tables and is not
    rebalancing. Exported only by a process that is a worker (one that set ``probe``): a
    plain gauge would show connectors as workers never ready."""

    name = "q2c_worker_ready"
    documentation = "1 while the worker has recovered its tables and is not rebalancing."

    def __init__(self) -> None:
        self.probe: Callable[[], bool] | None = None

    def describe(self) -> list[Metric]:
        return [GaugeMetricFamily(self.name, self.documentation)]

    def collect(self) -> Iterator[Metric]:
        if self.probe is not None:
            yield GaugeMetricFamily(self.name, self.documentation, value=float(self.probe()))


WORKER_READY = WorkerReadiness()
REGISTRY.register(WORKER_READY)


def seconds_between(start: datetime | None, end: datetime) -> float | None:
    """Seconds from ``start`` to ``end``; None without a start. Clocks of two machines can
    disagree by a little: a negative span counts as 0 rather than disappearing."""
    if start is None:
        return None
    return max(0.0, (end - start).total_seconds())
