"""Closed won to confirmed sale: how long a deal takes to become a Tryton sale, on the peers.

One stack (bench.harness) as `q2c dev up` runs it: BottleCRM webhooks to the connector,
scans every ``Q2C_LATENCY_SCAN`` seconds (60) behind them, Tryton polled every second.
Deals are closed won one after another; each is timed from the moment BottleCRM answered
the close to the first poll (every 100 ms) that sees its sale confirmed: ten with nothing
else going on, then ``Q2C_LATENCY_DEALS`` (50) while a background load of
``Q2C_LATENCY_LOAD`` canonical changes a second goes through the same worker and partition
(by default half the maximum rate: the rate at which the worker drained a burst of them,
measured just before). The load is updates of a few customers that change
nothing after their first, so they cost the sync its whole step (decode, merge, state)
without sending the peers anything. For scale, the same run times the two calls every hop
is made of: one Tryton JSON-RPC search and one BottleCRM API read of a deal.

Where each deal's time went comes from the traces the processes export to a receiver of the
run's own (:mod:`bench.traces`; ``Q2C_LATENCY_TRACES=0`` runs without): per stage, from the
close's answer to the change leaving the webhook receiver (BottleCRM delivers its webhooks
before it answers, so that is negative here), each Kafka hop, normalize, the sync's step,
the wait for the sync's checkpoint and the command's hop, each phase of the Tryton sink up
to the bench's poll seeing the sale confirmed; with the JSON-RPC calls a sale took and the
changes (one BottleCRM read of the deal each) a deal's webhooks made. Figures only, nothing
asserted.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from aiokafka import AIOKafkaProducer

from bench._summary import record
from bench.harness import PeerStack, StackFailure, scratch
from bench.pipeline import crm_customer_change
from bench.traces import Span, TraceCollector
from connectors.bottlecrm.models import Product
from q2c.core.kafka_admin import group_lags
from q2c.core.topics import Topics
from schemas.entities import Customer, ExternalIds
from schemas.envelope import Operation

DEALS = int(os.environ.get("Q2C_LATENCY_DEALS", "50"))
LOAD = float(os.environ.get("Q2C_LATENCY_LOAD", "0"))
"""Background changes a second; 0: half the rate the worker was measured to sustain."""
BURST = 3000
LOAD_CUSTOMERS = 20
SCAN_INTERVAL = float(os.environ.get("Q2C_LATENCY_SCAN", "60"))
KEEP = os.environ.get("Q2C_BENCH_KEEP") == "1"
TRACES = os.environ.get("Q2C_LATENCY_TRACES", "1") != "0"
ROUND_TRIPS = 50
POLL = 0.1
WITHIN = 300.0  # seconds a deal may take before the run gives up on it
CONFIRMED = ("confirmed", "processing")
PRICE = Decimal(100)


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile of ``values`` (not empty)."""
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


def row(name: str, seconds: list[float]) -> str:
    ms = [s * 1000 for s in seconds]
    return (
        f"   {name:<30} p50 {percentile(ms, 50):8.1f} ms   p95 {percentile(ms, 95):8.1f} ms"
        f"   max {max(ms):8.1f} ms   (n={len(ms)})"
    )


async def timed(call: Callable[[], Awaitable[Any]], n: int) -> list[float]:
    out = []
    for _ in range(n):
        started = time.perf_counter()
        await call()
        out.append(time.perf_counter() - started)
    return out


@dataclass(frozen=True)
class Timing:
    """One deal: when BottleCRM answered its close and when its sale was seen confirmed
    (seconds since the epoch, the clock the processes' spans use), and the time between."""

    deal: str
    closed: float
    seen: float
    seconds: float


async def deal_latency(stack: PeerStack, account: str, product: Product, n: int) -> Timing:
    """A new deal, and the seconds from its close's answer to the first poll that sees its
    sale confirmed."""
    deal = await stack.won_deal(account, product, Decimal(1), PRICE, f"Latency deal {n}")
    closed = time.perf_counter()  # won_deal returns as BottleCRM answers the close
    closed_at = time.time()
    deadline = closed + WITHIN
    while time.perf_counter() < deadline:
        rows = await stack.erp.search_read("sale.sale", [("reference", "=", deal)], ["state"])
        if any(r["state"] in CONFIRMED for r in rows):
            return Timing(deal, closed_at, time.time(), time.perf_counter() - closed)
        await asyncio.sleep(POLL)
    raise StackFailure(f"deal {deal} had no confirmed sale after {WITHIN:.0f} s")


_READS = frozenset({"search", "search_read", "read"})


def _phase(call: Span) -> str:
    """The sink's phase a Tryton call belongs to: its look-ups, or the call itself."""
    verb = call.name.rsplit(".", 1)[1]
    return "look-ups" if verb in _READS else verb


def _span(spans: list[Span], name: str) -> Span | None:
    return next((s for s in spans if s.name.startswith(name)), None)


def stages(traces: TraceCollector, timing: Timing) -> tuple[dict[str, float], Counter[str]] | None:
    """Seconds per stage of the change that closed ``timing``'s deal, from its trace, and
    the Tryton calls its sale took; None when its trace is incomplete."""
    for poll in traces.named("poll bottlecrm", **{"q2c.record_id": timing.deal}):
        trace = traces.trace(poll.trace_id)
        apply = _span(trace, "apply create_sales_order")
        normalize = _span(trace, "normalize ")
        sync = _span(trace, "sync ")
        if apply is None or normalize is None or sync is None:
            continue
        calls = sorted(
            (s for s in trace if s.parent_id == apply.span_id and s.name.startswith("tryton ")),
            key=lambda s: s.start,
        )
        confirm = next((c for c in calls if c.name.endswith(".confirm")), None)
        if confirm is None:
            continue
        phase: dict[str, list[Span]] = {}
        for call in calls:
            phase.setdefault(_phase(call), []).append(call)
        # Tryton runs the sale's processing (invoice, shipments) when the confirmation has
        # committed, inside the same call: the sale is seen confirmed before that call ends.
        figures = {
            "close answered -> change sent (<0: before)": poll.start - timing.closed,
            "raw topic -> normalize": normalize.start - poll.end,
            "normalize": normalize.seconds,
            "canonical topic -> sync": sync.start - normalize.end,
            "sync step": sync.seconds,
            "sync -> sink (checkpoint, hop)": apply.start - sync.end,
            **{
                f"sink: {name}": max(c.end for c in group) - min(c.start for c in group)
                for name, group in phase.items()
                if name != "confirm"
            },
            "sink: confirm sent -> seen confirmed": timing.seen - confirm.start,
            "sink: confirm call, with processing": confirm.seconds,
            "sink: start -> seen confirmed": timing.seen - apply.start,
        }
        return figures, Counter(c.name.removeprefix("tryton ") for c in calls)
    return None


def breakdown(traces: TraceCollector, timings: list[Timing], label: str) -> None:
    """Prints p50/p95 per stage over ``timings``, and the round trips of a deal."""
    found = [f for t in timings if (f := stages(traces, t)) is not None]
    print(f"   where the time went, {label} ({len(found)} of {len(timings)} deals traced):")
    if not found:
        return
    names = list(dict.fromkeys(name for figures, _ in found for name in figures))
    for name in names:
        values = [figures[name] for figures, _ in found if name in figures]
        print(row(f"  {name}", values))
    sale_calls = [float(sum(calls.values())) for _, calls in found]
    most = max(sale_calls)
    print(
        f"     Tryton calls per sale: p50 {percentile(sale_calls, 50):.0f}, max {most:.0f}"
        f" ({', '.join(f'{m} {n}' for m, n in sorted(found[-1][1].items()))})"
    )
    reads = [len(traces.named("poll bottlecrm", **{"q2c.record_id": t.deal})) for t in timings]
    print(
        f"     BottleCRM changes published per deal (one read of the deal each): "
        f"p50 {percentile([float(r) for r in reads], 50):.0f}, max {max(reads)}"
    )


def unchanged_customer(n: int) -> tuple[bytes, bytes]:
    """The ``n``-th background change: one of a few CRM customers, same content each time."""
    ids = ExternalIds(crm_id=f"load-{n % LOAD_CUSTOMERS}")
    customer = Customer(ids=ids, name=f"Load {n % LOAD_CUSTOMERS}", updated_at=LOAD_TIME)
    return crm_customer_change(customer, Operation.UPDATE, LOAD_TIME, {"load": n})


LOAD_TIME = datetime.now(UTC)


async def background_load(bootstrap: str, topic: str, rate: float, stop: asyncio.Event) -> float:
    """Produce ``rate`` changes a second onto ``topic`` until ``stop``; the rate achieved."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    sent = 0
    started = time.perf_counter()
    try:
        while not stop.is_set():
            due = int((time.perf_counter() - started) * rate) - sent
            pending = []
            for n in range(sent, sent + due):
                key, value = unchanged_customer(n)
                pending.append(await producer.send(topic, key=key, value=value))
            await asyncio.gather(*pending)
            sent += due
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.05)
    finally:
        await producer.stop()
    return sent / (time.perf_counter() - started)


async def drained(stack: PeerStack, n: int) -> float:
    """The rate at which the worker takes in a burst of ``n`` background changes."""
    bootstrap = stack.env["Q2C_KAFKA__BOOTSTRAP"]
    changes = Topics(stack.env["Q2C_KAFKA__TOPIC_PREFIX"]).changes
    group = stack.env["Q2C_WORKER__APP_ID"]
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        started = time.perf_counter()
        sent = [
            await producer.send(changes, key=k, value=v)
            for k, v in map(unchanged_customer, range(n))
        ]
        await asyncio.gather(*sent)
    finally:
        await producer.stop()
    deadline = started + WITHIN
    while time.perf_counter() < deadline:
        lags = await group_lags({"bootstrap_servers": bootstrap}, group)
        if lags and all(topics.get(changes, 0) == 0 for topics in lags.values()):
            return n / (time.perf_counter() - started)
        await asyncio.sleep(0.2)
    raise StackFailure(f"the worker did not take in {n} changes in {WITHIN:.0f} s")


async def measure(stack: PeerStack, traces: TraceCollector | None) -> None:
    product = await stack.make_item("LAT-1", PRICE)
    account = await stack.account_in_both("Latency account")
    # A warm-up deal first: every hop fills its first-use caches (sessions, look-ups).
    known_deal = (await deal_latency(stack, account, product, 0)).deal
    alone = [await deal_latency(stack, account, product, n) for n in range(1, 11)]
    quiet = [t.seconds for t in alone]
    print(f"   BottleCRM webhooks on, scan every {SCAN_INTERVAL:g} s; Tryton polled every 1 s")
    load_alone = _load()
    print(row("closed won -> confirmed sale", quiet) + f"  alone, load {load_alone}")
    record("latency_alone_p50_ms", percentile(quiet, 50) * 1000, "ms", load_alone)
    record("latency_alone_p95_ms", percentile(quiet, 95) * 1000, "ms", load_alone)
    if traces is not None:
        await asyncio.sleep(1.0)  # the processes export their spans every 200 ms
        breakdown(traces, alone, "alone")

    # The burst's first changes also create the load's customers in Tryton; after them the
    # load only costs the sync.
    maximum = await drained(stack, BURST)
    rate = LOAD or maximum / 2
    changes = Topics(stack.env["Q2C_KAFKA__TOPIC_PREFIX"]).changes
    stop = asyncio.Event()
    bootstrap = stack.env["Q2C_KAFKA__BOOTSTRAP"]
    load = asyncio.ensure_future(background_load(bootstrap, changes, rate, stop))
    began = _load()
    try:
        loaded = [await deal_latency(stack, account, product, n) for n in range(11, DEALS + 11)]
    finally:
        stop.set()
        achieved = await load
    deals = [t.seconds for t in loaded]
    print(f"   the worker drained a burst of {BURST} changes at {maximum:.0f}/s")
    load_under = f"{began} .. {_load()}"
    print(
        row("closed won -> confirmed sale", deals)
        + f"  under {achieved:.0f} changes/s, load {load_under}"
    )
    under = f"under {achieved:.0f} changes/s"
    record("latency_load_p50_ms", percentile(deals, 50) * 1000, "ms", load_under, under)
    record("latency_load_p95_ms", percentile(deals, 95) * 1000, "ms", load_under, under)
    tryton_rtt = await timed(
        lambda: stack.erp.search("sale.sale", [("reference", "=", "none")]), ROUND_TRIPS
    )
    crm_read = await timed(lambda: stack.crm.get_deal(known_deal), ROUND_TRIPS)
    print(row("Tryton JSON-RPC search", tryton_rtt))
    print(row("BottleCRM API read (a deal)", crm_read))
    if traces is not None:
        await asyncio.sleep(1.0)
        breakdown(traces, loaded, f"under {achieved:.0f} changes/s")


def _load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


async def run() -> None:
    async with contextlib.AsyncExitStack() as resources:
        folder = resources.enter_context(scratch("q2c-latency-", keep=KEEP))
        traces = await resources.enter_async_context(TraceCollector()) if TRACES else None
        stack = PeerStack(
            folder,
            scan_interval=SCAN_INTERVAL,
            webhooks=True,
            extra_env=traces.env() if traces is not None else None,
        )
        await measure(await resources.enter_async_context(stack), traces)


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
