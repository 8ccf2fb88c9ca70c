"""What the CRM is told about money: a customer's invoices, payments and balances, and the
financial status of each deal's order.

The ledger of one customer is folded from the ERP's invoice, credit memo and payment changes;
:func:`account_balance` and :func:`deal_financials` read it. An invoice counts once it is
posted (drafts and cancelled ones do not); the ERP's amount due already reflects payments
and credit notes reconciled against it. An invoice is overdue from the day after its due
date: the overdue balance changes as days pass, without any change in the ERP
(:func:`fell_due_between` tells when).

Money states: an invoice partly paid shows what is paid and what is still due; a customer
who paid more than was due, or whose credit memos credit more than is left to pay, has a
*credit* (:func:`account_credit`, :func:`deal_credit`), never a negative amount due; money
paid back to the customer (a refund: a credit memo paid out) is *refunded*
(:func:`refunded_on`).
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


class LedgerPayment(BaseModel):
    """One payment as the ledger keeps it: what it applied to which invoice, and the rest."""

    model_config = ConfigDict(frozen=True)

    erp_id: str
    currency: str
    amount: Decimal
    received_on: date
    reference: str | None = None
    refund: bool = False
    applied: dict[str, Decimal] = {}
    """Invoice (or credit memo) ERP id → the part of the payment applied to it."""
    unapplied: Decimal = Decimal(0)
    """An overpayment: the part of a receipt applied to no invoice."""


class CustomerLedger(BaseModel):
    model_config = ConfigDict(frozen=True)

    customer: str
    invoices: dict[str, InvoiceSummary] = {}
    last_payment: date | None = None
    paid_total: dict[str, Decimal] = {}
    payments: frozenset[str] = frozenset()
    receipts: dict[str, LedgerPayment] = {}
    """The payments and refunds, by ERP id."""


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
    applied: dict[str, Decimal] = {}
    for application in payment.applications:
        target = application.invoice.erp_id
        if target is not None:
            applied[target] = applied.get(target, Decimal(0)) + application.amount.amount
    entry = LedgerPayment(
        erp_id=erp_id,
        currency=payment.amount.currency,
        amount=payment.amount.amount,
        received_on=payment.received_on,
        reference=payment.reference,
        refund=payment.refund,
        applied=applied,
        unapplied=payment.unapplied.amount if payment.unapplied is not None else Decimal(0),
    )
    receipts = {**ledger.receipts, erp_id: entry}
    if payment.refund:  # money paid out: no receipt, no payment date
        return ledger.model_copy(
            update={"receipts": receipts, "payments": ledger.payments | {erp_id}}
        )
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
        update={
            "last_payment": last,
            "paid_total": paid,
            "payments": ledger.payments | {erp_id},
            "receipts": receipts,
        }
    )


def paid_on(ledger: CustomerLedger, invoice_id: str) -> Decimal | None:
    """What payments applied to the invoice; None when the ERP names no invoice on any
    payment of the customer (then only the invoice's amount due tells)."""
    if not any(p.applied for p in ledger.receipts.values() if not p.refund):
        return None
    return sum(
        (p.applied.get(invoice_id, Decimal(0)) for p in ledger.receipts.values() if not p.refund),
        start=Decimal(0),
    )


def refunded_on(ledger: CustomerLedger, document_id: str) -> Decimal:
    """What was paid back to the customer against an invoice or credit memo."""
    return sum(
        (p.applied.get(document_id, Decimal(0)) for p in ledger.receipts.values() if p.refund),
        start=Decimal(0),
    )


def overpaid_on(ledger: CustomerLedger, invoice_id: str) -> Decimal:
    """What payments of the invoice paid beyond it (a payment's unapplied rest is told on
    the first invoice it paid)."""
    return sum(
        (
            p.unapplied
            for p in ledger.receipts.values()
            if not p.refund and p.applied and min(p.applied) == invoice_id
        ),
        start=Decimal(0),
    )


def memos_of(ledger: CustomerLedger, invoice_id: str) -> list[InvoiceSummary]:
    """The credit memos that correct an invoice, by ERP id."""
    return sorted(
        (s for s in ledger.invoices.values() if s.credit and s.credited_invoice == invoice_id),
        key=lambda s: s.erp_id,
    )


def _unapplied_receipts(ledger: CustomerLedger, currency: str) -> Decimal:
    """Overpayments, less refunds paid out of them (refunds applied to no document)."""
    total = Decimal(0)
    for p in ledger.receipts.values():
        if p.currency != currency:
            continue
        if not p.refund:
            total += p.unapplied
        elif not p.applied:
            total -= p.amount
    return max(total, Decimal(0))


def _net_due(ledger: CustomerLedger, currency: str) -> Decimal:
    """What posted invoices leave to pay less the open credit of credit memos (negative
    when the memos credit more than is due)."""
    return sum(
        (
            i.amount_due
            for i in ledger.invoices.values()
            if i.currency == currency and i.state in _OPEN
        ),
        start=Decimal(0),
    )


def account_credit(ledger: CustomerLedger, currency: str) -> Money:
    """The customer's credit in ``currency``: overpayments not refunded, and the open credit
    of its credit memos beyond what its invoices leave to pay."""
    credit = _unapplied_receipts(ledger, currency) + max(-_net_due(ledger, currency), Decimal(0))
    return Money(amount=credit, currency=currency)


def order_of(summary: InvoiceSummary, ledger: CustomerLedger) -> str | None:
    """The ERP order an invoice bills, or a credit memo corrects (through the invoice it
    credits)."""
    if summary.sales_order is not None or summary.credited_invoice is None:
        return summary.sales_order
    credited = ledger.invoices.get(summary.credited_invoice)
    return credited.sales_order if credited is not None else None


def account_balance(ledger: CustomerLedger, currency: str, today: date) -> tuple[Money, Money]:
    """(outstanding, overdue) of the customer in ``currency``: what its posted invoices
    leave to pay, less the open credit of its credit memos, never below zero (more credit
    is :func:`account_credit`); overdue counts invoices only."""
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
    outstanding = max(outstanding, Decimal(0))
    overdue = min(overdue, outstanding)
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
    refund of an invoice the ERP cancelled counts no more than that invoice. Outstanding is
    never negative (credit beyond it is :func:`deal_credit`); paid is what payments applied
    to the order's invoices, when the ERP says which invoices a payment paid."""
    invoiced = Decimal(0)
    due = Decimal(0)
    applied: Decimal | None = None
    for invoice in _order_documents(order, ledger):
        invoiced += invoice.total
        due += invoice.amount_due
        if not invoice.credit:
            paid = paid_on(ledger, invoice.erp_id)
            if paid is not None:
                applied = (applied or Decimal(0)) + paid
    due = max(due, Decimal(0))
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
        Money(amount=invoiced - due if applied is None else applied, currency=currency),
        Money(amount=due, currency=currency),
    )


def _order_documents(order: SalesOrder, ledger: CustomerLedger) -> list[InvoiceSummary]:
    """The order's posted invoices and credit memos that count (see :func:`deal_financials`)."""
    return [
        invoice
        for invoice in ledger.invoices.values()
        if order_of(invoice, ledger) == order.ids.erp_id
        and invoice.state in _OPEN
        and not _refund_of_cancelled(invoice, ledger)
    ]


def deal_credit(order: SalesOrder, ledger: CustomerLedger) -> tuple[Money, Money]:
    """(credit, refunded) of one order: what its invoices were paid beyond what they ask
    plus its credit memos' open credit beyond what is due; and what was paid back to the
    customer on its invoices and credit memos."""
    documents = _order_documents(order, ledger)
    net_due = sum((d.amount_due for d in documents), start=Decimal(0))
    overpaid = sum(
        (overpaid_on(ledger, d.erp_id) for d in documents if not d.credit), start=Decimal(0)
    )
    refunded = sum((refunded_on(ledger, d.erp_id) for d in documents), start=Decimal(0))
    credit = overpaid + max(-net_due, Decimal(0))
    return Money(amount=credit, currency=order.currency), Money(
        amount=refunded, currency=order.currency
    )
