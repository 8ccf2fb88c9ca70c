"""Closed won to confirmed sale: how long a deal takes to become a Tryton sale, on the peers.

One stack (bench.harness) as `q2c dev up` runs it: BottleCRM webhooks to the connector,
scans every ``Q2C_LATENCY_SCAN`` seconds (60) behind them, Tryton polled every second.
``Q2C_LATENCY_DEALS`` deals (50) are closed won one after another; each is timed from the
moment BottleCRM answered the close to the first poll (every 100 ms) that sees its sale
confirmed. For scale, the same run times the two calls every hop is made of: one Tryton
JSON-RPC search and one BottleCRM API read of a deal. Figures only, nothing asserted.
"""

from __future__ import annotations

import asyncio
import math
import os
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

from bench.harness import PeerStack, StackFailure, scratch
from connectors.bottlecrm.models import Product

DEALS = int(os.environ.get("Q2C_LATENCY_DEALS", "50"))
SCAN_INTERVAL = float(os.environ.get("Q2C_LATENCY_SCAN", "60"))
KEEP = os.environ.get("Q2C_BENCH_KEEP") == "1"
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


async def deal_latency(
    stack: PeerStack, account: str, product: Product, n: int
) -> tuple[str, float]:
    """A new deal, and the seconds from its close's answer to the first poll that sees its
    sale confirmed."""
    deal = await stack.won_deal(account, product, Decimal(1), PRICE, f"Latency deal {n}")
    closed = time.perf_counter()  # won_deal returns as BottleCRM answers the close
    deadline = closed + WITHIN
    while time.perf_counter() < deadline:
        rows = await stack.erp.search_read("sale.sale", [("reference", "=", deal)], ["state"])
        if any(r["state"] in CONFIRMED for r in rows):
            return deal, time.perf_counter() - closed
        await asyncio.sleep(POLL)
    raise StackFailure(f"deal {deal} had no confirmed sale after {WITHIN:.0f} s")


async def measure(stack: PeerStack) -> None:
    product = await stack.make_item("LAT-1", PRICE)
    account = await stack.account_in_both("Latency account")
    # A warm-up deal first: every hop fills its first-use caches (sessions, look-ups).
    known_deal, _ = await deal_latency(stack, account, product, 0)
    deals = [(await deal_latency(stack, account, product, n))[1] for n in range(1, DEALS + 1)]
    tryton_rtt = await timed(
        lambda: stack.erp.search("sale.sale", [("reference", "=", "none")]), ROUND_TRIPS
    )
    crm_read = await timed(lambda: stack.crm.get_deal(known_deal), ROUND_TRIPS)

    print(f"   BottleCRM webhooks on, scan every {SCAN_INTERVAL:g} s; Tryton polled every 1 s")
    print(row("closed won -> confirmed sale", deals))
    print(row("Tryton JSON-RPC search", tryton_rtt))
    print(row("BottleCRM API read (a deal)", crm_read))
    hops = percentile(deals, 50) / percentile(tryton_rtt, 50)
    print(f"   a deal takes {hops:.0f} Tryton round trips (p50 over p50)")


async def run() -> None:
    with scratch("q2c-latency-", keep=KEEP) as folder:
        async with PeerStack(folder, scan_interval=SCAN_INTERVAL, webhooks=True) as stack:
            await measure(stack)


def main() -> None:
    asyncio.run(run())


if __name__ == "__main__":
    main()
