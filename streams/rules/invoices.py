"""What the CRM shows of one ERP invoice as an invoice record: its lines and totals, what
payments paid, what its credit memos credit, what is left due, what was overpaid and what
was refunded, and the state all that makes.

The ERP's amount due is the truth for the invoice alone (it already reflects payments and
the credit notes reconciled against it). A credit memo not yet reconciled still lowers what
the CRM shows due, by its open credit; credit beyond what is due is the customer's credit
(``overpaid``), never a negative amount due. The settlements are what lowered the amount
due, each once: the payments applied to the invoice, then the credit of its memos, up to
the invoice's total.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from schemas.commands import (
    CrmCreditMemo,
    CrmInvoiceLine,
    CrmInvoiceState,
    InvoiceSettlement,
    SettlementKind,
)
from schemas.entities import CreditMemo, ExternalIds, Invoice, InvoiceState
from schemas.types import Money
from streams.rules.ledger import (
    CustomerLedger,
    InvoiceSummary,
    memos_of,
    overpaid_on,
    paid_on,
    refunded_on,
)

_COUNTING = frozenset({InvoiceState.POSTED, InvoiceState.PAID})


def invoice_lines(invoice: Invoice) -> tuple[CrmInvoiceLine, ...]:
    """The invoice's lines, each with its share of the invoice's tax (the canonical
    invoice carries tax per invoice; a line's share follows its net amount)."""
    untaxed = invoice.untaxed.amount
    tax = invoice.tax.amount
    currency = invoice.currency
    lines = []
    for line in invoice.lines:
        share = (tax * line.amount.amount / untaxed).quantize(Decimal("0.01")) if untaxed else 0
        line_tax = Money(amount=Decimal(share), currency=currency)
        lines.append(
            CrmInvoiceLine(
                line_no=line.line_no,
                item=line.item,
                sku=line.sku,
                description=line.description,
                quantity=line.quantity,
                unit_price=line.unit_price,
                tax=line_tax,
                amount=line.amount,
                total=Money(amount=line.amount.amount + line_tax.amount, currency=currency),
            )
        )
    return tuple(lines)


def _memo(
    summary: InvoiceSummary, memo: CreditMemo | None, ledger: CustomerLedger
) -> CrmCreditMemo:
    currency = summary.currency
    return CrmCreditMemo(
        ids=ExternalIds(erp_id=summary.erp_id),
        number=summary.number,
        state=summary.state,
        issue_date=memo.issue_date if memo is not None else None,
        reason=memo.reason if memo is not None else None,
        total=Money(amount=abs(summary.total), currency=currency),
        open=Money(amount=abs(summary.amount_due), currency=currency),
        refunded=Money(amount=refunded_on(ledger, summary.erp_id), currency=currency),
    )


def crm_invoice_state(invoice: Invoice, due: Decimal, paid: Decimal) -> CrmInvoiceState:
    if invoice.state is InvoiceState.CANCELLED:
        return CrmInvoiceState.CANCELLED
    if invoice.state not in _COUNTING:
        return CrmInvoiceState.DRAFT
    if due <= 0:
        return CrmInvoiceState.PAID
    if paid > 0 or due < invoice.total.amount:
        return CrmInvoiceState.PARTIALLY_PAID
    return CrmInvoiceState.POSTED


def _settlements(
    invoice: Invoice, memos: list[CrmCreditMemo], ledger: CustomerLedger
) -> tuple[InvoiceSettlement, ...]:
    currency = invoice.currency
    erp_id = invoice.ids.erp_id or ""
    room = invoice.total.amount
    settled: list[InvoiceSettlement] = []
    receipts = sorted(ledger.receipts.values(), key=lambda p: (p.received_on, p.erp_id))
    for receipt in receipts:
        amount = min(receipt.applied.get(erp_id, Decimal(0)), room)
        if receipt.refund or amount <= 0:
            continue
        room -= amount
        settled.append(
            InvoiceSettlement(
                kind=SettlementKind.PAYMENT,
                ids=ExternalIds(erp_id=receipt.erp_id),
                reference=receipt.reference,
                on=receipt.received_on,
                amount=Money(amount=amount, currency=currency),
            )
        )
    for memo in memos:
        if memo.state not in _COUNTING:
            continue
        amount = min(memo.total.amount - memo.refunded.amount, room)
        if amount <= 0:
            continue
        room -= amount
        settled.append(
            InvoiceSettlement(
                kind=SettlementKind.CREDIT_MEMO,
                ids=memo.ids,
                reference=memo.number,
                on=memo.issue_date,
                amount=Money(amount=amount, currency=currency),
            )
        )
    return tuple(settled)


def invoice_record(
    invoice: Invoice, ledger: CustomerLedger, memo_documents: dict[str, CreditMemo]
) -> dict[str, Any]:
    """The fields of the invoice's ``upsert_crm_invoice`` command that come from the ERP
    (the caller adds the account, the deal and the command's own fields)."""
    erp_id = invoice.ids.erp_id or ""
    currency = invoice.currency
    summaries = memos_of(ledger, erp_id)
    memos = [_memo(s, memo_documents.get(s.erp_id), ledger) for s in summaries]
    counting = [m for m in memos if m.state in _COUNTING]
    credited = sum((m.total.amount for m in counting), start=Decimal(0))
    open_credit = sum((m.open.amount for m in counting), start=Decimal(0))
    if invoice.state in _COUNTING:
        erp_due = invoice.amount_due.amount
        known = paid_on(ledger, erp_id)
        paid = known if known is not None else invoice.total.amount - erp_due
    elif invoice.state is InvoiceState.CANCELLED:
        erp_due, paid = Decimal(0), Decimal(0)
    else:  # a draft asks for its total once posted; nothing is paid yet
        erp_due, paid = invoice.total.amount, Decimal(0)
    due = max(erp_due - open_credit, Decimal(0))
    overpaid = overpaid_on(ledger, erp_id) + max(open_credit - erp_due, Decimal(0))
    if invoice.state not in _COUNTING:
        overpaid = overpaid_on(ledger, erp_id)
    refunded = refunded_on(ledger, erp_id) + sum(
        (m.refunded.amount for m in memos), start=Decimal(0)
    )

    def money(amount: Decimal) -> Money:
        return Money(amount=amount, currency=currency)

    return {
        "invoice": ExternalIds(erp_id=erp_id),
        "number": invoice.number,
        "issue_date": invoice.invoice_date,
        "due_date": invoice.due_date,
        "currency": currency,
        "state": crm_invoice_state(invoice, due, paid),
        "lines": invoice_lines(invoice),
        "untaxed": invoice.untaxed,
        "tax": invoice.tax,
        "total": invoice.total,
        "amount_paid": money(paid),
        "credited": money(credited),
        "amount_due": money(due),
        "overpaid": money(overpaid),
        "refunded": money(refunded),
        "credit_memos": tuple(memos),
        "settlements": _settlements(invoice, memos, ledger) if invoice.state in _COUNTING else (),
    }
