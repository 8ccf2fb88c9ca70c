"""Sync throughput against honest baselines, measured in one run on one real broker.

Three stages drain the same backlog of canonical customer changes (~1 KB each), one after
the other, each on its own topics:

- aiokafka passthrough: a consumer → producer loop that sends each ``getmany`` batch
  without awaiting each message, gathers the acknowledgements once (acks=all, linger 5 ms)
  and commits the batch: the ceiling of any Kafka stage in Python;
- Faust passthrough: a bare Faust agent that only forwards (its own process, acks=all and
  Faust's spinner off as in q2c's worker): the floor of any Faust stage;
- q2c sync: the `q2c worker` process (golden-record merge, ownership, a command to the ERP
  per change; outputs acknowledged, state stored, offsets committed, a batch at a time).

Each figure is events/s from the moment the backlog starts being produced to the last
output, and the stage's CPU time per event (the worker process's user+system time, read
from /proc; in-process for the aiokafka loop). Worker processes are warmed up with one
event before they are measured. The load average is printed with each figure: the machine
is shared. ``--json``: the last line is one JSON object with the figures.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench._broker import on_a_broker
from bench._summary import record
from q2c.core.kafka_admin import ensure_q2c_topics, ensure_topics
from q2c.core.settings import KafkaSettings, Settings
from q2c.core.topics import Topics
from q2c.devstack.procs import free_port, kill_process, stop_process
from schemas import CODEC, fingerprint
from schemas.changes import EntityChange, SystemRole
from schemas.entities import Customer, EntityKind, ExternalIds
from schemas.envelope import Operation
from schemas.keys import key_of_change

MESSAGES = int(os.environ.get("Q2C_BENCH_MESSAGES", "5000"))
TRACE_RATIO = os.environ.get("Q2C_BENCH_TRACE_RATIO", "0.01")
"""The share of changes the worker traces, as configured at volume ("": every change)."""
REPO = Path(__file__).resolve().parents[1]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Figure:
    per_s: float
    cpu_us: float
    load: str

    def line(self, name: str, versus: Figure | None = None) -> str:
        ratio = f"  ({self.per_s / versus.per_s:4.2f} of Faust)" if versus else " " * 17
        return (
            f"   {name:<22}{self.per_s:9.0f} events/s{ratio}"
            f"{self.cpu_us:8.0f} µs CPU/event   load {self.load}"
        )


def load_average() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def crm_customer_change(
    customer: Customer, operation: Operation, at: datetime, content: dict[str, int]
) -> tuple[bytes, bytes]:
    """``customer`` as the CRM connector publishes it: keyed by its record, encoded."""
    change = EntityChange(
        entity=EntityKind.CUSTOMER,
        ids=customer.ids,
        origin_system="bottlecrm",
        origin_role=SystemRole.CRM,
        operation=operation,
        source_ts=at,
        fingerprint=fingerprint(content),
        data=customer,
    )
    return key_of_change(change).encode(), CODEC.encode(change)


def changes(n: int, start: int = 0) -> list[tuple[bytes, bytes]]:
    """``n`` new CRM customers, keyed by the record they concern (as normalized)."""
    now = datetime.now(UTC)
    out = []
    for i in range(start, start + n):
        ids = ExternalIds(crm_id=f"acc-{i}")
        customer = Customer(
            ids=ids, name=f"Customer {i}", email=f"c{i}@example.com", updated_at=now
        )
        out.append(crm_customer_change(customer, Operation.CREATE, now, {"i": i}))
    return out


async def produce(bootstrap: str, topic: str, items: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, key=k, value=v) for k, v in items]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


class Arrivals:
    """Counts the messages arriving on a topic (read from its beginning)."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.consumer = AIOKafkaConsumer(
            topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest"
        )
        self.seen = 0

    async def __aenter__(self) -> Arrivals:
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def until(self, total: int, within: float = 600.0) -> float:
        """Wait until ``total`` messages arrived in all; the time of the last one."""
        async with asyncio.timeout(within):
            while self.seen < total:
                batch = await self.consumer.getmany(timeout_ms=100, max_records=5000)
                self.seen += sum(len(records) for records in batch.values())
        return time.perf_counter()


async def aiokafka_passthrough(bootstrap: str, source: str, target: str, n: int) -> Figure:
    await produce(bootstrap, source, changes(n))
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id="bench-pass",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=True, linger_ms=5
    )
    await consumer.start()
    await producer.start()
    copied = 0
    started = cpu = 0.0
    try:
        while copied < n:
            batch = await consumer.getmany(timeout_ms=200, max_records=1000)
            if batch and not started:
                started, cpu = time.perf_counter(), time.process_time()
            pending = [
                await producer.send(target, key=record.key, value=record.value)
                for records in batch.values()
                for record in records
            ]
            if pending:
                await asyncio.gather(*pending)
                await consumer.commit()
                copied += len(pending)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        await producer.stop()
        await consumer.stop()
    return Figure(copied / elapsed, cpu / copied * 1e6, load_average())


def ready_on(port: int, path: str) -> Callable[[], bool]:
    def probe() -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=2):
                return True
        except OSError:
            return False

    return probe


def start(
    command: list[str], env: dict[str, str], ready: Callable[[], bool]
) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        command,
        cwd=REPO,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{command} exited with {proc.returncode}")
        if ready():
            return proc
        time.sleep(0.3)
    kill_process(proc)
    raise RuntimeError(f"{command} did not become ready")


async def process_stage(
    proc: subprocess.Popen[bytes], bootstrap: str, source: str, target: str, n: int
) -> Figure:
    """Warm ``proc`` up with one event, then time ``n`` through it (one output each)."""
    try:
        async with Arrivals(bootstrap, target) as arrivals:
            await produce(bootstrap, source, changes(1, start=n))
            await arrivals.until(1, within=120)
            cpu = cpu_seconds(proc.pid)
            started = time.perf_counter()
            await produce(bootstrap, source, changes(n))
            last = await arrivals.until(1 + n)
            cpu = cpu_seconds(proc.pid) - cpu
    finally:
        stop_process(proc)
    return Figure(n / (last - started), cpu / n * 1e6, load_average())


async def faust_passthrough(bootstrap: str, workdir: Path, n: int) -> Figure:
    topics = {"bench-faust-in": 1, "bench-faust-out": 1}
    await ensure_topics({"bootstrap_servers": bootstrap}, topics)
    port = free_port()
    env = {
        "BENCH_BOOTSTRAP": bootstrap,
        "BENCH_SOURCE": "bench-faust-in",
        "BENCH_TARGET": "bench-faust-out",
        "BENCH_DATA_DIR": str(workdir / "faust"),
        "BENCH_WEB_PORT": str(port),
    }
    command = [sys.executable, "-m", "bench._faust_passthrough", "worker", "-l", "warning"]
    proc = start(command, env, ready_on(port, "/"))
    return await process_stage(proc, bootstrap, "bench-faust-in", "bench-faust-out", n)


def sync_env(
    bootstrap: str, prefix: str, state: Path, port: int, partitions: int = 1
) -> dict[str, str]:
    """A `q2c worker`'s environment (``prefix``'s topics, its own state and web port)."""
    env = {
        "Q2C_KAFKA__BOOTSTRAP": bootstrap,
        "Q2C_KAFKA__TOPIC_PREFIX": prefix,
        "Q2C_KAFKA__PARTITIONS": str(partitions),
        "Q2C_WORKER__APP_ID": f"{prefix}-sync",
        "Q2C_WORKER__DATA_DIR": str(state),
        "Q2C_WORKER__WEB_PORT": str(port),
        "Q2C_TELEMETRY__LOG_LEVEL": "WARNING",
    }
    if TRACE_RATIO:
        env["Q2C_TELEMETRY__TRACE_SAMPLE_RATIO"] = TRACE_RATIO
    return env


async def q2c_sync(bootstrap: str, workdir: Path, n: int) -> Figure:
    kafka = KafkaSettings(bootstrap=bootstrap, topic_prefix="bench", partitions=1)
    await ensure_q2c_topics(Settings(kafka=kafka), ["bottlecrm", "tryton"])
    topics = Topics("bench")
    port = free_port()
    env = sync_env(bootstrap, "bench", workdir / "state", port)
    proc = start([sys.executable, "-m", "q2c", "worker"], env, ready_on(port, "/q2c/ready"))
    return await process_stage(proc, bootstrap, topics.changes, topics.commands("tryton"), n)


async def measure(bootstrap: str, workdir: Path) -> dict[str, float | str | int]:
    await ensure_topics({"bootstrap_servers": bootstrap}, {"bench-in": 1, "bench-out": 1})
    aiokafka = await aiokafka_passthrough(bootstrap, "bench-in", "bench-out", MESSAGES)
    faust = await faust_passthrough(bootstrap, workdir, MESSAGES)
    sync = await q2c_sync(bootstrap, workdir, MESSAGES)
    traced = f"{float(TRACE_RATIO):.0%} of changes" if TRACE_RATIO else "every change"
    print(f"   events {MESSAGES}; the worker traces {traced} (Q2C_BENCH_TRACE_RATIO)")
    print(aiokafka.line("aiokafka passthrough"))
    print(faust.line("Faust passthrough"))
    print(sync.line("q2c sync", versus=faust))
    record("aiokafka_per_s", aiokafka.per_s, "/s", aiokafka.load)
    record("faust_per_s", faust.per_s, "/s", faust.load)
    record("sync_per_s", sync.per_s, "/s", sync.load)
    record("sync_of_faust", sync.per_s / faust.per_s, "", f"{faust.load} / {sync.load}")
    record("sync_cpu_us_per_event", sync.cpu_us, "µs", sync.load)
    return {
        "events": MESSAGES,
        "aiokafka_per_s": round(aiokafka.per_s),
        "aiokafka_cpu_us_per_event": round(aiokafka.cpu_us),
        "faust_per_s": round(faust.per_s),
        "faust_cpu_us_per_event": round(faust.cpu_us),
        "sync_per_s": round(sync.per_s),
        "sync_cpu_us_per_event": round(sync.cpu_us),
        "sync_of_faust": round(sync.per_s / faust.per_s, 2),
        "load": sync.load,
    }


def main() -> None:
    figures = on_a_broker(measure, "pipeline")
    if "--json" in sys.argv[1:]:
        print(orjson.dumps(figures).decode())


if __name__ == "__main__":
    main()
