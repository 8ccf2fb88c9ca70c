"""Commands addressed to Salesforce, as the stream processors send them, for the tests."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from schemas import (
    Contact,
    CreateRenewalDeal,
    Customer,
    EntityKind,
    ExternalIds,
    InvoiceState,
    InvoiceStatus,
    Item,
    Money,
    PriceBookPrice,
    ReportSyncStatus,
    SalesOrderState,
    SubscriptionLine,
    SyncStatus,
    UpdateAccountBalance,
    UpdateDealFinancialStatus,
    UpsertContact,
    UpsertCustomer,
    UpsertItem,
    idempotency_key,
)
from schemas.commands import InvoiceSummary

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
TARGET = "salesforce"


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def financial_status(deal_id: str, outstanding: str = "300.00") -> UpdateDealFinancialStatus:
    return UpdateDealFinancialStatus(
        idempotency_key=idempotency_key("deal-status", deal_id, outstanding),
        target_system=TARGET,
        issued_at=NOW,
        deal=ExternalIds(crm_id=deal_id, erp_id="SO-0042"),
        order_number="SO-0042",
        order_state=SalesOrderState.PROCESSING,
        invoice_status=InvoiceStatus.PARTIALLY_PAID,
        invoiced=usd("1000.00"),
        paid=usd("700.00"),
        outstanding=usd(outstanding),
        as_of=NOW,
        invoices=(
            InvoiceSummary(
                number="INV-1",
                state=InvoiceState.POSTED,
                total=usd("1000.00"),
                amount_due=usd(outstanding),
            ),
        ),
        last_payment_date=date(2026, 11, 28),
    )


def account_balance(account_id: str, erp_id: str = "C-0009") -> UpdateAccountBalance:
    return UpdateAccountBalance(
        idempotency_key=idempotency_key("balance", account_id),
        target_system=TARGET,
        issued_at=NOW,
        account=ExternalIds(crm_id=account_id, erp_id=erp_id),
        outstanding=usd("450.25"),
        overdue=usd("120.00"),
        as_of=NOW,
        last_payment_date=date(2026, 11, 2),
    )


def sync_status(deal_id: str, status: SyncStatus, message: str) -> ReportSyncStatus:
    return ReportSyncStatus(
        idempotency_key=idempotency_key("sync", deal_id, status, message),
        target_system=TARGET,
        issued_at=NOW,
        entity=EntityKind.QUOTE,
        record=ExternalIds(crm_id=deal_id),
        status=status,
        message=message,
    )


def upsert_item(sku: str, price: str, name: str = "Widget") -> UpsertItem:
    return UpsertItem(
        idempotency_key=idempotency_key("item", sku, price, name),
        target_system=TARGET,
        issued_at=NOW,
        item=Item(
            ids=ExternalIds(erp_id=f"product-{sku}"),
            sku=sku,
            name=name,
            prices=(PriceBookPrice(unit_price=usd(price)),),
            updated_at=NOW,
        ),
    )


def upsert_customer(customer: Customer) -> UpsertCustomer:
    return UpsertCustomer(
        idempotency_key=idempotency_key("customer", customer.model_dump_json()),
        target_system=TARGET,
        issued_at=NOW,
        customer=customer,
    )


def upsert_contact(person: Contact) -> UpsertContact:
    return UpsertContact(
        idempotency_key=idempotency_key("contact", person.model_dump_json()),
        target_system=TARGET,
        issued_at=NOW,
        contact=person,
    )


def renewal_deal(account: str, sku: str, renewal: date, target: str = TARGET) -> CreateRenewalDeal:
    """A renewal deal on ``account`` for 12 of ``sku`` at 22.00, closing on ``renewal``."""
    key = f"tryton:subscription:3:{renewal.isoformat()}"
    return CreateRenewalDeal(
        idempotency_key=idempotency_key("create_renewal_deal", key),
        target_system=target,
        issued_at=NOW,
        renewal_key=key,
        account=ExternalIds(crm_id=account, erp_id="42"),
        name=f"Renewal of SUB3 ({renewal.isoformat()})",
        currency="USD",
        lines=(
            SubscriptionLine(
                item=ExternalIds(erp_id=f"product-{sku}"),
                sku=sku,
                quantity=Decimal(12),
                unit_price=usd("22.00"),
            ),
        ),
        amount=usd("264.00"),
        close_date=renewal,
        original_deal=ExternalIds(crm_id="006000000000001"),
        subscription=ExternalIds(erp_id="3"),
        subscription_number="SUB3",
    )
