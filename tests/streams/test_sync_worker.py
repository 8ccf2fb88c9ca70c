"""The sync worker on the real broker, fed synthetic canonical changes and sink results:
an account is created in the ERP, an item reaches the CRM, a won deal becomes exactly one
sales order, and the deal is told it synced."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from schemas import (
    AuditRecord,
    CommandResult,
    CreateSalesOrder,
    EntityKind,
    ExternalIds,
    Outcome,
    ReportSyncStatus,
    SyncStatus,
    UpsertCustomer,
    UpsertItem,
)
from schemas.changes import SystemRole
from schemas.decisions import DealApproval
from tests.plugins.worker import WorkerProcess
from tests.streams.factories import change, customer, item, line, quote
from tests.streams.kafka_io import Collector, produce

pytestmark = pytest.mark.integration
CRM, ERP = SystemRole.CRM, SystemRole.ERP


def result(command: str, key_ids: ExternalIds, entity: EntityKind) -> CommandResult:
    return CommandResult(
        idempotency_key=f"{command}-{key_ids.crm_id}",
        command=command,
        target_system="tryton",
        entity=entity,
        outcome=Outcome.CREATED,
        ids=key_ids,
        completed_at=datetime.now(UTC),
    )


async def test_a_won_deal_becomes_one_sales_order(
    kafka_bootstrap: str, sync_worker: WorkerProcess
) -> None:
    topics = sync_worker.topics
    sync_worker.start()
    async with Collector(
        kafka_bootstrap, topics.commands("tryton"), topics.commands("bottlecrm"), topics.audit
    ) as out:
        await produce(
            kafka_bootstrap,
            topics.changes,
            [
                # Keyed as an older normalizer did: re-keyed by the sync before it is handled.
                ("item/W-1", change(item("W-1", "100.00"), ERP)),
                ("customer:acc-1", change(customer(), CRM)),
            ],
        )
        upsert = await out.wait_for(UpsertCustomer, lambda c: c.customer.ids.crm_id == "acc-1")
        assert upsert.target_system == "tryton"
        pushed = await out.wait_for(UpsertItem, lambda c: c.item.sku == "W-1")
        assert pushed.target_system == "bottlecrm"

        # A deal closed before its customer exists in the ERP waits, and says so.
        won = change(quote(line(1, "W-1", "2", "100.00")), CRM)
        await produce(kafka_bootstrap, topics.changes, [("deal:deal-1", won)])
        waiting = await out.wait_for(ReportSyncStatus, lambda r: r.status is SyncStatus.WAITING)
        assert "customer is not in the ERP yet" in waiting.message

        # The ERP sink reports the customer created: the parked deal goes through.
        created = result(
            "upsert_customer", ExternalIds(crm_id="acc-1", erp_id="42"), EntityKind.CUSTOMER
        )
        await produce(kafka_bootstrap, topics.results("tryton"), [("customer:acc-1", created)])
        order = await out.wait_for(CreateSalesOrder, lambda c: c.reference == "deal-1")
        assert order.quote.customer.erp_id == "42"
        assert [ln.item.erp_id for ln in order.quote.lines if ln.item] == ["7"]

        # The same change delivered again, and an unrelated approval, create nothing more.
        await produce(kafka_bootstrap, topics.changes, [("deal:deal-1", won)])
        approval = DealApproval(
            deal_crm_id="deal-1", approved=True, actor="cfo", at=datetime.now(UTC)
        )
        await produce(kafka_bootstrap, topics.control, [("deal:deal-1", approval)])
        ignored = await out.wait_for(AuditRecord, lambda a: a.actor == "cfo")
        assert "ignored" in ignored.reason  # processed after the duplicate (one partition)
        assert len(out.of(CreateSalesOrder)) == 1
        ordered = result(
            "create_sales_order",
            ExternalIds(crm_id="deal-1", erp_id="so-1"),
            EntityKind.SALES_ORDER,
        )
        await produce(kafka_bootstrap, topics.results("tryton"), [("deal:deal-1", ordered)])
        synced = await out.wait_for(ReportSyncStatus, lambda r: r.status is SyncStatus.SYNCED)
        assert "so-1" in synced.message
        assert len(out.of(CreateSalesOrder)) == 1
