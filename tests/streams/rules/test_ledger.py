from __future__ import annotations

from datetime import date
from decimal import Decimal

from schemas.entities import (
    CreditMemo,
    ExternalIds,
    Invoice,
    InvoiceState,
    InvoiceStatus,
    Payment,
    SalesOrder,
    SalesOrderState,
)
from streams.rules.ledger import (
    CustomerLedger,
    account_balance,
    apply_invoice,
    apply_payment,
    deal_financials,
    fell_due_between,
    order_of,
)
from tests.streams.factories import T0, eur

CUSTOMER = ExternalIds(erp_id="42")
ORDER = SalesOrder(
    ids=ExternalIds(erp_id="so-1", crm_id="deal-1"),
    number="SO1",
    customer=CUSTOMER,
    currency="EUR",
    state=SalesOrderState.PROCESSING,
    invoice_status=InvoiceStatus.PENDING,
    untaxed=eur("200"),
    tax=eur("0"),
    total=eur("200"),
    updated_at=T0,
)


def invoice(erp_id: str, total: str, due: str, state: InvoiceState, due_date: date) -> Invoice:
    return Invoice(
        ids=ExternalIds(erp_id=erp_id),
        number=f"INV-{erp_id}",
        customer=CUSTOMER,
        sales_order=ExternalIds(erp_id="so-1"),
        currency="EUR",
        state=state,
        due_date=due_date,
        untaxed=eur(total),
        tax=eur("0"),
        total=eur(total),
        amount_due=eur(due),
        updated_at=T0,
    )


def test_balances_and_deal_status_follow_invoices_and_payments() -> None:
    ledger = CustomerLedger(customer="42")
    ledger = apply_invoice(
        ledger, invoice("1", "120", "120", InvoiceState.POSTED, date(2026, 11, 1))
    )
    ledger = apply_invoice(
        ledger, invoice("2", "80", "80", InvoiceState.POSTED, date(2026, 12, 31))
    )
    ledger = apply_invoice(
        ledger, invoice("3", "999", "999", InvoiceState.DRAFT, date(2026, 11, 1))
    )
    outstanding, overdue = account_balance(ledger, "EUR", date(2026, 11, 26))
    assert (outstanding.amount, overdue.amount) == (Decimal(200), Decimal(120))
    status, invoiced, paid, due = deal_financials(ORDER, ledger)
    assert status is InvoiceStatus.AWAITING_PAYMENT
    assert (invoiced.amount, paid.amount, due.amount) == (Decimal(200), Decimal(0), Decimal(200))

    # The first invoice is paid: the ERP reports it with nothing due.
    ledger = apply_invoice(ledger, invoice("1", "120", "0", InvoiceState.PAID, date(2026, 11, 1)))
    payment = Payment(
        ids=ExternalIds(erp_id="p-1"),
        customer=CUSTOMER,
        amount=eur("120"),
        received_on=date(2026, 11, 20),
        updated_at=T0,
    )
    ledger = apply_payment(ledger, payment)
    ledger = apply_payment(ledger, payment)  # a duplicate delivery counts once
    assert ledger.paid_total == {"EUR": Decimal(120)}
    assert ledger.last_payment == date(2026, 11, 20)
    outstanding, overdue = account_balance(ledger, "EUR", date(2026, 11, 26))
    assert (outstanding.amount, overdue.amount) == (Decimal(80), Decimal(0))
    status, _, paid, due = deal_financials(ORDER, ledger)
    assert status is InvoiceStatus.PARTIALLY_PAID
    assert (paid.amount, due.amount) == (Decimal(120), Decimal(80))


def test_credit_memos_are_kept_but_do_not_count_as_due() -> None:
    memo = CreditMemo(
        ids=ExternalIds(erp_id="cm-1"),
        customer=CUSTOMER,
        currency="EUR",
        state=InvoiceState.POSTED,
        untaxed=eur("-20"),
        tax=eur("0"),
        total=eur("-20"),
        updated_at=T0,
    )
    ledger = apply_invoice(CustomerLedger(customer="42"), memo)
    assert ledger.invoices["cm-1"].credit
    assert ledger.invoices["cm-1"].total == Decimal(-20)
    assert account_balance(ledger, "EUR", date(2026, 11, 26))[0].amount == Decimal(0)


def test_a_credit_memo_reduces_what_the_deal_of_the_invoice_it_credits_shows_due() -> None:
    memo = CreditMemo(
        ids=ExternalIds(erp_id="cm-2"),
        number="CN-2",
        customer=CUSTOMER,
        credited_invoice=ExternalIds(erp_id="1"),
        currency="EUR",
        state=InvoiceState.POSTED,
        untaxed=eur("-50"),
        tax=eur("0"),
        total=eur("-50"),
        amount_open=eur("50"),
        updated_at=T0,
    )
    # The memo may arrive before the invoice it credits: linked once both are known.
    ledger = apply_invoice(CustomerLedger(customer="42"), memo)
    assert order_of(ledger.invoices["cm-2"], ledger) is None
    ledger = apply_invoice(
        ledger, invoice("1", "200", "200", InvoiceState.POSTED, date(2026, 12, 31))
    )
    assert order_of(ledger.invoices["cm-2"], ledger) == "so-1"
    status, invoiced, paid, due = deal_financials(ORDER, ledger)
    assert (invoiced.amount, paid.amount, due.amount) == (Decimal(150), Decimal(0), Decimal(150))
    assert status is InvoiceStatus.AWAITING_PAYMENT
    assert account_balance(ledger, "EUR", date(2026, 11, 26))[0].amount == Decimal(150)
    # Set against the invoice in the ERP: the memo has no open credit, the invoice 150 due.
    used = memo.model_copy(update={"amount_open": eur("0")})
    ledger = apply_invoice(
        apply_invoice(ledger, used),
        invoice("1", "200", "150", InvoiceState.POSTED, date(2026, 12, 31)),
    )
    _, invoiced, paid, due = deal_financials(ORDER, ledger)
    assert (invoiced.amount, paid.amount, due.amount) == (Decimal(150), Decimal(0), Decimal(150))
    # The customer pays the rest: paid.
    ledger = apply_invoice(ledger, invoice("1", "200", "0", InvoiceState.PAID, date(2026, 12, 31)))
    status, _, paid, due = deal_financials(ORDER, ledger)
    assert (status, paid.amount, due.amount) == (InvoiceStatus.PAID, Decimal(150), Decimal(0))


def test_a_refund_of_a_cancelled_invoice_counts_no_more_than_the_invoice() -> None:
    ledger = apply_invoice(
        CustomerLedger(customer="42"),
        invoice("1", "200", "0", InvoiceState.CANCELLED, date(2026, 12, 31)),
    )
    refund = CreditMemo(
        ids=ExternalIds(erp_id="cm-3"),
        customer=CUSTOMER,
        credited_invoice=ExternalIds(erp_id="1"),
        currency="EUR",
        state=InvoiceState.PAID,
        untaxed=eur("-200"),
        tax=eur("0"),
        total=eur("-200"),
        amount_open=eur("0"),
        updated_at=T0,
    )
    ledger = apply_invoice(ledger, refund)
    status, invoiced, paid, due = deal_financials(ORDER, ledger)
    assert (invoiced.amount, paid.amount, due.amount) == (Decimal(0), Decimal(0), Decimal(0))
    assert status is ORDER.invoice_status


def test_an_invoice_falls_due_the_day_after_its_due_date() -> None:
    ledger = apply_invoice(
        CustomerLedger(customer="42"),
        invoice("1", "120", "120", InvoiceState.POSTED, date(2026, 12, 10)),
    )
    ledger = apply_invoice(ledger, invoice("2", "30", "0", InvoiceState.PAID, date(2026, 12, 5)))
    assert account_balance(ledger, "EUR", date(2026, 12, 10))[1].amount == 0
    assert account_balance(ledger, "EUR", date(2026, 12, 11))[1].amount == Decimal(120)
    # Computed on the 1st: still true on the 10th, no longer on the 11th.
    assert not fell_due_between(ledger, date(2026, 12, 1), date(2026, 12, 10))
    assert fell_due_between(ledger, date(2026, 12, 1), date(2026, 12, 11))
    # Computed on the 11th: nothing falls due after it.
    assert not fell_due_between(ledger, date(2026, 12, 11), date(2027, 1, 1))
    # A paid invoice (nothing due) falling due changes nothing.
    assert not fell_due_between(ledger, date(2026, 12, 5), date(2026, 12, 6))
