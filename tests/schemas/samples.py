"""A valid message of every subject, for round-trip, property and benchmark tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from pydantic import JsonValue

import schemas as s
from schemas.changes import EntityChange, SystemRole
from schemas.commands import (
    CrmCreditMemo,
    CrmInvoiceLine,
    CrmInvoiceState,
    CurrencyBalance,
    InvoiceSettlement,
    SettlementKind,
)
from schemas.decisions import (
    DeadLetterResolution,
    DealApproval,
    EraseRecord,
    LetterAction,
    RecheckDeal,
    RecheckLedger,
)

AT = datetime(2026, 11, 26, 12, 30, 15, 250000, tzinfo=UTC)


def eur(amount: str) -> s.Money:
    return s.Money(amount=Decimal(amount), currency="EUR")


def lines(count: int) -> tuple[s.DocumentLine, ...]:
    return tuple(
        s.DocumentLine(
            line_no=n,
            item=s.ExternalIds(crm_id=f"prod-{n}", erp_id=str(100 + n)),
            sku=f"SKU-{n:04d}",
            description=f"Widget model {n}",
            quantity=Decimal("2.5"),
            unit_price=eur("19.90"),
            discount_percent=Decimal("10"),
            amount=eur("44.78"),
        )
        for n in range(1, count + 1)
    )


def quote(line_count: int = 5) -> s.Quote:
    return s.Quote(
        ids=s.ExternalIds(crm_id="deal-42"),
        number="Q-0042",
        customer=s.ExternalIds(crm_id="acct-7", erp_id="17"),
        currency="EUR",
        status=s.QuoteStatus.SENT,
        stage="PROPOSAL",
        valid_until=date(2026, 12, 31),
        lines=lines(line_count),
        total=eur(str(Decimal("44.78") * line_count)),
        updated_at=AT,
        attributes={"lead_source": "PARTNER", "probability": "60"},
    )


def customer() -> s.Customer:
    return s.Customer(
        ids=s.ExternalIds(crm_id="acct-7", erp_id="17"),
        name="Acme GmbH",
        approved=True,
        email="billing@acme.example",
        currency="EUR",
        billing_address=s.Address(street="Hauptstr. 1", city="Berlin", country="DE"),
        updated_at=AT,
        payment_terms="30 days",
        credit_limit=eur("5000.00"),
        credit_used=eur("106.58"),
    )


def invoice() -> s.Invoice:
    return s.Invoice(
        ids=s.ExternalIds(erp_id="inv-9"),
        number="INV-2026-0009",
        customer=s.ExternalIds(crm_id="acct-7", erp_id="17"),
        sales_order=s.ExternalIds(erp_id="so-3"),
        currency="EUR",
        state=s.InvoiceState.POSTED,
        invoice_date=date(2026, 11, 1),
        due_date=date(2026, 12, 1),
        lines=lines(2),
        untaxed=eur("89.56"),
        tax=eur("17.02"),
        total=eur("106.58"),
        amount_due=eur("6.58"),
        updated_at=AT,
    )


def crm_invoice(key: str) -> s.UpsertCrmInvoice:
    """An invoice partly paid, with a credit memo and an overpayment."""
    return s.UpsertCrmInvoice(
        idempotency_key=key,
        invoice=s.ExternalIds(erp_id="40"),
        number="INV-40",
        account=s.ExternalIds(crm_id="acct-7", erp_id="17"),
        deal=s.ExternalIds(crm_id="deal-42", erp_id="3"),
        order_number="SO-3",
        issue_date=date(2026, 11, 20),
        due_date=date(2026, 12, 20),
        currency="EUR",
        state=CrmInvoiceState.PARTIALLY_PAID,
        lines=(
            CrmInvoiceLine(
                line_no=1,
                item=s.ExternalIds(crm_id="prod-1", erp_id="101"),
                sku="SKU-0001",
                description="Widget model 1",
                quantity=Decimal("2"),
                unit_price=eur("50.00"),
                tax=eur("19.00"),
                amount=eur("100.00"),
                total=eur("119.00"),
            ),
        ),
        untaxed=eur("100.00"),
        tax=eur("19.00"),
        total=eur("119.00"),
        amount_paid=eur("50.00"),
        credited=eur("19.00"),
        amount_due=eur("50.00"),
        overpaid=eur("0.00"),
        refunded=eur("0.00"),
        credit_memos=(
            CrmCreditMemo(
                ids=s.ExternalIds(erp_id="41"),
                number="CN-41",
                state=s.InvoiceState.POSTED,
                issue_date=date(2026, 11, 22),
                reason="damaged",
                total=eur("19.00"),
                open=eur("19.00"),
                refunded=eur("0.00"),
            ),
        ),
        settlements=(
            InvoiceSettlement(
                kind=SettlementKind.PAYMENT,
                ids=s.ExternalIds(erp_id="90"),
                reference="MV-44",
                on=date(2026, 11, 25),
                amount=eur("50.00"),
            ),
        ),
        as_of=AT,
        target_system="bottlecrm",
        issued_at=AT,
    )


def all_samples() -> list[s.Contract]:
    """One valid message per subject of the catalog."""
    cust = s.ExternalIds(crm_id="acct-7", erp_id="17")
    issued = {"target_system": "tryton", "issued_at": AT}
    key = s.idempotency_key("sample", "tryton", "acct-7")
    record: dict[str, JsonValue] = {
        "id": 17,
        "name": "Acme GmbH",
        "balance": {"__class__": "Decimal", "decimal": "1"},
    }
    return [
        s.RawChange.of(
            system="tryton",
            object="party.party",
            record_id="17",
            operation=s.Operation.UPDATE,
            source_ts=AT,
            cursor="2026-11-26T12:30:15.250000|17",
            record=record,
            observed_at=AT,
        ),
        EntityChange(
            entity=s.EntityKind.QUOTE,
            ids=s.ExternalIds(crm_id="deal-42"),
            origin_system="bottlecrm",
            origin_role=SystemRole.CRM,
            operation=s.Operation.UPDATE,
            source_ts=AT,
            fingerprint=s.fingerprint({"id": "deal-42"}),
            data=quote(),
        ),
        customer(),
        s.Contact(
            ids=s.ExternalIds(crm_id="c-1"),
            customer=cust,
            first_name="Ada",
            last_name="Lovelace",
            email="ada@acme.example",
            updated_at=AT,
        ),
        s.Item(
            ids=s.ExternalIds(crm_id="prod-1", erp_id="101"),
            sku="SKU-0001",
            name="Widget",
            prices=(
                s.PriceBookPrice(unit_price=eur("19.90")),
                s.PriceBookPrice(unit_price=s.Money(amount=Decimal("21.50"), currency="USD")),
            ),
            updated_at=AT,
        ),
        quote(),
        s.SalesOrder(
            ids=s.ExternalIds(erp_id="so-3"),
            number="SO-3",
            reference="deal-42",
            customer=cust,
            quote=s.ExternalIds(crm_id="deal-42"),
            currency="EUR",
            state=s.SalesOrderState.CONFIRMED,
            invoice_status=s.InvoiceStatus.PENDING,
            lines=lines(2),
            untaxed=eur("89.56"),
            tax=eur("17.02"),
            total=eur("106.58"),
            updated_at=AT,
            shipment_status=s.ShipmentStatus.PARTIALLY_SHIPPED,
            shipments=(
                s.Shipment(
                    ids=s.ExternalIds(erp_id="cs-1"),
                    number="CS-1",
                    reference="1Z999AA10123456784",
                    state=s.ShipmentState.DONE,
                    planned_date=date(2026, 11, 2),
                    effective_date=date(2026, 11, 3),
                    lines=(s.ShipmentLine(sku="SKU-0001", quantity=Decimal("1.5")),),
                ),
            ),
        ),
        invoice(),
        s.CreditMemo(
            ids=s.ExternalIds(erp_id="cm-1"),
            customer=cust,
            credited_invoice=s.ExternalIds(erp_id="inv-9"),
            sales_order=s.ExternalIds(erp_id="so-4"),
            currency="EUR",
            state=s.InvoiceState.POSTED,
            reason="damaged in transit",
            lines=lines(1),
            untaxed=eur("-44.78"),
            tax=eur("-8.51"),
            total=eur("-53.29"),
            updated_at=AT,
            amount_open=eur("53.29"),
        ),
        s.Payment(
            ids=s.ExternalIds(erp_id="pay-1"),
            customer=cust,
            amount=eur("100.00"),
            received_on=date(2026, 11, 20),
            applications=(
                s.PaymentApplication(invoice=s.ExternalIds(erp_id="inv-9"), amount=eur("100.00")),
            ),
            updated_at=AT,
        ),
        s.CrossReference(
            entity=s.EntityKind.CUSTOMER,
            crm_system="bottlecrm",
            crm_id="acct-7",
            erp_system="tryton",
            erp_id="17",
            established_at=AT,
        ),
        s.UpsertCustomer(idempotency_key=key, customer=customer(), **issued),
        s.UpsertContact(
            idempotency_key=key,
            contact=s.Contact(ids=s.ExternalIds(crm_id="c-1"), last_name="Lovelace", updated_at=AT),
            **issued,
        ),
        s.UpsertItem(
            idempotency_key=key,
            item=s.Item(ids=s.ExternalIds(crm_id="prod-1"), sku="SKU-1", name="W", updated_at=AT),
            **issued,
        ),
        s.DeleteRecord(
            idempotency_key=key,
            entity=s.EntityKind.ITEM,
            record=s.ExternalIds(crm_id="prod-1", erp_id="7"),
            mode=s.DeleteMode.ARCHIVE,
            **issued,
        ),
        s.CreateSalesOrder(idempotency_key=key, reference="deal-42", quote=quote(), **issued),
        s.UpdateDealFinancialStatus(
            idempotency_key=key,
            deal=s.ExternalIds(crm_id="deal-42"),
            order_number="SO-3",
            order_state=s.SalesOrderState.PROCESSING,
            invoice_status=s.InvoiceStatus.PARTIALLY_PAID,
            invoiced=eur("106.58"),
            paid=eur("100.00"),
            outstanding=eur("6.58"),
            as_of=AT,
            target_system="bottlecrm",
            issued_at=AT,
        ),
        s.CreateRenewalDeal(
            idempotency_key=key,
            renewal_key="tryton:subscription:3:2027-11-30",
            account=cust,
            name="Renewal of SUB-3 (2027-11-30)",
            currency="EUR",
            lines=(
                s.SubscriptionLine(
                    item=s.ExternalIds(crm_id="prod-1", erp_id="7"),
                    sku="SUP-1",
                    description="Support",
                    quantity=Decimal("12"),
                    unit_price=eur("19.90"),
                ),
            ),
            amount=eur("238.80"),
            close_date=date(2027, 11, 30),
            original_deal=s.ExternalIds(crm_id="deal-42"),
            subscription=s.ExternalIds(erp_id="3"),
            subscription_number="SUB-3",
            target_system="bottlecrm",
            issued_at=AT,
        ),
        s.UpdateAccountBalance(
            idempotency_key=key,
            account=cust,
            outstanding=eur("6.58"),
            overdue=eur("0.00"),
            as_of=AT,
            target_system="bottlecrm",
            issued_at=AT,
            balances=(
                CurrencyBalance(outstanding=eur("6.58"), overdue=eur("0.00"), credit=eur("30.00")),
            ),
            unapplied_credit=eur("30.00"),
        ),
        crm_invoice(key),
        s.ReportSyncStatus(
            idempotency_key=key,
            entity=s.EntityKind.QUOTE,
            record=s.ExternalIds(crm_id="deal-42"),
            status=s.SyncStatus.REJECTED,
            message="line 2: price 15.00 EUR is below the price book (19.90 EUR)",
            target_system="bottlecrm",
            issued_at=AT,
        ),
        s.CommandResult(
            idempotency_key=key,
            command="upsert_customer",
            target_system="tryton",
            entity=s.EntityKind.CUSTOMER,
            outcome=s.Outcome.CREATED,
            ids=cust,
            completed_at=AT,
        ),
        s.DeadLetter.of(
            payload=b"\xff\xfe not utf-8",
            error=s.DecodeError("not valid JSON"),
            stage="normalize.tryton",
            failed_at=AT,
            origin=s.MessageOrigin(topic="q2c.raw.tryton", partition=3, offset=1234),
        ),
        DealApproval(deal_crm_id="deal-42", approved=True, actor="finance@acme", at=AT),
        RecheckDeal(deal_crm_id="deal-42", at=AT),
        RecheckLedger(customer_erp_id="42", at=AT),
        EraseRecord(
            key="customer:acc-1",
            customer=s.ExternalIds(crm_id="acc-1", erp_id="42"),
            anonymise=[SystemRole.CRM, SystemRole.ERP],
            actor="dpo@acme",
            at=AT,
        ),
        DeadLetterResolution(
            letter_id="0:12", action=LetterAction.RESOLVED, actor="ops@acme", note="fixed", at=AT
        ),
        s.AuditRecord(
            kind=s.AuditKind.OWNERSHIP_CONFLICT,
            entity=s.EntityKind.CUSTOMER,
            record=cust,
            field="name",
            attempted=s.FieldValue(system="tryton", value="ACME"),
            kept=s.FieldValue(system="bottlecrm", value="Acme GmbH"),
            rule="customer.name is owned by the CRM",
            at=AT,
        ),
    ]
