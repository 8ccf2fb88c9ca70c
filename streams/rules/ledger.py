"""What the CRM is told about money: a customer's invoices, payments and balances, and the
financial status of each deal's order.

The ledger of one customer is folded from the ERP's invoice, credit memo and payment changes;
:func:`account_balance` and :func:`deal_financials` read it. An invoice counts once it is
posted (drafts and cancelled ones do not); the ERP's amount due already reflects payments
and credit notes reconciled against it. An invoice is overdue from the day after its due
date: the overdue balance changes as days pass, without any change in the ERP
(:func:`fell_due_between` tells when).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from schemas.entities import (
    CreditMemo,
    Invoice,
    InvoiceState,
    InvoiceStatus,
    Payment,
    SalesOrder,
)
from schemas.types import Money

_OPEN = frozenset({InvoiceState.POSTED, InvoiceState.PAID})


class InvoiceSummary(BaseModel):
    model_config = ConfigDict(frozen=True)

    erp_id: str
    number: str | None
    state: InvoiceState
    currency: str
    total: Decimal
    amount_due: Decimal
    due_date: date | None
    sales_order: str | None
    credit: bool = False
    credited_invoice: str | None = None
    """The invoice a credit memo corrects (its order is the memo's order)."""


class CustomerLedger(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer: str
    invoices: dict[str, InvoiceSummary] = {}
    last_payment: date | None = None
    paid_total: dict[str, Decimal] = {}
    payments: frozenset[str] = frozenset()


def apply_invoice(ledger: CustomerLedger, invoice: Invoice | CreditMemo) -> CustomerLedger:
    erp_id = invoice.ids.erp_id
    if erp_id is None:
        return ledger
    if isinstance(invoice, CreditMemo):
        open_credit = invoice.amount_open.amount if invoice.amount_open is not None else 0
        summary = InvoiceSummary(
            erp_id=erp_id,
            number=invoice.number,
            state=invoice.state,
            currency=invoice.currency,
            total=-abs(invoice.total.amount),
            amount_due=-abs(Decimal(open_credit)),
            due_date=None,
            sales_order=invoice.sales_order.erp_id if invoice.sales_order else None,
            credit=True,
            credited_invoice=invoice.credited_invoice.erp_id if invoice.credited_invoice else None,
        )
    else:
        summary = InvoiceSummary(
            erp_id=erp_id,
            number=invoice.number,
            state=invoice.state,
            currency=invoice.currency,
            total=invoice.total.amount,
            amount_due=invoice.amount_due.amount,
            due_date=invoice.due_date,
            sales_order=invoice.sales_order.erp_id if invoice.sales_order else None,
        )
    return ledger.model_copy(update={"invoices": {**ledger.invoices, erp_id: summary}})


def apply_payment(ledger: CustomerLedger, payment: Payment) -> CustomerLedger:
    erp_id = payment.ids.erp_id or payment.ids.crm_id or ""
    if erp_id in ledger.payments:
        return ledger
    paid = dict(ledger.paid_total)
    paid[payment.amount.currency] = (
        paid.get(payment.amount.currency, Decimal(0)) + payment.amount.amount
    )
    last = (
        payment.received_on
        if ledger.last_payment is None
        else max(ledger.last_payment, payment.received_on)
    )
    return ledger.model_copy(
        update={"last_payment": last, "paid_total": paid, "payments": ledger.payments | {erp_id}}
    )


def order_of(summary: InvoiceSummary, ledger: CustomerLedger) -> str | None:
    """The ERP order an invoice bills, or a credit memo corrects (through the invoice it
    credits)."""
    if summary.sales_order is not None or summary.credited_invoice is None:
        return summary.sales_order
    credited = ledger.invoices.get(summary.credited_invoice)
    return credited.sales_order if credited is not None else None


def account_balance(ledger: CustomerLedger, currency: str, today: date) -> tuple[Money, Money]:
    """(outstanding, overdue) of the customer in ``currency``: what its posted invoices
    leave to pay, less the open credit of its credit memos; overdue counts invoices only."""
    outstanding = Decimal(0)
    overdue = Decimal(0)
    for invoice in ledger.invoices.values():
        if invoice.currency != currency or invoice.state not in _OPEN:
            continue
        outstanding += invoice.amount_due
        if invoice.credit:
            continue
        if invoice.due_date is not None and invoice.due_date < today:
            overdue += invoice.amount_due
    return Money(amount=outstanding, currency=currency), Money(amount=overdue, currency=currency)


def fell_due_between(ledger: CustomerLedger, since: date, today: date) -> bool:
    """Whether an open invoice with an amount due fell due after the overdue balance was
    computed on ``since`` and before ``today``: the overdue balance of ``today`` differs."""
    return any(
        invoice.state in _OPEN
        and not invoice.credit
        and invoice.amount_due != 0
        and invoice.due_date is not None
        and since <= invoice.due_date < today
        for invoice in ledger.invoices.values()
    )


def currencies(ledger: CustomerLedger) -> list[str]:
    """The currencies of the customer's posted invoices and credit memos, sorted."""
    return sorted({i.currency for i in ledger.invoices.values() if i.state in _OPEN})


def primary_currency(ledger: CustomerLedger) -> str | None:
    currencies = sorted({i.currency for i in ledger.invoices.values() if i.state in _OPEN})
    return currencies[0] if currencies else None


def _refund_of_cancelled(summary: InvoiceSummary, ledger: CustomerLedger) -> bool:
    """A credit memo that refunded its invoice whole: the ERP cancelled that invoice, so
    neither counts."""
    if not summary.credit or summary.credited_invoice is None:
        return False
    credited = ledger.invoices.get(summary.credited_invoice)
    return credited is not None and credited.state is InvoiceState.CANCELLED


def deal_financials(
    order: SalesOrder, ledger: CustomerLedger
) -> tuple[InvoiceStatus, Money, Money, Money]:
    """(invoice status, invoiced, paid, outstanding) of one order. Its credit memos count
    against it: what they credit is not invoiced, and their open credit is not due; a
    refund of an invoice the ERP cancelled counts no more than that invoice."""
    invoiced = Decimal(0)
    due = Decimal(0)
    for invoice in ledger.invoices.values():
        if order_of(invoice, ledger) != order.ids.erp_id or invoice.state not in _OPEN:
            continue
        if _refund_of_cancelled(invoice, ledger):
            continue
        invoiced += invoice.total
        due += invoice.amount_due
    status = order.invoice_status
    if invoiced > 0 and due == 0:
        status = InvoiceStatus.PAID
    elif invoiced > 0 and due < invoiced and status is not InvoiceStatus.PAID:
        status = InvoiceStatus.PARTIALLY_PAID
    elif invoiced > 0 and status in (InvoiceStatus.NONE, InvoiceStatus.PENDING):
        status = InvoiceStatus.AWAITING_PAYMENT
    currency = order.currency
    return (
        status,
        Money(amount=invoiced, currency=currency),
        Money(amount=invoiced - due, currency=currency),
        Money(amount=due, currency=currency),
    )
