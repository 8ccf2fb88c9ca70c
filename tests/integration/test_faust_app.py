"""A Faust worker with one agent and one table processes events end to end on the real
broker, and its table survives a restart through the changelog topic."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from q2c.devstack.procs import free_port, stop_process
from tests.plugins.kafka import TopicFactory

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


class CounterWorker:
    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.env = env
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "tests.integration.faust_counter", "worker", "-l", "info"],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


@pytest.fixture
def counter_env(kafka_bootstrap: str, tmp_path: Path) -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    return {
        **os.environ,
        "COUNTER_BOOTSTRAP": kafka_bootstrap,
        "COUNTER_APP_ID": f"counter-{run}",
        "COUNTER_DATA_DIR": str(tmp_path / "state"),
        "COUNTER_INPUT": f"test-counter-in-{run}",
        "COUNTER_OUTPUT": f"test-counter-out-{run}",
        "COUNTER_WEB_PORT": str(free_port()),
    }


async def _produce(bootstrap: str, topic: str, items: list[tuple[str, str]]) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    await producer.start()
    try:
        for key, value in items:
            await producer.send_and_wait(topic, key=key.encode(), value=value.encode())
    finally:
        await producer.stop()


async def _consume(bootstrap: str, topic: str, n: int) -> list[dict[str, object]]:
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", enable_auto_commit=False
    )
    await consumer.start()
    out: list[dict[str, object]] = []
    try:
        async with asyncio.timeout(120):
            while len(out) < n:
                batch = await consumer.getmany(timeout_ms=500)
                for records in batch.values():
                    out.extend(orjson.loads(r.value) for r in records if r.value)
    finally:
        await consumer.stop()
    return out


async def test_agent_and_table_process_events_and_recover_after_restart(
    kafka_bootstrap: str, topic_factory: TopicFactory, counter_env: dict[str, str], tmp_path: Path
) -> None:
    # Faust creates its internal topics (the table's changelog) itself; the broker creates
    # none on first use, so the agent's input and output exist before it starts.
    inp = counter_env["COUNTER_INPUT"] = await topic_factory("counter-in")
    out = counter_env["COUNTER_OUTPUT"] = await topic_factory("counter-out")
    await _produce(kafka_bootstrap, inp, [("acme", "q1"), ("globex", "q2"), ("acme", "q3")])
    worker = CounterWorker(counter_env, tmp_path / "worker.log")
    worker.start()
    try:
        first = await _consume(kafka_bootstrap, out, 3)
    finally:
        worker.stop()
    assert [(m["key"], m["value"], m["n"]) for m in first] == [
        ("acme", "q1", 1),
        ("globex", "q2", 1),
        ("acme", "q3", 2),
    ]

    # Lose the local RocksDB state: the table must come back from its changelog topic.
    for path in sorted((tmp_path / "state").rglob("*"), reverse=True):
        if path.is_file():
            path.unlink()
    await _produce(kafka_bootstrap, inp, [("acme", "q4")])
    worker.start()
    try:
        everything = await _consume(kafka_bootstrap, out, 4)
    finally:
        worker.stop()
    assert (everything[3]["key"], everything[3]["value"], everything[3]["n"]) == ("acme", "q4", 3)
