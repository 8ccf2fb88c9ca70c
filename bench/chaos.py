"""Effectively once under SIGKILL, on the real peers: `python -m bench chaos`.

Starts a broker, Tryton, BottleCRM, the q2c worker and both connectors (bench.harness),
makes one item in Tryton and a handful of accounts in BottleCRM, then closes won
``Q2C_CHAOS_DEALS`` deals (200) with one line each while a killer SIGKILLs the worker at
random moments, 3 to 10 s after the previous victim was ready again, and every third time
one of the connectors too, restarting each at once. The kills go on until three quarters
of the deals have their sale, so they also land while the sink works through its backlog.
Then it waits (``Q2C_CHAOS_DEADLINE`` seconds at most) until every deal has a confirmed
Tryton sale, counts the sales per deal (by reference) and the parties per account (by
identifier), and runs `q2c reconcile`.

Prints deals, kills, sales found, duplicates and missing sales, wall time and the
reconcile output; exits 1 when a deal has no sale or more than one, a q2c process died on
its own, or reconcile finds a discrepancy. ``Q2C_CHAOS_SEED`` replays a run's kill times,
``Q2C_CHAOS_PARTITIONS`` sets the partitions per topic, ``Q2C_BENCH_KEEP=1`` keeps the logs,
``--tryton-db postgresql`` (or ``Q2C_BENCH_TRYTON_DB``) runs Tryton on PostgreSQL. It also
prints how often Tryton answered 503 (its SQLite file locked by another writer).
"""

from __future__ import annotations

import asyncio
import os
import random
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from bench.harness import PeerStack, StackFailure, scratch
from connectors.bottlecrm.models import Product

DEALS = int(os.environ.get("Q2C_CHAOS_DEALS", "200"))
ACCOUNTS = int(os.environ.get("Q2C_CHAOS_ACCOUNTS", "5"))
SEED = int(os.environ.get("Q2C_CHAOS_SEED", str(random.SystemRandom().randrange(1 << 31))))
PARTITIONS = int(os.environ.get("Q2C_CHAOS_PARTITIONS", "3"))
DEADLINE = float(os.environ.get("Q2C_CHAOS_DEADLINE", "1200"))
KEEP = os.environ.get("Q2C_BENCH_KEEP") == "1"
CONCURRENCY = 4  # deals being written to BottleCRM at once
KILL_UNTIL = 0.75  # the share of deals with a confirmed sale when the kills stop
PRICE = Decimal(100)
CONFIRMED = ("confirmed", "processing", "done")


@dataclass
class Killer:
    """SIGKILLs the worker (and every third time a connector) and starts them again."""

    stack: PeerStack
    rng: random.Random
    kills: Counter[str] = field(default_factory=Counter)
    crashes: list[str] = field(default_factory=list)
    started: float = field(default_factory=time.monotonic)

    async def run(self, stop: asyncio.Event) -> None:
        round_no = 0
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.rng.uniform(3.0, 10.0))
                return
            except TimeoutError:
                pass
            round_no += 1
            victims = ["worker"]
            if round_no % 3 == 0:
                victims.append(("bottlecrm", "tryton")[(round_no // 3) % 2])
            await self.check_alive()
            for name in victims:
                await asyncio.to_thread(self.stack.processes[name].kill)
                self.kills[name] += 1
            print(
                f"   kill {round_no:3d} at {time.monotonic() - self.started:6.1f} s: {victims}",
                flush=True,
            )
            await self.restart(victims)

    async def restart(self, names: list[str]) -> None:
        for name in names:
            self.stack.processes[name].start()
        # The next kill is timed from the moment all victims run again, so each life of
        # the worker gets some work done.
        await asyncio.gather(*(self.stack.processes[n].wait_ready() for n in names))

    async def check_alive(self) -> None:
        """A q2c process that exited without being killed crashed: noted and restarted."""
        dead = [name for name, p in self.stack.processes.items() if not p.alive]
        for name in dead:
            self.crashes.append(name)
            print(f"   !! {name} exited on its own; restarted")
        if dead:
            await self.restart(dead)


async def close_deals(stack: PeerStack, accounts: list[str], product: Product) -> list[str]:
    gate = asyncio.Semaphore(CONCURRENCY)

    async def one(n: int) -> str:
        async with gate:
            quantity = Decimal(n % 4 + 1)
            account = accounts[n % len(accounts)]
            return await stack.won_deal(account, product, quantity, PRICE, f"Chaos deal {n}")

    return list(await asyncio.gather(*(one(n) for n in range(DEALS))))


async def sales_by_deal(stack: PeerStack, deals: list[str]) -> dict[str, list[dict[str, Any]]]:
    rows = await stack.erp.search_read(
        "sale.sale", [("reference", "in", deals)], ["reference", "state", "total_amount"]
    )
    found: dict[str, list[dict[str, Any]]] = {deal: [] for deal in deals}
    for row in rows:
        found.setdefault(str(row["reference"]), []).append(row)
    return found


async def wait_for_sales(
    stack: PeerStack, deals: list[str], enough: int | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Every deal's sales, once ``enough`` deals (all) have a confirmed one or the deadline
    passed."""
    deadline = time.monotonic() + DEADLINE
    while True:
        found = await sales_by_deal(stack, deals)
        done = sum(1 for rows in found.values() if any(r["state"] in CONFIRMED for r in rows))
        if done >= (len(deals) if enough is None else enough) or time.monotonic() > deadline:
            return found
        await asyncio.sleep(2.0)


async def parties_by_account(stack: PeerStack, accounts: list[str]) -> Counter[str]:
    counts: Counter[str] = Counter({account: 0 for account in accounts})
    for account in accounts:
        counts[account] = len(
            await stack.erp.search("party.party", [("identifiers.code", "=", account)])
        )
    return counts


async def chaos(stack: PeerStack) -> bool:
    rng = random.Random(SEED)
    product = await stack.make_item("CHAOS-1", PRICE)
    accounts = [await stack.account_in_both(f"Chaos account {n}") for n in range(ACCOUNTS)]

    killer = Killer(stack, rng)
    stop = asyncio.Event()
    killing = asyncio.create_task(killer.run(stop))
    started = time.monotonic()
    try:
        deals = await close_deals(stack, accounts, product)
        closed = time.monotonic() - started
        # The kills go on while the sink works through its backlog of orders.
        await wait_for_sales(stack, deals, enough=int(len(deals) * KILL_UNTIL))
    finally:
        stop.set()
        await killing
    await killer.check_alive()

    found = await wait_for_sales(stack, deals)
    wall = time.monotonic() - started
    per_deal = Counter({deal: len(rows) for deal, rows in found.items()})
    duplicates = {deal: n for deal, n in per_deal.items() if n > 1}
    missing = [deal for deal, n in per_deal.items() if n == 0]
    unconfirmed = [
        deal
        for deal, rows in found.items()
        if rows and not all(r["state"] in CONFIRMED for r in rows)
    ]
    parties = await parties_by_account(stack, accounts)
    party_faults = {account: n for account, n in parties.items() if n != 1}
    checked = await stack.q2c("reconcile")

    print(f"   seed                      {SEED} (Q2C_CHAOS_SEED), {PARTITIONS} partitions")
    print(f"   Tryton's database         {stack.tryton_db}")
    print(f"   deals closed won          {len(deals)} in {closed:.1f} s")
    print(f"   accounts                  {len(accounts)}")
    kills = ", ".join(f"{name} {n}" for name, n in sorted(killer.kills.items()))
    print(f"   SIGKILLs                  {sum(killer.kills.values())} ({kills})")
    print(f"   crashes (not killed)      {len(killer.crashes)} {killer.crashes or ''}")
    print(f"   sales found               {sum(per_deal.values())}")
    print(f"   deals with duplicates     {len(duplicates)} {duplicates or ''}")
    print(f"   deals without a sale      {len(missing)} {missing[:10] or ''}")
    print(f"   sales not confirmed       {len(unconfirmed)} {unconfirmed[:10] or ''}")
    print(f"   accounts not one party    {len(party_faults)} {party_faults or ''}")
    print(f"   wall time                 {wall:.1f} s (first deal to last sale confirmed)")
    print(f"   Tryton 503s (retried)     {stack.tryton_busy_answers()}")
    print(f"   q2c reconcile             exit {checked.returncode}")
    for line in (checked.stdout + checked.stderr).strip().splitlines()[:40]:
        print(f"     {line}")
    ok = not (duplicates or missing or unconfirmed or party_faults or killer.crashes)
    return ok and checked.returncode == 0


async def run() -> bool:
    with scratch("q2c-chaos-", keep=KEEP) as folder:
        async with PeerStack(folder, partitions=PARTITIONS) as stack:
            try:
                return await chaos(stack)
            except StackFailure as exc:
                print(f"   FAILED: {exc}")
                return False


def main() -> None:
    if not asyncio.run(run()):
        print("   chaos: FAILED")
        sys.exit(1)
    print("   chaos: every deal has exactly one confirmed sale; reconcile is clean")


if __name__ == "__main__":
    main()
