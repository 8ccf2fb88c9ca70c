"""A bare Faust agent that only forwards what it reads: the floor of any Faust stage.

Run by :mod:`bench.pipeline` as its own process (``python -m bench._faust_passthrough``),
configured by environment: ``BENCH_BOOTSTRAP``, ``BENCH_SOURCE``, ``BENCH_TARGET``,
``BENCH_DATA_DIR``, ``BENCH_WEB_PORT``. Like q2c's worker: acks=all and Faust's spinner
off; unlike it: no tables, no decoding, each event sent on without awaiting its delivery.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import faust

from streams.app import Worker


def build() -> faust.App:
    app = faust.App(
        "bench-faust-passthrough",
        broker=f"kafka://{os.environ['BENCH_BOOTSTRAP']}",
        datadir=os.environ["BENCH_DATA_DIR"],
        web_bind="127.0.0.1",
        web_host="127.0.0.1",
        web_port=int(os.environ["BENCH_WEB_PORT"]),
        producer_acks=-1,
        consumer_auto_offset_reset="earliest",
        topic_partitions=1,
    )
    source = app.topic(os.environ["BENCH_SOURCE"], key_serializer="raw", value_serializer="raw")
    target = app.topic(os.environ["BENCH_TARGET"], key_serializer="raw", value_serializer="raw")

    async def forward(stream: Any) -> AsyncIterator[None]:
        async for event in stream.events():
            await target.send(key=event.key, value=event.value)
            yield None

    app.agent(source, name="bench.forward")(forward)
    return app


if __name__ == "__main__":
    Worker(build(), loglevel="WARNING", quiet=True).execute_from_commandline()
