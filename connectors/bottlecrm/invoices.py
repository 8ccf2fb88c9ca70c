"""ERP invoices as BottleCRM invoice records.

An ERP invoice becomes one BottleCRM invoice on the account, linked to the deal, with the
ERP's lines; its ERP id is kept in the ``erp_invoice_id`` custom field, which is how it is
found again (so a replay or a restart updates it, never duplicates it). BottleCRM wants a
contact on every invoice: the account's oldest contact, or else a billing contact made from
the account's own e-mail address (the account carries the ERP party's).

BottleCRM derives an invoice's paid and due amounts and its status from the payments
recorded on it, and refuses a payment above what is due. So q2c records one BottleCRM
payment per ERP settlement (a payment applied to the invoice, or the credit of a credit
memo correcting it), each marked in its notes with the ERP record it stands for, and adds
or removes payments until they match; what BottleCRM cannot hold (an overpayment, a
refund, the credit memos themselves: BottleCRM has no credit note) is written in the
invoice's ``erp_*`` custom fields. Once issued, BottleCRM fixes an invoice's lines and
amounts, as the ERP does once it is posted: lines are written while both are drafts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from schemas.commands import (
    CrmInvoiceLine,
    CrmInvoiceState,
    InvoiceSettlement,
    SettlementKind,
    UpsertCrmInvoice,
)

CENT = Decimal("0.01")
KEY_FIELD = "erp_invoice_id"
_NOTE_PREFIX = "q2c erp "


def _cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def invoice_title(command: UpsertCrmInvoice) -> str:
    if command.number:
        return f"Invoice {command.number}"[:100]
    return f"Draft invoice (ERP {command.invoice.erp_id})"[:100]


def _rate(tax: Decimal, base: Decimal) -> Decimal:
    """A tax percentage BottleCRM accepts (0 to 100, two decimals)."""
    if base <= 0 or tax <= 0:
        return Decimal(0)
    return min(_cents(tax * 100 / base), Decimal(100))


def line_item(line: CrmInvoiceLine) -> dict[str, Any]:
    """One ERP invoice line as a BottleCRM line item; a line discount the ERP applied is a
    fixed discount, so the line's net amount is the ERP's."""
    quantity = _cents(line.quantity)
    unit_price = _cents(line.unit_price.amount)
    name = line.sku or line.description or f"Line {line.line_no}"
    item: dict[str, Any] = {
        "name": name[:255],
        "description": (line.description or "")[:500],
        "quantity": quantity,
        "unit_price": unit_price,
        "tax_rate": _rate(line.tax.amount, line.amount.amount),
        "order": line.line_no,
    }
    discount = _cents(quantity * unit_price - line.amount.amount)
    if discount > 0:
        item |= {"discount_type": "FIXED", "discount_value": discount}
    return item


def invoice_body(
    command: UpsertCrmInvoice, account: str, contact: str, with_lines: bool
) -> dict[str, Any]:
    """The invoice's own fields (and, while it is a draft, its lines)."""
    body: dict[str, Any] = {
        "invoice_title": invoice_title(command),
        "account_id": account,
        "contact_id": contact,
        "currency": command.currency,
    }
    if command.deal is not None and command.deal.crm_id:
        body["opportunity_id"] = command.deal.crm_id
    if command.issue_date:
        body["issue_date"] = command.issue_date
    if command.due_date:
        body["due_date"] = command.due_date
    if with_lines:
        body["tax_rate"] = _rate(command.tax.amount, command.untaxed.amount)
        body["line_items"] = [line_item(line) for line in command.lines]
    return body


def credit_memo_lines(command: UpsertCrmInvoice) -> str | None:
    """One line per credit memo for people, e.g. ``CN-1 posted 2026-12-02: 20.00 credited,
    20.00 open, 0.00 refunded (damaged)``."""
    lines = []
    for memo in command.credit_memos:
        text = f"{memo.number or '(unnumbered)'} {memo.state.value}"
        if memo.issue_date:
            text += f" {memo.issue_date.isoformat()}"
        text += (
            f": {_cents(memo.total.amount)} credited, {_cents(memo.open.amount)} open, "
            f"{_cents(memo.refunded.amount)} refunded"
        )
        if memo.reason:
            text += f" ({memo.reason})"
        lines.append(text)
    return "\n".join(lines) or None


def custom_values(command: UpsertCrmInvoice) -> dict[str, Any]:
    return {
        KEY_FIELD: command.invoice.erp_id,
        "erp_invoice_number": command.number,
        "erp_invoice_state": command.state.value,
        "erp_total": command.total.amount,
        "erp_amount_paid": command.amount_paid.amount,
        "erp_amount_due": command.amount_due.amount,
        "erp_credited_total": command.credited.amount,
        "erp_overpaid": command.overpaid.amount,
        "erp_refunded": command.refunded.amount,
        "erp_credit_memos": credit_memo_lines(command),
    }


def settlement_note(settlement: InvoiceSettlement) -> str:
    """How a BottleCRM payment names the ERP record it stands for."""
    kind = "credit memo" if settlement.kind is SettlementKind.CREDIT_MEMO else "payment"
    return f"{_NOTE_PREFIX}{kind} {settlement.ids.erp_id}"


def wanted_payments(command: UpsertCrmInvoice) -> dict[str, dict[str, Any]]:
    """The BottleCRM payments the invoice should carry, by their note."""
    if command.state in (CrmInvoiceState.DRAFT, CrmInvoiceState.CANCELLED):
        return {}
    wanted: dict[str, dict[str, Any]] = {}
    for settlement in command.settlements:
        note = settlement_note(settlement)
        amount = _cents(settlement.amount.amount)
        if amount <= 0:
            continue
        credit = settlement.kind is SettlementKind.CREDIT_MEMO
        wanted[note] = {
            "amount": amount,
            "payment_date": settlement.on or command.issue_date or command.as_of.date(),
            "payment_method": "OTHER" if credit else "BANK_TRANSFER",
            "reference_number": (settlement.reference or "")[:100],
            "notes": note,
        }
    return wanted


def payment_changes(
    wanted: Mapping[str, Mapping[str, Any]], stored: Sequence[Mapping[str, Any]]
) -> tuple[list[str], list[Mapping[str, Any]]]:
    """(BottleCRM payment ids to delete, payments to add) so that the invoice carries the
    wanted ones: q2c's own payments that no longer match are removed; payments someone
    recorded in BottleCRM by hand are left alone."""
    delete: list[str] = []
    kept: set[str] = set()
    for payment in stored:
        note = str(payment.get("notes") or "")
        if not note.startswith(_NOTE_PREFIX):
            continue
        want = wanted.get(note)
        same = want is not None and Decimal(str(payment.get("amount"))) == want["amount"]
        if same and note not in kept:
            kept.add(note)
        else:
            delete.append(str(payment["id"]))
    add = [payment for note, payment in wanted.items() if note not in kept]
    return delete, add
