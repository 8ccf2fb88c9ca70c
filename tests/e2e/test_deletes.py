"""Deletes by policy on the real peers: an item deleted in Tryton is archived in BottleCRM
(the default) and leaves the sync's item view, so a deal won with it afterwards is rejected
with the reason and dead-lettered; an account deleted in BottleCRM deletes its Tryton party
when customers' policy says delete; a contact deleted in BottleCRM is only audited when
contacts' policy says audit. Each decision is on the audit topic."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal

import pytest
from aiokafka import AIOKafkaConsumer

from connectors.bottlecrm.models import ContactInput, DealInput, LineItemInput
from schemas import CODEC, AuditKind, AuditRecord, DeadLetter, DecodeError, EntityKind
from tests.e2e.conftest import Stack
from tests.e2e.helpers import (
    account_in_both,
    crm_product,
    deal_fields,
    everything_on,
    make_item,
)

pytestmark = pytest.mark.integration


@asynccontextmanager
async def audit_records(stack: Stack) -> AsyncIterator[AIOKafkaConsumer]:
    consumer = AIOKafkaConsumer(
        stack.topics.audit, bootstrap_servers=stack.bootstrap, auto_offset_reset="earliest"
    )
    await consumer.start()
    try:
        yield consumer
    finally:
        await consumer.stop()


async def dead_letter(stack: Stack, where: Callable[[DeadLetter], bool]) -> DeadLetter:
    """The first dead letter ``where`` holds for."""
    seen: list[DeadLetter] = []

    async def probe() -> DeadLetter | None:
        seen[:] = [
            m
            for m in await everything_on(stack, stack.topics.dead_letter)
            if isinstance(m, DeadLetter)
        ]
        return next((d for d in seen if where(d)), None)

    return await stack.eventually(probe, "the dead letter")


async def deletion_audited(stack: Stack, entity: EntityKind, rule: str) -> AuditRecord:
    """The audit record of a delete of ``entity`` decided by ``rule``."""
    seen: list[AuditRecord] = []
    async with audit_records(stack) as consumer:

        async def probe() -> AuditRecord | None:
            for records in (await consumer.getmany(timeout_ms=500)).values():
                for record in records:
                    try:
                        audit = CODEC.decode_as(record.value or b"", AuditRecord)
                    except DecodeError:
                        continue
                    seen.append(audit)
            return next(
                (
                    a
                    for a in seen
                    if a.kind is AuditKind.DELETED and a.entity is entity and a.rule == rule
                ),
                None,
            )

        return await stack.eventually(probe, f"the audit of a deleted {entity} ({rule})")


@pytest.mark.q2c_env(Q2C_TRYTON__DELETE_SCAN_INTERVAL="1")
async def test_an_item_deleted_in_the_erp_is_archived_in_the_crm(stack: Stack) -> None:
    template = await make_item(stack, "GONE-1", "40")
    product = await crm_product(stack, "GONE-1")
    assert product.is_active
    # A deal quoting the item, not won yet.
    account, _ = await account_in_both(stack, "Late Buyer Ltd")
    deal = await stack.crm.create_deal(
        DealInput(name="Gone item", account=account, currency="USD", amount=Decimal(80))
    )
    await stack.crm.add_line_item(
        deal, LineItemInput(product_id=product.id, quantity=Decimal(2), unit_price=Decimal(40))
    )

    await stack.erp.delete("product.template", [template])

    async def archived() -> bool | None:
        current = await stack.crm.get_product(product.id)
        return True if not current.is_active else None

    await stack.eventually(archived, "the BottleCRM product archived")
    audit = await deletion_audited(stack, EntityKind.ITEM, "delete policy for item: archive")
    assert audit.record.crm_id == product.id
    assert audit.reason == "deleted in tryton; archived in bottlecrm"
    # Archived, not deleted: the product and its history stay in the CRM.
    assert (await stack.crm.get_product(product.id)).sku == "GONE-1"

    # The item left the sync's item view: the deal won now is not ordered, and says why.
    await stack.crm.close_won(deal, dt.date.today())
    fields = await deal_fields(stack, deal, q2c_sync_status="rejected")
    reason = f"line 1: item GONE-1 was deleted in the ERP (tryton) on {dt.date.today()}"
    assert fields["q2c_sync_reason"] == reason
    letter = await dead_letter(stack, lambda d: reason in d.reason)
    assert letter.reason == f"deal {deal} cannot be ordered: {reason}"
    assert letter.stage == "streams.sync"
    assert await stack.erp.search("sale.sale", [("reference", "=", deal)]) == []


@pytest.mark.q2c_env(Q2C_SYNC__DELETES='{"entities": {"customer": "delete"}}')
async def test_an_account_deleted_in_the_crm_deletes_its_party_when_the_policy_says_so(
    stack: Stack,
) -> None:
    account, party = await account_in_both(stack, "Short-lived Ltd")

    await stack.crm.delete_account(account)

    async def party_gone() -> bool | None:
        left = await stack.erp.search(
            "party.party", [("id", "=", party)], context={"active_test": False}
        )
        return True if not left else None

    await stack.eventually(party_gone, "the Tryton party deleted")
    audit = await deletion_audited(stack, EntityKind.CUSTOMER, "delete policy for customer: delete")
    assert audit.record.crm_id == account
    assert audit.record.erp_id == str(party)


@pytest.mark.q2c_env(Q2C_SYNC__DELETES='{"entities": {"contact": "audit"}}')
async def test_a_contact_deleted_in_the_crm_is_only_audited_when_the_policy_says_so(
    stack: Stack,
) -> None:
    account, party = await account_in_both(stack, "Kept Contacts Ltd")
    contact = await stack.crm.create_contact(
        ContactInput(first_name="Ada", last_name="Byron", email="ada@kept.example", account=account)
    )

    async def mechanisms() -> list[int] | None:
        found = await stack.erp.search(
            "party.contact_mechanism",
            [("party", "=", party), ("comment", "=", f"q2c contact {contact}")],
        )
        return list(found) or None

    kept = await stack.eventually(mechanisms, "the contact as Tryton contact mechanisms")

    await stack.crm.delete_contact(contact)

    audit = await deletion_audited(stack, EntityKind.CONTACT, "delete policy for contact: audit")
    assert audit.record.crm_id == contact
    assert audit.reason == "deleted in bottlecrm; kept in tryton"
    rows = await stack.erp.read("party.contact_mechanism", kept, ["active"])
    assert [row["active"] for row in rows] == [True] * len(kept)
