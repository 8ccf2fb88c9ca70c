"""The q2c_* metrics of the worker and both connectors after a deal closed won on the real
peers, and one command nobody can read: the counts say what happened, no more."""

from __future__ import annotations

import time

import aiohttp
import pytest
from aiokafka import AIOKafkaProducer

from tests.e2e.conftest import Stack
from tests.e2e.helpers import account_in_both, crm_product, deal_fields, make_item, won_deal
from tests.metrics_text import Samples, parse_samples

pytestmark = pytest.mark.integration


async def scrape(port: str) -> Samples:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"http://127.0.0.1:{port}/q2c/metrics") as reply,
    ):
        assert reply.status == 200
        return parse_samples(await reply.text())


async def test_metrics_count_what_a_won_deal_and_a_bad_command_did(stack: Stack) -> None:
    worker_port = stack.env["Q2C_WORKER__WEB_PORT"]
    tryton_port = stack.connectors["tryton"].env["Q2C_CONNECTOR__WEB_PORT"]
    crm_port = stack.connectors["bottlecrm"].env["Q2C_CONNECTOR__WEB_PORT"]

    await make_item(stack, "MT-1", "40")
    product = await crm_product(stack, "MT-1")
    account, _ = await account_in_both(stack, "Metrics Ltd")
    deal = await won_deal(stack, account, [(product, "3", "40")])
    await deal_fields(stack, deal, q2c_sync_status="synced", erp_order_number="*")

    producer = AIOKafkaProducer(bootstrap_servers=stack.bootstrap, acks="all")
    await producer.start()
    try:
        await producer.send_and_wait(
            stack.topics.commands("tryton"), b"not a command", key=b"poison"
        )
    finally:
        await producer.stop()

    async def worker_settled() -> Samples | None:
        # The deals gauge is refreshed by the worker's recheck loop, every few seconds.
        samples = await scrape(worker_port)
        synced = samples.value("q2c_deals", status="synced")
        return (
            samples
            if synced == 1 and samples.total("q2c_deal_won_to_order_seconds_count")
            else None
        )

    async def sink_dead_lettered() -> Samples | None:
        samples = await scrape(tryton_port)
        return samples if samples.total("q2c_dead_letters_total") >= 1 else None

    worker = await stack.eventually(worker_settled, "the worker's metrics of the synced deal")
    tryton = await stack.eventually(sink_dead_lettered, "the tryton sink's dead letter")
    crm = await scrape(crm_port)

    # One won deal: one order sent, created once, confirmed once.
    assert (
        worker.value("q2c_commands_sent_total", system="tryton", command="create_sales_order") == 1
    )
    assert worker.total("q2c_deal_won_to_order_seconds_count") == 1
    assert worker.value("q2c_deals", status="waiting") == 0
    assert worker.value("q2c_deals", status="rejected") == 0
    assert worker.value("q2c_worker_ready") == 1
    results = tryton.matching(
        "q2c_command_results_total", system="tryton", command="create_sales_order"
    )
    assert results == {
        (("command", "create_sales_order"), ("outcome", "created"), ("system", "tryton")): 1
    }
    latency = tryton.value(
        "q2c_change_to_applied_seconds_count", system="tryton", command="create_sales_order"
    )
    assert latency == 1
    reported = crm.total(
        "q2c_command_results_total", system="bottlecrm", command="report_sync_status"
    )
    assert reported >= 1

    # Both sources read and published; their newest change is from this test run.
    for system, samples in (("tryton", tryton), ("bottlecrm", crm)):
        assert samples.total("q2c_changes_read_total", system=system) > 0
        assert samples.total("q2c_changes_published_total", system=system) > 0
        assert samples.total("q2c_changes_normalized_total", system=system) > 0
        assert samples.total("q2c_api_request_duration_seconds_count", system=system) > 0
        newest = max(samples.matching("q2c_source_newest_change_timestamp_seconds").values())
        assert newest > time.time() - 3600
        assert samples.value("q2c_connector_running", system=system) == 1
        assert samples.matching("q2c_worker_ready") == {}  # a connector is no worker

    # Dead letters: exactly the one bad command, where it was refused.
    assert tryton.matching("q2c_dead_letters_total") == {
        (("error_class", "DecodeError"), ("stage", "sink.tryton.decode")): 1
    }
    assert worker.total("q2c_dead_letters_total") == 0
    assert crm.total("q2c_dead_letters_total") == 0
