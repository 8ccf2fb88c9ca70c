"""Commands to a target system, and the results sinks publish after applying them.

A command goes to the command topic of its target system, keyed by the target entity. Its
``idempotency_key`` is the same every time the same change asks for the same effect (see
:func:`idempotency_key`), so a sink that sees it twice applies it once. A
:class:`CommandResult` carries the ids the target assigned; the xref table is filled from it.
"""

from __future__ import annotations

import hashlib
from datetime import date
from enum import StrEnum
from typing import ClassVar

from pydantic import Field, model_validator

from schemas.base import Contract
from schemas.changes import SystemRole
from schemas.entities import (
    Contact,
    Customer,
    EntityKind,
    ExternalIds,
    InvoiceState,
    InvoiceStatus,
    Item,
    Quote,
    SalesOrderState,
    Shipment,
    ShipmentStatus,
    Subscription,
    SubscriptionLine,
)
from schemas.types import CurrencyCode, ExactDecimal, Frozen, Money, NonEmptyStr, UtcDateTime

IdempotencyKey = NonEmptyStr


def idempotency_key(*parts: str) -> str:
    """A stable key from the parts that identify an intended effect.

    Typically the command kind, the target system, the entity id and the fingerprint of
    the change that caused it: the same change replayed gives the same key.
    """
    if not parts:
        raise ValueError("an idempotency key needs at least one part")
    joined = "\x1f".join(parts).encode()
    return hashlib.sha256(joined).hexdigest()


_BOTH = frozenset(SystemRole)
_CRM = frozenset({SystemRole.CRM})
_ERP = frozenset({SystemRole.ERP})


class Command(Contract):
    """Fields every command has. Subclasses add the payload, and say which roles it is
    addressed to: every sink of a system in such a role must apply it."""

    addressed_to: ClassVar[frozenset[SystemRole]]

    idempotency_key: IdempotencyKey
    target_system: NonEmptyStr = Field(description="The system that applies the command.")
    issued_at: UtcDateTime
    caused_by: str | None = Field(
        default=None, description="Fingerprint of the change that led to this command."
    )
    source_ts: UtcDateTime | None = Field(
        default=None,
        description="When the source change that led to this command happened (added in "
        "v2 of each command; v3 of the financial updates).",
    )


class UpsertCustomer(Command):
    """Create the customer in the target, or update it if it exists (by natural key)."""

    schema_subject: ClassVar[str] = "upsert_customer"
    addressed_to: ClassVar[frozenset[SystemRole]] = _BOTH
    schema_version: ClassVar[int] = 4

    customer: Customer


class UpsertContact(Command):
    schema_subject: ClassVar[str] = "upsert_contact"
    addressed_to: ClassVar[frozenset[SystemRole]] = _BOTH
    schema_version: ClassVar[int] = 2

    contact: Contact


class UpsertItem(Command):
    schema_subject: ClassVar[str] = "upsert_item"
    addressed_to: ClassVar[frozenset[SystemRole]] = _BOTH
    schema_version: ClassVar[int] = 3

    item: Item


class CreateSalesOrder(Command):
    """Turn a validated quote into a sales order; ``reference`` is the natural key."""

    schema_subject: ClassVar[str] = "create_sales_order"
    addressed_to: ClassVar[frozenset[SystemRole]] = _ERP
    schema_version: ClassVar[int] = 3

    reference: NonEmptyStr = Field(description="The CRM deal id; the sink looks it up first.")
    quote: Quote


class DeleteMode(StrEnum):
    ARCHIVE = "archive"
    """Keep the record, inactive: it can no longer be chosen (sold, billed, contacted)."""
    DELETE = "delete"
    """Remove the record; refused by the target when other records still need it."""
    ANONYMISE = "anonymise"
    """Keep the record, its personal data erased (names replaced, contact details cleared):
    a customer's erasure; refused with the reason by a target that cannot do it."""


class DeleteRecord(Command):
    """The owning system deleted a customer, contact or item: archive or delete it in the
    target, as the delete policy of its entity says; or a customer was erased: anonymise
    it (and its contacts) in the target."""

    schema_subject: ClassVar[str] = "delete_record"
    addressed_to: ClassVar[frozenset[SystemRole]] = _BOTH
    schema_version: ClassVar[int] = 2

    entity: EntityKind
    record: ExternalIds = Field(description="The record's ids; the target's id may be unset.")
    mode: DeleteMode


class InvoiceSummary(Frozen):
    """One invoice or credit memo of a deal, as the CRM shows it."""

    number: str | None = None
    state: InvoiceState
    credit_memo: bool = False
    total: Money
    amount_due: Money
    due_date: date | None = None


class SerialNumber(Frozen):
    """One serialized unit a customer received, as the CRM shows it on the account."""

    serial_number: NonEmptyStr
    item: ExternalIds | None = None
    sku: str | None = None
    deal: str | None = Field(default=None, description="The CRM deal it was sold on.")
    order_number: str | None = None
    shipped_on: date | None = None
    warranty_until: date | None = Field(
        default=None, description="Shipped on + the item's warranty; None without one."
    )


class ReturnedLine(Frozen):
    """What a return gives back of one item (positive quantity and amount)."""

    item: ExternalIds | None = None
    sku: str | None = None
    description: str | None = None
    quantity: ExactDecimal
    amount: Money


class ReturnSummary(Frozen):
    """One return of a deal's order, as the CRM shows it: what came back and what was
    credited for it."""

    number: str | None = None
    state: SalesOrderState
    lines: tuple[ReturnedLine, ...] = ()
    total: Money = Field(description="The return's value (positive), taxes included.")
    credited: Money = Field(description="What its posted or paid credit notes credit.")
    credit_notes: tuple[str, ...] = Field(default=(), description="Their numbers.")


class UpdateDealFinancialStatus(Command):
    """Write the ERP's view of a deal (order, invoicing, payment) back to the CRM."""

    schema_subject: ClassVar[str] = "update_deal_financial_status"
    addressed_to: ClassVar[frozenset[SystemRole]] = _CRM
    schema_version: ClassVar[int] = 6

    deal: ExternalIds
    order_number: str | None = None
    order_state: SalesOrderState | None = None
    invoice_status: InvoiceStatus
    invoiced: Money
    paid: Money
    outstanding: Money
    as_of: UtcDateTime
    invoices: tuple[InvoiceSummary, ...] = Field(
        default=(), description="The deal's invoices and credit memos (added in v2)."
    )
    last_payment_date: date | None = Field(default=None, description="Added in v2.")
    shipment_status: ShipmentStatus | None = Field(
        default=None, description="How far the order has shipped (added in v4)."
    )
    shipments: tuple[Shipment, ...] = Field(
        default=(), description="The order's customer shipments (added in v4)."
    )
    returns: tuple[ReturnSummary, ...] = Field(
        default=(), description="The order's returns and their credit (added in v4)."
    )
    subscriptions: tuple[Subscription, ...] = Field(
        default=(),
        description="Subscriptions sold on the deal, with their renewal dates (added in v4).",
    )
    credit: Money | None = Field(
        default=None,
        description=(
            "What the customer paid above the deal's invoices, or the open credit of its "
            "credit memos beyond what is due: the customer's credit, never a negative "
            "outstanding (added in v5)."
        ),
    )
    refunded: Money | None = Field(
        default=None,
        description="What was paid back to the customer on the deal's invoices (added in v5).",
    )


class CreateRenewalDeal(Command):
    """Open a deal for the renewal of a subscription coming due: on the account, with the
    subscription's lines at their current prices, closing on the renewal date.

    ``renewal_key`` names the renewal (subscription and renewal date): the sink keeps it on
    the deal it creates and looks it up first, so one renewal opens one deal."""

    schema_subject: ClassVar[str] = "create_renewal_deal"
    addressed_to: ClassVar[frozenset[SystemRole]] = _CRM
    schema_version: ClassVar[int] = 1

    renewal_key: NonEmptyStr = Field(description="Subscription id and renewal date.")
    account: ExternalIds
    name: NonEmptyStr
    stage: str | None = Field(
        default=None, description="The new deal's stage; None: the CRM's first open stage."
    )
    currency: CurrencyCode
    lines: tuple[SubscriptionLine, ...]
    amount: Money = Field(description="The sum of the lines.")
    close_date: date = Field(description="The renewal date.")
    original_deal: ExternalIds | None = Field(
        default=None, description="The deal the subscription was sold on."
    )
    subscription: ExternalIds
    subscription_number: str | None = None

    @model_validator(mode="after")
    def _consistent(self) -> CreateRenewalDeal:
        for money in (self.amount, *(line.unit_price for line in self.lines)):
            if money.currency != self.currency:
                raise ValueError(f"the renewal has an amount in {money.currency}")
        return self


class CurrencyBalance(Frozen):
    """A customer's balance in one currency."""

    outstanding: Money
    overdue: Money
    credit: Money | None = Field(
        default=None,
        description="The customer's unapplied credit (overpayments, open credit memos).",
    )

    @model_validator(mode="after")
    def _one_currency(self) -> CurrencyBalance:
        if self.overdue.currency != self.outstanding.currency:
            raise ValueError("outstanding and overdue are in different currencies")
        if self.credit is not None and self.credit.currency != self.outstanding.currency:
            raise ValueError("outstanding and credit are in different currencies")
        return self


class UpdateAccountBalance(Command):
    """Write a customer's outstanding and overdue balance back to the CRM."""

    schema_subject: ClassVar[str] = "update_account_balance"
    addressed_to: ClassVar[frozenset[SystemRole]] = _CRM
    schema_version: ClassVar[int] = 5

    account: ExternalIds
    outstanding: Money
    overdue: Money
    as_of: UtcDateTime
    last_payment_date: date | None = Field(default=None, description="Added in v2.")
    serial_numbers: tuple[SerialNumber, ...] | None = Field(
        default=None,
        description="The serialized units the customer received, with their warranty end "
        "dates; None from an ERP that does not report them (added in v4).",
    )
    balances: tuple[CurrencyBalance, ...] = Field(
        default=(),
        description=(
            "Added in v4: the balance in each currency the customer is invoiced in, by "
            "currency code (outstanding and overdue are those of the first)."
        ),
    )
    unapplied_credit: Money | None = Field(
        default=None,
        description=(
            "Added in v5: the customer's credit in the currency of ``outstanding`` (paid "
            "above its invoices, or credit memos not yet set against any): shown as credit, "
            "never as a negative outstanding."
        ),
    )


class CrmInvoiceState(StrEnum):
    """Where an invoice is, as the CRM shows it."""

    DRAFT = "draft"
    POSTED = "posted"
    """Issued, nothing paid yet."""
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    CANCELLED = "cancelled"


class CrmInvoiceLine(Frozen):
    """One line of an invoice, as the CRM shows it."""

    line_no: int = Field(ge=1)
    item: ExternalIds | None = None
    sku: str | None = None
    description: str | None = None
    quantity: ExactDecimal
    unit_price: Money
    tax: Money = Field(description="The line's tax (its share of the invoice's tax).")
    amount: Money = Field(description="The line's net amount, before tax.")
    total: Money = Field(description="Amount plus tax.")


class CrmCreditMemo(Frozen):
    """A credit memo correcting an invoice, as the CRM shows it beside the invoice."""

    ids: ExternalIds
    number: str | None = None
    state: InvoiceState
    issue_date: date | None = None
    reason: str | None = None
    total: Money = Field(description="What it credits (positive).")
    open: Money = Field(description="Its credit not yet set against an invoice or refunded.")
    refunded: Money = Field(description="What of it was paid back to the customer.")


class SettlementKind(StrEnum):
    PAYMENT = "payment"
    CREDIT_MEMO = "credit_memo"


class InvoiceSettlement(Frozen):
    """One thing that lowered what an invoice leaves to pay: a payment applied to it, or
    the credit of one of its credit memos."""

    kind: SettlementKind
    ids: ExternalIds = Field(description="The payment's or the credit memo's ids.")
    reference: str | None = None
    on: date | None = None
    amount: Money


class UpsertCrmInvoice(Command):
    """Show one ERP invoice in the CRM as an invoice record: number, dates, lines, totals,
    what is paid and due, and its credit memos. Found again by the ERP invoice id."""

    schema_subject: ClassVar[str] = "upsert_crm_invoice"
    addressed_to: ClassVar[frozenset[SystemRole]] = _CRM
    schema_version: ClassVar[int] = 1

    invoice: ExternalIds = Field(description="The invoice's ids; its ERP id is the natural key.")
    number: str | None = None
    account: ExternalIds
    deal: ExternalIds | None = Field(default=None, description="The CRM deal it bills.")
    order_number: str | None = None
    issue_date: date | None = None
    due_date: date | None = None
    currency: CurrencyCode
    state: CrmInvoiceState
    lines: tuple[CrmInvoiceLine, ...] = ()
    untaxed: Money
    tax: Money
    total: Money
    amount_paid: Money = Field(description="Payments applied to it.")
    credited: Money = Field(description="What its credit memos credit.")
    amount_due: Money = Field(
        description="What is left to pay, less its credit memos' open credit; never negative."
    )
    overpaid: Money = Field(description="Paid above the invoice: the customer's credit.")
    refunded: Money = Field(description="Paid back to the customer on it or its memos.")
    credit_memos: tuple[CrmCreditMemo, ...] = ()
    settlements: tuple[InvoiceSettlement, ...] = ()
    as_of: UtcDateTime

    @model_validator(mode="after")
    def _consistent(self) -> UpsertCrmInvoice:
        amounts = [
            self.untaxed,
            self.tax,
            self.total,
            self.amount_paid,
            self.credited,
            self.amount_due,
            self.overpaid,
            self.refunded,
        ]
        amounts += [s.amount for s in self.settlements]
        for line in self.lines:
            amounts += [line.unit_price, line.tax, line.amount, line.total]
        for memo in self.credit_memos:
            amounts += [memo.total, memo.open, memo.refunded]
        for money in amounts:
            if money.currency != self.currency:
                raise ValueError(f"an amount is in {money.currency}, not {self.currency}")
        if self.amount_due.amount < 0:
            raise ValueError("the amount due is never negative (credit is shown as credit)")
        return self


class SyncStatus(StrEnum):
    SYNCED = "synced"
    PENDING_APPROVAL = "pending_approval"
    WAITING = "waiting"
    REJECTED = "rejected"


class ReportSyncStatus(Command):
    """Show a record's sync status in the CRM, with a readable message when it is held."""

    schema_subject: ClassVar[str] = "report_sync_status"
    addressed_to: ClassVar[frozenset[SystemRole]] = _CRM
    schema_version: ClassVar[int] = 2

    entity: EntityKind
    record: ExternalIds
    status: SyncStatus
    message: str = ""


class Outcome(StrEnum):
    CREATED = "created"
    UPDATED = "updated"
    UNCHANGED = "unchanged"
    FAILED = "failed"


class CommandResult(Contract):
    """What a sink did with one command, and the ids the target system now uses."""

    schema_subject: ClassVar[str] = "command_result"
    schema_version: ClassVar[int] = 2

    idempotency_key: IdempotencyKey
    command: NonEmptyStr = Field(description="Subject of the command, e.g. 'upsert_customer'.")
    target_system: NonEmptyStr
    entity: EntityKind
    outcome: Outcome
    ids: ExternalIds | None = Field(
        default=None, description="The entity's ids after the command (None when it failed)."
    )
    message: str = ""
    completed_at: UtcDateTime
    source_ts: UtcDateTime | None = Field(
        default=None,
        description="The command's source_ts: when the change that led to it happened (v2).",
    )
