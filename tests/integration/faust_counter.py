"""A minimal Faust app for the broker tests: one agent, one table.

Run as ``python -m tests.integration.faust_counter worker``; configured through environment
variables so the test can point it at its own broker and topics.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import faust

BOOTSTRAP = os.environ["COUNTER_BOOTSTRAP"]
app = faust.App(
    os.environ["COUNTER_APP_ID"],
    broker=f"kafka://{BOOTSTRAP}",
    store="rocksdb://",
    datadir=os.environ["COUNTER_DATA_DIR"],
    web_enabled=False,
    web_port=int(os.environ["COUNTER_WEB_PORT"]),  # bound even when disabled
    topic_partitions=1,
    processing_guarantee="at_least_once",
    consumer_auto_offset_reset="earliest",
)
events = app.topic(
    os.environ["COUNTER_INPUT"], key_serializer="raw", value_serializer="raw", partitions=1
)
counts_out = app.topic(
    os.environ["COUNTER_OUTPUT"], key_serializer="raw", value_serializer="json", partitions=1
)
counts = app.Table("counts", default=int, partitions=1)


@app.agent(events)
async def count(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
    async for event in stream.events():
        key = bytes(event.key).decode()
        counts[key] += 1
        value = bytes(event.value).decode()
        await counts_out.send(
            key=key.encode(), value={"key": key, "value": value, "n": counts[key]}
        )
        yield None


if __name__ == "__main__":
    app.main()
