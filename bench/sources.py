"""Changes per second each real source sustains into Kafka, next to a bare API read.

For each peer, N records are made, then the connector's source publishes them: every batch
read, turned into raw change events, published with acks=all and its cursor stored after
the broker acknowledged it (the `SourceRunner` loop, one stream). The baseline, in the same
run against the same server, is one bare listing of the same records through the same
client: what reading costs before q2c adds anything. ``Q2C_BENCH_RECORDS`` (200) records.
(:mod:`bench.snapshot` measures the snapshot of 100,000 parties.)
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from bench._broker import on_a_broker
from connectors.base import CursorStore, Publisher, SourceRunner, Stream
from connectors.bottlecrm.client import BottleCrmClient
from connectors.bottlecrm.models import AccountInput
from connectors.bottlecrm.source import AccountStream
from connectors.tryton.client import TrytonClient
from connectors.tryton.source import PartyStream
from q2c.core.kafka_admin import ensure_q2c_topics, partitions_of
from q2c.core.settings import KafkaSettings, Settings
from q2c.core.topics import Topics
from q2c.devstack import bottlecrm, tryton

RECORDS = int(os.environ.get("Q2C_BENCH_RECORDS", "200"))


async def drain(stream: Stream, bootstrap: str) -> tuple[int, float]:
    """(changes published, seconds) for ``stream`` from its beginning."""
    kwargs = {"bootstrap_servers": bootstrap}
    topics = Topics(f"bench{uuid.uuid4().hex[:6]}")
    kafka = KafkaSettings(bootstrap=bootstrap, topic_prefix=topics.prefix, partitions=1)
    await ensure_q2c_topics(Settings(kafka=kafka), [stream.system])
    publisher = Publisher(kwargs, topics)
    cursors = CursorStore(topics.cursors, kwargs)
    await publisher.start()
    await cursors.start()
    runner = SourceRunner([stream], publisher, cursors)
    started = time.perf_counter()
    try:
        while await runner.poll_once(stream):
            pass
    finally:
        elapsed = time.perf_counter() - started
        await cursors.stop()
        await publisher.stop()
    topic = topics.raw(stream.system)
    consumer = AIOKafkaConsumer(**kwargs)
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in await partitions_of(kwargs, topic)]
        published = sum((await consumer.end_offsets(partitions)).values())
    finally:
        await consumer.stop()
    return published, elapsed


async def tryton_figures(bootstrap: str, workdir: Path) -> None:
    install = tryton.ensure_install(Settings().dev.cache_dir)
    pristine = tryton.ensure_pristine(install)
    server = tryton.TrytonServer(
        install=install, data_dir=workdir / "tryton", password=pristine.password
    )
    server.restore(pristine)
    server.start()
    try:
        async with TrytonClient(server.settings()) as client:
            for start in range(0, RECORDS, 50):
                await client.create(
                    "party.party",
                    [{"name": f"Bench {i}"} for i in range(start, min(start + 50, RECORDS))],
                )
            began = time.perf_counter()
            rows = await client.search_read("party.party", [], ["name", "last_modified_at"])
            bare = len(rows) / (time.perf_counter() - began)
            published, elapsed = await drain(PartyStream(client), bootstrap)
        print(
            f"   tryton parties      {published:5d} changes  {published / elapsed:8.0f} changes/s"
            f"   (bare search_read {bare:8.0f} records/s)   snapshot {elapsed:.1f} s"
            f"   load {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
        )
    finally:
        server.stop()


async def bottlecrm_figures(bootstrap: str, workdir: Path) -> None:
    install = bottlecrm.ensure_install(Settings().dev.cache_dir)
    bottlecrm.ensure_pristine(install)
    server = bottlecrm.BottleCrmServer(install=install, data_dir=workdir / "bottlecrm")
    server.start()
    try:
        assert server.user_jwt is not None
        org = await bottlecrm.provision_org(server.url, server.user_jwt, "bench")
        async with BottleCrmClient(org.settings()) as client:
            for i in range(RECORDS):
                await client.create_account(AccountInput(name=f"Bench {i}"))
            began = time.perf_counter()
            listed = [a async for a in client.accounts()]
            bare = len(listed) / (time.perf_counter() - began)
            published, elapsed = await drain(AccountStream(client), bootstrap)
        print(
            f"   bottlecrm accounts  {published:5d} changes  {published / elapsed:8.0f} changes/s"
            f"   (bare account listing {bare:8.0f} records/s)"
        )
    finally:
        server.stop()


async def measure(bootstrap: str, workdir: Path) -> None:
    print(f"   records per peer    {RECORDS}")
    await tryton_figures(bootstrap, workdir)
    await bottlecrm_figures(bootstrap, workdir)


def main() -> None:
    on_a_broker(measure, "sources")


if __name__ == "__main__":
    main()
