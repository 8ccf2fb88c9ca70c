"""Sync pipeline throughput next to a raw aiokafka passthrough, on one real broker.

Both drain the same backlog of canonical customer changes (one message each, ~1 KB):

- baseline: an aiokafka consumer → producer loop copying each message to another topic
  (acks=all, offsets committed per batch): what any Kafka stage costs at least;
- q2c: the `q2c worker` process (route → re-key → sync: golden-record merge, ownership,
  a command to the ERP and a join-view update per change, every send acknowledged).

Figures are messages/s from the first to the last output message, measured in one run.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from q2c.core.kafka_admin import ensure_q2c_topics, ensure_topics
from q2c.core.settings import KafkaSettings, Settings
from q2c.core.topics import Topics
from q2c.devstack.kafka import KafkaBroker, ensure_jars
from q2c.devstack.procs import free_port, kill_process, stop_process
from schemas import CODEC, fingerprint
from schemas.changes import EntityChange, SystemRole
from schemas.entities import Customer, EntityKind, ExternalIds
from schemas.envelope import Operation

MESSAGES = int(os.environ.get("Q2C_BENCH_MESSAGES", "2000"))
REPO = Path(__file__).resolve().parents[1]


def changes(n: int) -> list[tuple[bytes, bytes]]:
    now = datetime.now(UTC)
    out = []
    for i in range(n):
        ids = ExternalIds(crm_id=f"acc-{i}")
        customer = Customer(
            ids=ids, name=f"Customer {i}", email=f"c{i}@example.com", updated_at=now
        )
        change = EntityChange(
            entity=EntityKind.CUSTOMER,
            ids=ids,
            origin_system="bottlecrm",
            origin_role=SystemRole.CRM,
            operation=Operation.CREATE,
            source_ts=now,
            fingerprint=fingerprint({"i": i}),
            data=customer,
        )
        out.append((f"customer/{i}".encode(), CODEC.encode(change)))
    return out


async def produce(bootstrap: str, topic: str, items: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, key=k, value=v) for k, v in items]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def count_until(bootstrap: str, topic: str, n: int) -> tuple[float, float]:
    """(first, last) arrival time of ``n`` messages on ``topic``."""
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest")
    await consumer.start()
    seen = 0
    first = 0.0
    try:
        async with asyncio.timeout(600):
            while seen < n:
                batch = await consumer.getmany(timeout_ms=200)
                got = sum(len(r) for r in batch.values())
                if got and not seen:
                    first = time.perf_counter()
                seen += got
    finally:
        await consumer.stop()
    return first, time.perf_counter()


async def passthrough(bootstrap: str, source: str, target: str, n: int) -> float:
    consumer = AIOKafkaConsumer(
        source,
        bootstrap_servers=bootstrap,
        group_id="bench-pass",
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await consumer.start()
    await producer.start()
    copied = 0
    started = 0.0
    try:
        while copied < n:
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                if not started:
                    started = time.perf_counter()
                for record in records:
                    delivered = await producer.send(target, key=record.key, value=record.value)
                    await delivered
                    copied += 1
            if batch:
                await consumer.commit()
    finally:
        await producer.stop()
        await consumer.stop()
    return copied / (time.perf_counter() - started)


def run_worker(bootstrap: str, prefix: str, state: Path) -> subprocess.Popen[bytes]:
    port = free_port()
    env = {
        **os.environ,
        "Q2C_KAFKA__BOOTSTRAP": bootstrap,
        "Q2C_KAFKA__TOPIC_PREFIX": prefix,
        "Q2C_KAFKA__PARTITIONS": "1",
        "Q2C_WORKER__APP_ID": f"bench-{prefix}",
        "Q2C_WORKER__DATA_DIR": str(state),
        "Q2C_WORKER__WEB_PORT": str(port),
        "Q2C_TELEMETRY__LOG_LEVEL": "WARNING",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "q2c", "worker"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/q2c/ready", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    kill_process(proc)
    raise RuntimeError("the worker did not become ready")


async def measure(bootstrap: str, workdir: Path) -> None:
    backlog = changes(MESSAGES)
    # The broker creates no topic on first use.
    await ensure_topics({"bootstrap_servers": bootstrap}, {"bench-in": 1, "bench-out": 1})
    kafka = KafkaSettings(bootstrap=bootstrap, topic_prefix="bench", partitions=1)
    await ensure_q2c_topics(Settings(kafka=kafka), ["bottlecrm", "tryton"])
    await produce(bootstrap, "bench-in", backlog)
    baseline = await passthrough(bootstrap, "bench-in", "bench-out", MESSAGES)

    topics = Topics("bench")
    await produce(bootstrap, topics.changes, backlog)
    proc = run_worker(bootstrap, "bench", workdir / "state")
    try:
        first, last = await count_until(bootstrap, topics.commands("tryton"), MESSAGES)
    finally:
        stop_process(proc)
    pipeline = MESSAGES / (last - first) if last > first else float("nan")
    print(f"   messages                  {MESSAGES}")
    print(f"   aiokafka passthrough      {baseline:10.0f} msg/s   (baseline, 1.00)")
    ratio = pipeline / baseline
    print(f"   q2c sync pipeline         {pipeline:10.0f} msg/s   ({ratio:.2f} of baseline)")


def main() -> None:
    settings = Settings()
    libs = ensure_jars(settings.dev.cache_dir, settings.dev.kafka_version)
    with tempfile.TemporaryDirectory(prefix="q2c-bench-") as tmp:
        broker = KafkaBroker(libs=libs, data_dir=Path(tmp) / "kafka")
        broker.start()
        try:
            asyncio.run(measure(broker.bootstrap, Path(tmp)))
        finally:
            broker.stop()


if __name__ == "__main__":
    main()
