"""The whole Tryton connector as `q2c connector run tryton` runs it, on the real Tryton
server and the real Kafka broker: polled changes → raw → normalize → canonical changes,
and commands → the sink → results (and the order it made comes back as a change)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from connectors.base.runtime import run_connector
from connectors.tryton import TrytonClient
from connectors.tryton.spec import SPEC
from q2c.core.settings import Settings
from q2c.core.topics import Topics
from schemas import (
    CODEC,
    CommandResult,
    CreateSalesOrder,
    Customer,
    DocumentLine,
    ExternalIds,
    Money,
    Operation,
    Outcome,
    Quote,
    SalesOrder,
    SalesOrderState,
    idempotency_key,
)
from schemas.changes import EntityChange, SystemRole
from tests.plugins.kafka import create_q2c_topics
from tests.plugins.tryton import TrytonPeer

pytestmark = pytest.mark.integration


def _recorded(peer: TrytonPeer) -> dict[str, str]:
    settings = peer.settings()
    return {
        "url": settings.url,
        "database": settings.database,
        "user": settings.user,
        "password": settings.password.get_secret_value(),
    }


async def test_connector_end_to_end(
    tryton_client: TrytonClient,
    tryton_db: TrytonPeer,
    kafka_bootstrap: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client, records = tryton_client, tryton_db.records
    (before,) = await client.create(
        "party.party",
        [
            {
                "name": "Before Ltd",
                "identifiers": [("create", [{"code": "ACC-100"}])],
                "addresses": [("create", [{"city": "Scranton"}])],
            }
        ],
    )
    await client.create(
        "product.template",
        [
            {
                "name": "Paper ream",
                "type": "service",
                "salable": True,
                "list_price": Decimal("5.25"),
                "default_uom": records["unit"],
                "sale_uom": records["unit"],
                "account_category": records["account_category"],
                "products": [("create", [{"suffix_code": "PAPER-A4"}])],
            }
        ],
    )
    monkeypatch.setenv("Q2C_TRYTON__POLL_INTERVAL", "0.3")
    parts = await SPEC.build(Settings(), _recorded(tryton_db))
    topics = Topics(prefix=f"test-{uuid.uuid4().hex[:10]}")
    await create_q2c_topics(kafka_bootstrap, topics, "tryton")
    kwargs = {"bootstrap_servers": kafka_bootstrap}
    stop = asyncio.Event()
    running = asyncio.create_task(run_connector(parts, kwargs, topics, stop))
    changes = AIOKafkaConsumer(
        topics.changes, **kwargs, auto_offset_reset="earliest", enable_auto_commit=False
    )
    results = AIOKafkaConsumer(topics.results("tryton"), **kwargs, auto_offset_reset="earliest")
    await changes.start()
    await results.start()

    def confirmed(change: EntityChange | None) -> bool:
        data = change.data if change is not None else None
        return isinstance(data, SalesOrder) and data.state in (
            SalesOrderState.CONFIRMED,
            SalesOrderState.PROCESSING,
        )

    async def until(found: dict[str, EntityChange], key: str, final: bool = False) -> None:
        """Reads changes until ``key`` arrived (in a confirmed state when ``final``)."""
        async with asyncio.timeout(60):
            while key not in found or (final and not confirmed(found.get(key))):
                for batch in (await changes.getmany(timeout_ms=300)).values():
                    for record in batch:
                        change = CODEC.decode_as(record.value or b"", EntityChange)
                        assert change.origin_system == "tryton"
                        assert change.origin_role is SystemRole.ERP
                        if change.data is not None:
                            found[f"{change.entity}:{change.ids.erp_id}"] = change

    try:
        seen: dict[str, EntityChange] = {}
        # The first poll is a snapshot: the customer made before the connector started.
        await until(seen, f"customer:{before}")
        snapshot = seen[f"customer:{before}"]
        assert snapshot.ids == ExternalIds(erp_id=str(before), crm_id="ACC-100")
        assert isinstance(snapshot.data, Customer)
        assert snapshot.data.name == "Before Ltd"

        # A party created now arrives with the next poll.
        (later,) = await client.create("party.party", [{"name": "Later Ltd"}])
        await until(seen, f"customer:{later}")
        assert seen[f"customer:{later}"].operation is Operation.CREATE

        # A sales order command is applied by the sink, its result published, and the
        # order Tryton now holds comes back as a canonical change.
        usd = "USD"
        command = CreateSalesOrder(
            idempotency_key=idempotency_key("e2e", "DEAL-100"),
            target_system="tryton",
            issued_at=datetime.now(UTC),
            reference="DEAL-100",
            quote=Quote(
                ids=ExternalIds(crm_id="DEAL-100"),
                customer=ExternalIds(crm_id="ACC-100"),
                currency=usd,
                lines=(
                    DocumentLine(
                        line_no=1,
                        sku="PAPER-A4",
                        quantity=Decimal(10),
                        unit_price=Money(amount=Decimal("5.25"), currency=usd),
                        amount=Money(amount=Decimal("52.50"), currency=usd),
                    ),
                ),
                total=Money(amount=Decimal("52.50"), currency=usd),
                updated_at=datetime.now(UTC),
            ),
        )
        producer = AIOKafkaProducer(**kwargs)
        await producer.start()
        await producer.send_and_wait(
            topics.commands("tryton"), key=b"deal:DEAL-100", value=CODEC.encode(command)
        )
        await producer.stop()
        async with asyncio.timeout(60):
            message = await results.getone()
        result = CODEC.decode_as(message.value or b"", CommandResult)
        assert (result.idempotency_key, result.outcome) == (
            command.idempotency_key,
            Outcome.CREATED,
        )
        assert result.ids is not None
        sale = result.ids.erp_id
        assert result.ids.crm_id == "DEAL-100"

        # The poll may catch the quotation between the sink's quote and confirm calls;
        # the confirmed order follows.
        await until(seen, f"sales_order:{sale}", final=True)
        order = seen[f"sales_order:{sale}"].data
        assert isinstance(order, SalesOrder)
        assert order.reference == "DEAL-100"
        assert order.customer == ExternalIds(erp_id=str(before), crm_id="ACC-100")
        assert order.total == Money(amount=Decimal("52.50"), currency=usd)
    finally:
        stop.set()
        await asyncio.wait_for(running, 60)
        await changes.stop()
        await results.stop()
