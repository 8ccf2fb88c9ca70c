"""The quote-to-cash documents: quote, sales order, invoice, credit memo (each with lines)
and payment (applied to invoices).

Every amount in a document is in the document's currency; the validators refuse a document
that mixes currencies, so rules downstream can add amounts without checking.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import Field, model_validator

from schemas.base import Contract
from schemas.entities.identity import ExternalIds
from schemas.types import CurrencyCode, ExactDecimal, Frozen, Money, NonEmptyStr, UtcDateTime


class DocumentLine(Frozen):
    """One line of a quote, order, invoice or credit memo."""

    line_no: int = Field(ge=1)
    item: ExternalIds | None = Field(default=None, description="None for a free-text line.")
    sku: str | None = None
    description: str | None = None
    quantity: ExactDecimal
    unit_price: Money
    discount_percent: ExactDecimal = Field(default=Decimal(0), ge=0, le=100)
    amount: Money = Field(description="Net amount of the line, after discount, before tax.")


def _check_currency(currency: str, amounts: Iterable[Money | None], what: str) -> None:
    for money in amounts:
        if money is not None and money.currency != currency:
            raise ValueError(f"{what} has an amount in {money.currency}, not {currency}")


def _check_lines(currency: str, lines: tuple[DocumentLine, ...]) -> None:
    numbers = [line.line_no for line in lines]
    if len(set(numbers)) != len(numbers):
        raise ValueError("line numbers must be unique")
    for line in lines:
        _check_currency(currency, (line.unit_price, line.amount), f"line {line.line_no}")


class QuoteStatus(StrEnum):
    DRAFT = "draft"
    SENT = "sent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"


class Quote(Contract):
    """A quote (a CRM deal with line items, or an ERP quotation)."""

    schema_subject: ClassVar[str] = "quote"
    schema_version: ClassVar[int] = 2

    ids: ExternalIds
    number: str | None = None
    customer: ExternalIds
    currency: CurrencyCode
    status: QuoteStatus = QuoteStatus.DRAFT
    stage: str | None = Field(default=None, description="The CRM pipeline stage, verbatim.")
    valid_until: date | None = None
    lines: tuple[DocumentLine, ...] = ()
    total: Money
    updated_at: UtcDateTime
    attributes: dict[str, str] = Field(
        default_factory=dict,
        description=(
            "Other attributes of the CRM deal (its type, lead source, probability, ...), as "
            "text: what the order trigger's deal.NAME conditions read."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> Quote:
        _check_currency(self.currency, (self.total,), "quote")
        _check_lines(self.currency, self.lines)
        return self


class SalesOrderState(StrEnum):
    DRAFT = "draft"
    QUOTATION = "quotation"
    CONFIRMED = "confirmed"
    PROCESSING = "processing"
    DONE = "done"
    CANCELLED = "cancelled"


class InvoiceStatus(StrEnum):
    """How far an order has been invoiced and paid."""

    NONE = "none"
    PENDING = "pending"
    AWAITING_PAYMENT = "awaiting_payment"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"


class ShipmentStatus(StrEnum):
    """How far an order has been shipped (Tryton's sale ``shipment_state``)."""

    NONE = "none"
    WAITING = "waiting"
    PARTIALLY_SHIPPED = "partially_shipped"
    SENT = "sent"
    EXCEPTION = "exception"
    """A shipment move was cancelled: someone in the ERP must decide what happens."""


class ShipmentState(StrEnum):
    """Where one customer shipment is in the warehouse's workflow."""

    DRAFT = "draft"
    WAITING = "waiting"
    ASSIGNED = "assigned"
    PICKED = "picked"
    PACKED = "packed"
    SHIPPED = "shipped"
    DONE = "done"
    CANCELLED = "cancelled"


class ShipmentLine(Frozen):
    """What one shipment carries of an order's item (of a serialized item, one line per
    serial number)."""

    item: ExternalIds | None = None
    sku: str | None = None
    quantity: ExactDecimal
    serial_number: str | None = Field(
        default=None, description="The serial (lot) number of what is carried, if any."
    )
    warranty_months: int | None = Field(
        default=None, ge=0, description="The item's warranty duration, as the ERP has it."
    )


class Shipment(Frozen):
    """One customer shipment of an order; an order shipped in parts has several (the later
    ones are the back-orders of what was not in the earlier ones)."""

    ids: ExternalIds
    number: str | None = None
    reference: str | None = Field(
        default=None, description="The carrier's tracking reference, when the ERP has one."
    )
    state: ShipmentState
    planned_date: date | None = None
    effective_date: date | None = Field(default=None, description="When it left (done).")
    lines: tuple[ShipmentLine, ...] = ()


class SubscriptionState(StrEnum):
    DRAFT = "draft"
    QUOTATION = "quotation"
    RUNNING = "running"
    CLOSED = "closed"
    CANCELLED = "cancelled"


class SubscriptionLine(Frozen):
    """What a subscription bills for: an item, how many, at what price each period."""

    item: ExternalIds | None = None
    sku: str | None = None
    description: str | None = None
    quantity: ExactDecimal
    unit_price: Money


class Subscription(Frozen):
    """A subscription sold on the same deal as an order (the ERP keeps the deal id as its
    reference too): when it runs, and so when it comes up for renewal."""

    ids: ExternalIds
    number: str | None = None
    state: SubscriptionState
    start_date: date | None = None
    end_date: date | None = Field(default=None, description="Its renewal date; None: open.")
    next_invoice_date: date | None = None
    lines: tuple[SubscriptionLine, ...] = Field(
        default=(),
        description="What it bills for, at its current prices (added in sales_order v3).",
    )


class SalesOrder(Contract):
    """A sales order in the ERP."""

    schema_subject: ClassVar[str] = "sales_order"
    schema_version: ClassVar[int] = 3

    ids: ExternalIds
    number: str | None = None
    reference: str | None = Field(default=None, description="The CRM deal id, as natural key.")
    customer: ExternalIds
    quote: ExternalIds | None = None
    currency: CurrencyCode
    state: SalesOrderState
    invoice_status: InvoiceStatus = InvoiceStatus.NONE
    order_date: date | None = None
    lines: tuple[DocumentLine, ...] = ()
    untaxed: Money
    tax: Money
    total: Money
    updated_at: UtcDateTime
    shipment_status: ShipmentStatus = Field(default=ShipmentStatus.NONE, description="Added in v2.")
    shipments: tuple[Shipment, ...] = Field(
        default=(), description="The order's customer shipments, oldest first (added in v2)."
    )
    subscriptions: tuple[Subscription, ...] = Field(
        default=(), description="Subscriptions sold on the same deal (added in v2)."
    )
    return_of: ExternalIds | None = Field(
        default=None,
        description="For a return (its lines' quantities negative): the order it returns "
        "goods or services of (added in v2).",
    )

    @model_validator(mode="after")
    def _consistent(self) -> SalesOrder:
        _check_currency(self.currency, (self.untaxed, self.tax, self.total), "sales order")
        _check_lines(self.currency, self.lines)
        return self


class InvoiceState(StrEnum):
    DRAFT = "draft"
    VALIDATED = "validated"
    POSTED = "posted"
    PAID = "paid"
    CANCELLED = "cancelled"


class Invoice(Contract):
    """A customer invoice."""

    schema_subject: ClassVar[str] = "invoice"
    schema_version: ClassVar[int] = 1

    ids: ExternalIds
    number: str | None = None
    customer: ExternalIds
    sales_order: ExternalIds | None = None
    currency: CurrencyCode
    state: InvoiceState
    invoice_date: date | None = None
    due_date: date | None = None
    lines: tuple[DocumentLine, ...] = ()
    untaxed: Money
    tax: Money
    total: Money
    amount_due: Money = Field(description="What is still to be paid.")
    updated_at: UtcDateTime

    @model_validator(mode="after")
    def _consistent(self) -> Invoice:
        amounts = (self.untaxed, self.tax, self.total, self.amount_due)
        _check_currency(self.currency, amounts, "invoice")
        _check_lines(self.currency, self.lines)
        return self


class CreditMemo(Contract):
    """A credit note against a customer, usually crediting one invoice."""

    schema_subject: ClassVar[str] = "credit_memo"
    schema_version: ClassVar[int] = 2

    ids: ExternalIds
    number: str | None = None
    customer: ExternalIds
    credited_invoice: ExternalIds | None = None
    sales_order: ExternalIds | None = Field(
        default=None, description="The (return) order it was made from (added in v2)."
    )
    currency: CurrencyCode
    state: InvoiceState
    issue_date: date | None = None
    reason: str | None = None
    lines: tuple[DocumentLine, ...] = ()
    untaxed: Money
    tax: Money
    total: Money
    updated_at: UtcDateTime
    amount_open: Money | None = Field(
        default=None,
        description=(
            "The credit not yet set against invoices or refunded (0 once it is); None: the "
            "ERP does not say."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> CreditMemo:
        amounts = (self.untaxed, self.tax, self.total, self.amount_open)
        _check_currency(self.currency, amounts, "credit memo")
        _check_lines(self.currency, self.lines)
        return self


class PaymentApplication(Frozen):
    """The part of a payment applied to one invoice."""

    invoice: ExternalIds
    amount: Money


class Payment(Contract):
    """A customer payment and the invoices it settles; or, with ``refund``, money paid back
    to the customer (its applications name the credit memos or invoices it refunds)."""

    schema_subject: ClassVar[str] = "payment"
    schema_version: ClassVar[int] = 2

    ids: ExternalIds
    customer: ExternalIds
    amount: Money
    received_on: date
    method: str | None = None
    reference: NonEmptyStr | None = None
    applications: tuple[PaymentApplication, ...] = ()
    updated_at: UtcDateTime
    refund: bool = Field(
        default=False,
        description="Money paid to the customer, not received from it (added in v2).",
    )
    unapplied: Money | None = Field(
        default=None,
        description=(
            "The part of a receipt applied to no invoice: an overpayment, kept as the "
            "customer's credit. None: the ERP does not say (added in v2)."
        ),
    )

    @model_validator(mode="after")
    def _consistent(self) -> Payment:
        currency = self.amount.currency
        _check_currency(currency, (a.amount for a in self.applications), "payment")
        _check_currency(currency, (self.unapplied,), "payment")
        applied = sum((a.amount.amount for a in self.applications), start=Decimal(0))
        if self.unapplied is not None:
            applied += self.unapplied.amount
        if applied > self.amount.amount:
            raise ValueError(f"applications total {applied}, more than the payment")
        return self
