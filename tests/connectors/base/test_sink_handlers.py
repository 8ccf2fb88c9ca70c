"""Sinks declare a command → handler table; the commands a role must apply are checked
when a connector is built, so a missing handler is an error at start, not dead letters."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import ClassVar

import pytest

from connectors.base import ConnectorError, ErrorKind
from connectors.base.mapping import Mapper
from connectors.base.runtime import ConnectorParts
from connectors.base.sink import (
    REQUIRED_COMMANDS,
    IncompleteSink,
    Sink,
    check_sink,
    handles,
    missing_commands,
)
from connectors.bottlecrm.sink import BottleCrmSink
from connectors.tryton.sink import TrytonSink
from schemas import (
    Command,
    CommandResult,
    CreateRenewalDeal,
    Customer,
    DeleteRecord,
    EntityKind,
    ExternalIds,
    Outcome,
    ReportSyncStatus,
    SyncStatus,
    UpdateAccountBalance,
    UpdateDealFinancialStatus,
    UpsertContact,
    UpsertCrmInvoice,
    UpsertCustomer,
    UpsertItem,
)
from schemas.changes import SystemRole

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class CustomersOnly(Sink):
    system: ClassVar[str] = "memerp"

    @handles(UpsertCustomer)
    async def upsert_customer(self, command: UpsertCustomer) -> CommandResult:
        ids = command.customer.ids.model_copy(update={"erp_id": "9"})
        return self.result(command, EntityKind.CUSTOMER, Outcome.CREATED, ids)


class ErpMapper(Mapper):
    system: ClassVar[str] = "memerp"
    role: ClassVar[SystemRole] = SystemRole.ERP


def upsert_customer() -> UpsertCustomer:
    customer = Customer(ids=ExternalIds(crm_id="a1"), name="Acme", updated_at=NOW)
    return UpsertCustomer(
        idempotency_key="k1", target_system="memerp", issued_at=NOW, customer=customer
    )


def subjects(commands: Iterable[type[Command]]) -> set[str]:
    return {command.schema_subject for command in commands}


def test_the_commands_a_role_must_apply_come_from_the_commands_themselves() -> None:
    both = subjects([UpsertCustomer, UpsertContact, UpsertItem, DeleteRecord])
    assert subjects(REQUIRED_COMMANDS[SystemRole.ERP]) == both | {"create_sales_order"}
    assert subjects(REQUIRED_COMMANDS[SystemRole.CRM]) == both | subjects(
        [
            CreateRenewalDeal,
            UpdateDealFinancialStatus,
            UpdateAccountBalance,
            UpsertCrmInvoice,
            ReportSyncStatus,
        ]
    )


def test_both_real_sinks_cover_their_role() -> None:
    check_sink(BottleCrmSink, SystemRole.CRM)
    check_sink(TrytonSink, SystemRole.ERP)
    assert BottleCrmSink.commands() == REQUIRED_COMMANDS[SystemRole.CRM]
    assert TrytonSink.commands() == REQUIRED_COMMANDS[SystemRole.ERP]
    # A CRM sink is not an ERP sink: Tryton does not write financial status back.
    assert missing_commands(TrytonSink, SystemRole.CRM) == [
        "create_renewal_deal",
        "report_sync_status",
        "update_account_balance",
        "update_deal_financial_status",
        "upsert_crm_invoice",
    ]


def test_building_a_connector_whose_sink_misses_a_command_fails_with_the_missing_ones() -> None:
    with pytest.raises(IncompleteSink) as raised:
        ConnectorParts(system="memerp", mapper=ErpMapper(), sink=CustomersOnly())
    message = str(raised.value)
    assert "CustomersOnly (memerp, a ERP sink)" in message
    assert "create_sales_order, delete_record, upsert_contact, upsert_item" in message
    assert "@handles" in message
    assert ConnectorParts(system="memerp", mapper=ErpMapper()).sink is None


async def test_commands_go_to_their_declared_handler_and_others_are_skipped() -> None:
    sink = CustomersOnly()
    assert subjects(sink.handlers) == {"upsert_customer"}
    result = await sink.apply(upsert_customer())
    assert (result.outcome, result.ids) == (Outcome.CREATED, ExternalIds(crm_id="a1", erp_id="9"))
    report = ReportSyncStatus(
        idempotency_key="k2",
        target_system="memerp",
        issued_at=NOW,
        entity=EntityKind.CUSTOMER,
        record=ExternalIds(crm_id="a1"),
        status=SyncStatus.REJECTED,
    )
    with pytest.raises(ConnectorError) as raised:
        await sink.apply(report)
    assert raised.value.kind is ErrorKind.SKIPPABLE
    assert "memerp does not apply report_sync_status commands" in str(raised.value)


def test_a_subclass_keeps_its_parents_handlers_and_one_command_has_one_handler() -> None:
    class WithItems(CustomersOnly):
        @handles(UpsertItem)
        async def upsert_item(self, command: UpsertItem) -> CommandResult:
            raise NotImplementedError

    assert subjects(WithItems.commands()) == {"upsert_customer", "upsert_item"}
    assert subjects(CustomersOnly.commands()) == {"upsert_customer"}
    with pytest.raises(TypeError, match="two handlers of UpsertItem"):

        class Twice(Sink):
            system: ClassVar[str] = "memerp"

            @handles(UpsertItem)
            async def one(self, command: UpsertItem) -> CommandResult:
                raise NotImplementedError

            @handles(UpsertItem)
            async def other(self, command: UpsertItem) -> CommandResult:
                raise NotImplementedError
