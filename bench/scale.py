"""Scale and size of the sync, on one real broker (figures printed, nothing asserted).

- Two workers in one consumer group (4 partitions): their combined rate over a backlog of
  ``Q2C_SCALE_EVENTS`` customer changes (5000), then the longest pause in their output
  while one of them leaves the group under a steady load (the rebalance).
- Size: one worker whose join views hold ``Q2C_SCALE_CUSTOMERS`` customers (100,000) and
  ``Q2C_SCALE_ITEMS`` items (10,000), written to the reference topics, and whose tables
  absorb ``Q2C_SCALE_ABSORB`` new customers (100,000) through the sync: the time it takes to
  read the views, to absorb the customers, and the worker's resident memory after.

The load average is printed with each figure: the machine is shared.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from bench._broker import on_a_broker
from bench._summary import record
from bench.pipeline import (
    Arrivals,
    changes,
    cpu_seconds,
    load_average,
    produce,
    ready_on,
    start,
    sync_env,
)
from q2c.core.kafka_admin import ensure_q2c_topics
from q2c.core.settings import KafkaSettings, Settings
from q2c.core.topics import Topics
from q2c.devstack.procs import free_port, stop_process
from schemas import CODEC
from schemas.entities import Customer, ExternalIds, Item, PriceBookPrice
from schemas.types import Money

EVENTS = int(os.environ.get("Q2C_SCALE_EVENTS", "5000"))
CUSTOMERS = int(os.environ.get("Q2C_SCALE_CUSTOMERS", "100000"))
ITEMS = int(os.environ.get("Q2C_SCALE_ITEMS", "10000"))
ABSORB = int(os.environ.get("Q2C_SCALE_ABSORB", "100000"))
WORKER = [sys.executable, "-m", "q2c", "worker"]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def topics_for(bootstrap: str, prefix: str, partitions: int) -> Topics:
    kafka = KafkaSettings(bootstrap=bootstrap, topic_prefix=prefix, partitions=partitions)
    await ensure_q2c_topics(Settings(kafka=kafka), ["bottlecrm", "tryton"])
    return Topics(prefix)


async def two_workers(bootstrap: str, workdir: Path) -> None:
    topics = await topics_for(bootstrap, "scale2", partitions=4)
    ports = [free_port(), free_port()]
    procs = [
        start(
            WORKER,
            sync_env(bootstrap, "scale2", workdir / f"w{i}", port, 4),
            ready_on(port, "/q2c/ready"),
        )
        for i, port in enumerate(ports)
    ]
    try:
        async with Arrivals(bootstrap, topics.commands("tryton")) as arrivals:
            # Both in the group and assigned: the first output of a warm-up per partition.
            await produce(bootstrap, topics.changes, changes(8, start=10 * EVENTS))
            await arrivals.until(8, within=180)
            cpu = [cpu_seconds(p.pid) for p in procs]
            started = time.perf_counter()
            await produce(bootstrap, topics.changes, changes(EVENTS))
            last = await arrivals.until(8 + EVENTS)
            used = sum(cpu_seconds(p.pid) - c for p, c in zip(procs, cpu, strict=True))
            rate = EVENTS / (last - started)
            record("two_workers_per_s", rate, "/s", load_average())
            print(
                f"   two workers, 4 partitions   {rate:9.0f} events/s combined"
                f"{used / EVENTS * 1e6:8.0f} µs CPU/event   load {load_average()}"
            )
            pause = await rebalance_pause(bootstrap, topics, procs[1], arrivals)
            record("rebalance_pause_s", pause, "s", load_average())
            print(
                f"   one worker leaves the group  {pause:9.2f} s longest pause in the output"
                f"                 load {load_average()}"
            )
    finally:
        for proc in procs:
            stop_process(proc)


async def rebalance_pause(
    bootstrap: str, topics: Topics, leaving: subprocess.Popen[bytes], arrivals: Arrivals
) -> float:
    """The longest gap between outputs under a steady load while ``leaving`` stops."""
    rate = 100.0
    stop = asyncio.Event()
    base = 20 * EVENTS

    async def load() -> None:
        sent = 0
        begun = time.perf_counter()
        while not stop.is_set():
            due = int((time.perf_counter() - begun) * rate) - sent
            if due:
                await produce(bootstrap, topics.changes, changes(due, start=base + sent))
                sent += due
            await asyncio.sleep(0.05)

    feeding = asyncio.ensure_future(load())
    gaps: list[float] = []
    try:
        await asyncio.sleep(3)
        previous = time.perf_counter()
        deadline = previous + 30
        left = False
        while time.perf_counter() < deadline:
            batch = await arrivals.consumer.getmany(timeout_ms=50)
            now = time.perf_counter()
            if any(batch.values()):
                gaps.append(now - previous)
                previous = now
            if not left and now > deadline - 25:
                leaving.terminate()
                left = True
        gaps.append(time.perf_counter() - previous)
    finally:
        stop.set()
        await feeding
    return max(gaps)


def reference_records(
    customers: int, items: int
) -> tuple[list[tuple[bytes, bytes]], list[tuple[bytes, bytes]]]:
    now = datetime.now(UTC)
    people = []
    for i in range(customers):
        customer = Customer(
            ids=ExternalIds(crm_id=f"ref-{i}", erp_id=str(100000 + i)),
            name=f"Reference customer {i}",
            email=f"r{i}@example.com",
            updated_at=now,
        )
        people.append((f"ref-{i}".encode(), CODEC.encode(customer)))
    goods = []
    for i in range(items):
        sku = f"SKU-{i}"
        item = Item(
            ids=ExternalIds(crm_id=f"prod-{i}", erp_id=str(i)),
            sku=sku,
            name=f"Item {i}",
            prices=(PriceBookPrice(unit_price=Money(amount=Decimal("10.00"), currency="EUR")),),
            updated_at=now,
        )
        goods.append((sku.encode(), CODEC.encode(item)))
    return people, goods


async def size(bootstrap: str, workdir: Path) -> None:
    topics = await topics_for(bootstrap, "size", partitions=1)
    people, goods = reference_records(CUSTOMERS, ITEMS)
    await produce(bootstrap, topics.reference("customers"), people)
    await produce(bootstrap, topics.reference("items"), goods)
    port = free_port()
    began = time.perf_counter()
    proc = start(
        WORKER, sync_env(bootstrap, "size", workdir / "size", port), ready_on(port, "/q2c/ready")
    )
    try:
        async with Arrivals(bootstrap, topics.commands("tryton")) as arrivals:
            # The sync starts once the views are read whole: the first output says so.
            await produce(bootstrap, topics.changes, changes(1, start=10 * ABSORB))
            await arrivals.until(1, within=600)
            views = time.perf_counter() - began
            what = f"{CUSTOMERS} customers, {ITEMS} items"
            record("views_read_s", views, "s", load_average(), f"{what}, start included")
            record("views_rss_mb", rss_mb(proc.pid), "MB", load_average(), what)
            print(
                f"   views of {CUSTOMERS} customers and {ITEMS} items read in {views:6.1f} s"
                f" (worker start included)   RSS {rss_mb(proc.pid):6.0f} MB   load {load_average()}"
            )
            started = time.perf_counter()
            await produce(bootstrap, topics.changes, changes(ABSORB))
            await arrivals.until(1 + ABSORB, within=3600)
            absorbed = time.perf_counter() - started
            record("absorb_s", absorbed, "s", load_average(), f"{ABSORB} new customers")
            record("absorbed_rss_mb", rss_mb(proc.pid), "MB", load_average(), what)
            print(
                f"   {ABSORB} new customers absorbed in {absorbed:6.1f} s"
                f" ({ABSORB / absorbed:.0f}/s)   RSS {rss_mb(proc.pid):6.0f} MB"
                f"   load {load_average()}"
            )
    finally:
        stop_process(proc)


async def measure(bootstrap: str, workdir: Path) -> None:
    await two_workers(bootstrap, workdir)
    await size(bootstrap, workdir)


def main() -> None:
    on_a_broker(measure, "scale")


if __name__ == "__main__":
    main()
