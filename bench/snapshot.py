"""The first sync of an existing company: the Tryton source snapshots ``Q2C_BENCH_PARTIES``
(100,000) parties, the connector normalizes them, and the sync absorbs them.

Set-up (not measured): a Tryton server on a fresh copy of the pristine database, into which
the parties are written with SQL before the server starts, each with an address and an
e-mail address, their last changes spread over the past days (made one by one through
Tryton's API, 100,000 parties take about ten minutes to make). A `q2c worker` is started
and ready on fresh topics.

Then `q2c connector run tryton --no-sink` starts (the clock starts with it), and one
consumer follows what the stages produce, each figure the time of the broker's timestamp
on the record that completes it:

- snapshot: every seeded party published as a raw change;
- normalized: every one a canonical customer change;
- absorbed: every one in the sync's tables and published to the customers' join view
  (each also makes a command to create the customer in the CRM);

and the worker's resident memory once it absorbed them. The baseline, in the same run
against the same server before the connector starts, is a bare read of the first 10,000
parties with the party stream's fields through the same client. The load average is printed with
each figure: the machine is shared.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import sqlite3
import sys
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer

from bench._broker import on_a_broker
from bench._summary import record
from bench.pipeline import cpu_seconds, load_average, ready_on, start, sync_env
from bench.scale import rss_mb, topics_for
from connectors.tryton.client import TrytonClient
from connectors.tryton.streams import PartyStream
from q2c.core.settings import Settings
from q2c.core.topics import Topics
from q2c.devstack import tryton
from q2c.devstack.procs import free_port, stop_process

PARTIES = int(os.environ.get("Q2C_BENCH_PARTIES", "100000"))
BASELINE = 10000
"""Parties read bare for the baseline (the first ones)."""
PREFIX = "snapshot"
_STAMP = "%Y-%m-%d %H:%M:%S.%f"  # how trytond's SQLite backend stores a timestamp


def seed_parties(database: Path, count: int) -> list[int]:
    """Write ``count`` parties, each with an address and an e-mail address, straight into
    the SQLite database of a stopped Tryton server; their ids."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    first = now - dt.timedelta(seconds=count)
    with sqlite3.connect(database) as db:
        base = db.execute("SELECT COALESCE(MAX(id), 0) FROM party_party").fetchone()[0]
        ids = list(range(base + 1, base + count + 1))
        stamps = [(first + dt.timedelta(seconds=n)).strftime(_STAMP) for n in range(count)]
        db.executemany(
            "INSERT INTO party_party (id, active, code, code_alnum, code_digit, name,"
            " create_date, create_uid) VALUES (?, 1, ?, ?, ?, ?, ?, 1)",
            (
                (pid, f"B{pid}", f"B{pid}", pid, f"Customer {pid}", stamp)
                for pid, stamp in zip(ids, stamps, strict=True)
            ),
        )
        db.executemany(
            "INSERT INTO party_address (active, party, street_unstructured, postal_code, city,"
            " invoice, delivery, create_date, create_uid) VALUES (1, ?, ?, ?, ?, 1, 1, ?, 1)",
            (
                (pid, f"{pid} Market Street", f"{pid % 90000 + 10000}", "Springfield", stamp)
                for pid, stamp in zip(ids, stamps, strict=True)
            ),
        )
        db.executemany(
            "INSERT INTO party_contact_mechanism (active, party, type, value, value_compact,"
            " invoice, delivery, create_date, create_uid) VALUES (1, ?, 'email', ?, ?, 0, 0, ?, 1)",
            (
                (pid, f"c{pid}@example.com", f"c{pid}@example.com", stamp)
                for pid, stamp in zip(ids, stamps, strict=True)
            ),
        )
    return ids


async def bare_read(server: tryton.TrytonServer, ids: list[int]) -> float:
    """Parties/s of a bare read of ``ids`` with the fields the party stream reads, through
    the same client: what Tryton's API gives before q2c adds anything (no related records,
    nothing published)."""
    async with TrytonClient(server.settings()) as client:
        began = time.perf_counter()
        for first in range(0, len(ids), 500):
            await client.read(PartyStream.model, ids[first : first + 500], list(PartyStream.fields))
        return len(ids) / (time.perf_counter() - began)


class Completion:
    """When each stage's output held all of ``ids``: the broker timestamps of the records
    that completed them, read with one consumer from the beginning of the stages' topics."""

    def __init__(self, bootstrap: str, topics: Topics, ids: list[int]) -> None:
        wanted = [str(i) for i in ids]
        self.stages = {
            topics.raw("tryton"): ("snapshot", {f"party.party/{i}".encode() for i in wanted}),
            topics.changes: ("normalized", {f"customer:erp:{i}".encode() for i in wanted}),
            topics.reference("customers"): ("absorbed", {f"erp:{i}".encode() for i in wanted}),
        }
        self.done: dict[str, float] = {}
        self.consumer = AIOKafkaConsumer(
            *self.stages, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
        )

    async def follow(self, within: float) -> None:
        await self.consumer.start()
        try:
            async with asyncio.timeout(within):
                while len(self.done) < len(self.stages):
                    batch = await self.consumer.getmany(timeout_ms=500, max_records=10000)
                    for tp, records in batch.items():
                        stage, missing = self.stages[tp.topic]
                        for message in records:
                            if message.key in missing:
                                missing.discard(message.key)
                                if not missing:
                                    self.done[stage] = message.timestamp / 1000
        finally:
            await self.consumer.stop()

    def missing(self) -> dict[str, int]:
        return {stage: len(keys) for stage, keys in self.stages.values() if keys}


async def measure(bootstrap: str, workdir: Path) -> None:
    install = tryton.ensure_install(Settings().dev.cache_dir)
    pristine = tryton.ensure_pristine(install)
    server = tryton.TrytonServer(
        install=install, data_dir=workdir / "tryton", password=pristine.password
    )
    server.restore(pristine)
    began = time.perf_counter()
    ids = seed_parties(server.database_file, PARTIES)
    seeded = time.perf_counter() - began
    print(f"   {PARTIES} parties written to Tryton's database in {seeded:.1f} s")
    server.start()
    worker = connector = None
    try:
        baseline = await bare_read(server, ids[:BASELINE])
        print(
            f"   bare read of {min(PARTIES, BASELINE)} parties' fields, 500 at a time"
            f" {baseline:8.0f} parties/s   load {load_average()}"
        )
        record("parties_bare_read_per_s", baseline, "/s", load_average(), "Tryton's API alone")
        topics = await topics_for(bootstrap, PREFIX, partitions=1)
        port = free_port()
        worker = start(
            [sys.executable, "-m", "q2c", "worker"],
            sync_env(bootstrap, PREFIX, workdir / "worker", port),
            ready_on(port, "/q2c/ready"),
        )
        completion = Completion(bootstrap, topics, ids)
        web = free_port()
        env = {
            "Q2C_KAFKA__BOOTSTRAP": bootstrap,
            "Q2C_KAFKA__TOPIC_PREFIX": PREFIX,
            "Q2C_KAFKA__PARTITIONS": "1",
            "Q2C_CONNECTOR__WEB_PORT": str(web),
            "Q2C_TELEMETRY__LOG_LEVEL": "WARNING",
            "Q2C_TRYTON__URL": server.base_url,
            "Q2C_TRYTON__DATABASE": server.database,
            "Q2C_TRYTON__USER": server.user,
            "Q2C_TRYTON__PASSWORD": server.password.get_secret_value(),
        }
        started = time.time()
        command = [sys.executable, "-m", "q2c", "connector", "run", "tryton", "--no-sink"]
        connector = start(command, env, ready_on(web, "/q2c/ready"))
        worker_cpu = cpu_seconds(worker.pid)
        try:
            await completion.follow(within=3600)
        except TimeoutError:
            print(f"   not complete within an hour; missing: {completion.missing()}")
            return
        load = load_average()
        rss = rss_mb(worker.pid)
        cpu = cpu_seconds(worker.pid) - worker_cpu
        for stage in ("snapshot", "normalized", "absorbed"):
            seconds = completion.done[stage] - started
            record(f"parties_{stage}_s", seconds, "s", load, f"{PARTIES} parties, from the start")
            print(
                f"   {stage:<11} {PARTIES} parties in {seconds:6.1f} s"
                f" ({PARTIES / seconds:5.0f}/s)   load {load}"
            )
        record("parties_rss_mb", rss, "MB", load, f"{PARTIES} customers in the tables")
        print(
            f"   worker RSS with {PARTIES} customers absorbed {rss:6.0f} MB"
            f"   {cpu / PARTIES * 1e6:5.0f} µs CPU/party   load {load}"
        )
    finally:
        stop_process(connector)
        stop_process(worker)
        server.stop()


def main() -> None:
    on_a_broker(measure, "snapshot")


if __name__ == "__main__":
    main()
