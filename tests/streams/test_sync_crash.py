"""A sync step whose output the broker refuses crashes the worker without committing.

On the real broker: the Tryton command topic is set to refuse messages larger than a few
hundred bytes, so the won deal's sales-order command fails at the broker
(``MessageSizeTooLargeError``). Faust's default supervisor would restart the agent and its
commit timer could commit the deal's offset, losing the order. The worker must stop with
the offset uncommitted, and once the topic accepts the command again, the restarted worker
sends it.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

from q2c.devstack.procs import first_result
from schemas import CommandResult, CreateSalesOrder, EntityKind, ExternalIds, Outcome
from schemas.changes import SystemRole
from schemas.commands import UpsertCustomer
from tests.plugins.worker import WorkerProcess
from tests.streams.factories import change, customer, item, line, quote
from tests.streams.kafka_io import Collector, produce

pytestmark = pytest.mark.integration
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


async def set_max_message_bytes(bootstrap: str, topic: str, size: int) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.alter_configs(
            [ConfigResource(ConfigResourceType.TOPIC, topic, {"max.message.bytes": str(size)})]
        )
    finally:
        await admin.close()


async def committed_and_end(bootstrap: str, group: str, topic: str) -> tuple[int, int]:
    """The group's committed offset on partition 0 of ``topic``, and the partition's end."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        offsets = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    tp = TopicPartition(topic, 0)
    committed = offsets[tp].offset if tp in offsets else -1
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    try:
        end = (await consumer.end_offsets([tp]))[tp]
    finally:
        await consumer.stop()
    return committed, end


async def exited(worker: WorkerProcess, within: float) -> int:
    async def code() -> int | None:
        assert worker.proc is not None
        return worker.proc.poll()

    try:
        return await first_result(code, within, interval=0.2)
    except TimeoutError:
        raise AssertionError("the worker kept running after its output was refused") from None


async def test_a_refused_output_crashes_the_worker_and_is_sent_after_the_restart(
    kafka_bootstrap: str, sync_worker: WorkerProcess
) -> None:
    topics = sync_worker.topics
    group = sync_worker.env["Q2C_WORKER__APP_ID"]
    sync_worker.start()
    async with Collector(kafka_bootstrap, topics.commands("tryton")) as commands:
        # The customer is created in Tryton and the item is known: the deal can be ordered.
        await produce(
            kafka_bootstrap,
            topics.changes,
            [
                ("item:W-1", change(item("W-1", "100.00"), SystemRole.ERP)),
                ("customer:acc-1", change(customer(), SystemRole.CRM)),
            ],
        )
        await commands.wait_for(UpsertCustomer, lambda c: c.customer.ids.crm_id == "acc-1")
        created = CommandResult(
            idempotency_key="upsert_customer-acc-1",
            command="upsert_customer",
            target_system="tryton",
            entity=EntityKind.CUSTOMER,
            outcome=Outcome.CREATED,
            ids=ExternalIds(crm_id="acc-1", erp_id="42"),
            completed_at=NOW,
        )
        await produce(kafka_bootstrap, topics.results("tryton"), [("customer:acc-1", created)])

        # Wait until the worker has handled the result (committed to the end of the results
        # topic), then make the command topic refuse anything but tiny messages.
        async def caught_up() -> bool | None:
            results = topics.results("tryton")
            committed, end = await committed_and_end(kafka_bootstrap, group, results)
            return True if end > 0 and committed == end else None

        await first_result(caught_up, within=90, interval=0.2)
        await set_max_message_bytes(kafka_bootstrap, topics.commands("tryton"), 200)

        won = change(quote(line(1, "W-1", "2", "100.00"), crm_id="deal-7"), SystemRole.CRM)
        await produce(kafka_bootstrap, topics.changes, [("deal:deal-7", won)])

        code = await exited(sync_worker, within=90)
        assert code != 0
        committed, end = await committed_and_end(kafka_bootstrap, group, topics.changes)
        assert committed < end, "the deal's offset was committed though its order was refused"

        await set_max_message_bytes(kafka_bootstrap, topics.commands("tryton"), 1_048_588)
        sync_worker.start()
        order = await commands.wait_for(
            CreateSalesOrder, lambda c: c.reference == "deal-7", within=120
        )
    assert order.quote.customer.erp_id == "42"
    assert [line.sku for line in order.quote.lines] == ["W-1"]
