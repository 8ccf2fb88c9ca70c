"""One source per system owns its cursors: a second store started with the same owner fences
the first on the real broker, so two sources never both advance a cursor."""

from __future__ import annotations

import uuid

import pytest

from connectors.base.cursors import CursorsTakenOver, CursorStore
from q2c.core.topics import Topics

pytestmark = pytest.mark.integration


async def test_a_second_source_fences_the_first(kafka_bootstrap: str) -> None:
    kwargs = {"bootstrap_servers": kafka_bootstrap}
    topics = Topics(prefix=f"test-{uuid.uuid4().hex[:10]}")
    owner = f"{topics.cursors}.memory"
    first = CursorStore(topics.cursors, kwargs, owner=owner)
    second = CursorStore(topics.cursors, kwargs, owner=owner)
    await first.start()
    try:
        await first.save("memory/account", "10")
        await second.start()  # a second source for the same system starts
        try:
            assert second.get("memory/account") == "10"
            await second.save("memory/account", "20")
            with pytest.raises(CursorsTakenOver):
                await first.save("memory/account", "15")
        finally:
            await second.stop()
    finally:
        await first.stop()

    # What a source started now resumes from: the second's cursor; the fenced write is gone.
    fresh = CursorStore(topics.cursors, kwargs, owner=owner)
    await fresh.start()
    try:
        assert fresh.get("memory/account") == "20"
    finally:
        await fresh.stop()


async def test_sources_of_different_systems_do_not_fence_each_other(
    kafka_bootstrap: str,
) -> None:
    kwargs = {"bootstrap_servers": kafka_bootstrap}
    topics = Topics(prefix=f"test-{uuid.uuid4().hex[:10]}")
    tryton = CursorStore(topics.cursors, kwargs, owner=f"{topics.cursors}.tryton")
    crm = CursorStore(topics.cursors, kwargs, owner=f"{topics.cursors}.bottlecrm")
    await tryton.start()
    await crm.start()
    try:
        await tryton.save("tryton/party", "1")
        await crm.save("bottlecrm/account", "a")
        await tryton.save("tryton/party", "2")
        assert tryton.get("tryton/party") == "2"
    finally:
        await crm.stop()
        await tryton.stop()
