"""The money states of one invoice, its deal and its customer, as the ERP reports them in
sequence: posted, partly paid, credited by a memo, overpaid, and a memo refunded."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from schemas import CreditMemo, ExternalIds, Invoice, Money, Payment, SalesOrder
from schemas.commands import CrmInvoiceState, SettlementKind
from schemas.entities import (
    DocumentLine,
    InvoiceState,
    InvoiceStatus,
    PaymentApplication,
    SalesOrderState,
)
from streams.rules.invoices import crm_invoice_state, invoice_lines, invoice_record
from streams.rules.ledger import (
    CustomerLedger,
    account_balance,
    account_credit,
    apply_invoice,
    apply_payment,
    deal_credit,
    deal_financials,
)

T0 = datetime(2026, 11, 20, tzinfo=UTC)
CUSTOMER = ExternalIds(erp_id="42", crm_id="acc-1")
TODAY = date(2026, 11, 26)


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


ORDER = SalesOrder(
    ids=ExternalIds(erp_id="so-1", crm_id="deal-1"),
    reference="deal-1",
    customer=CUSTOMER,
    currency="USD",
    state=SalesOrderState.PROCESSING,
    untaxed=usd("100"),
    tax=usd("0"),
    total=usd("100"),
    updated_at=T0,
)


def invoice(due: str, state: InvoiceState = InvoiceState.POSTED) -> Invoice:
    return Invoice(
        ids=ExternalIds(erp_id="inv-1"),
        number="INV1",
        customer=CUSTOMER,
        sales_order=ExternalIds(erp_id="so-1"),
        currency="USD",
        state=state,
        invoice_date=date(2026, 11, 20),
        due_date=date(2026, 12, 20),
        untaxed=usd("100"),
        tax=usd("0"),
        total=usd("100"),
        amount_due=usd(due),
        updated_at=T0,
    )


def memo(open_credit: str, state: InvoiceState = InvoiceState.POSTED) -> CreditMemo:
    return CreditMemo(
        ids=ExternalIds(erp_id="cn-1"),
        number="CN1",
        customer=CUSTOMER,
        credited_invoice=ExternalIds(erp_id="inv-1"),
        currency="USD",
        state=state,
        issue_date=date(2026, 11, 22),
        reason="one widget damaged",
        untaxed=usd("20"),
        tax=usd("0"),
        total=usd("20"),
        amount_open=usd(open_credit),
        updated_at=T0,
    )


def receipt(
    erp_id: str,
    applied: str,
    to: str = "inv-1",
    over: str | None = None,
    refund: bool = False,
) -> Payment:
    extra = Decimal(over or "0")
    return Payment(
        ids=ExternalIds(erp_id=erp_id),
        customer=CUSTOMER,
        amount=usd(str(Decimal(applied) + extra)),
        received_on=date(2026, 11, 25),
        reference=f"wire {erp_id}",
        applications=(PaymentApplication(invoice=ExternalIds(erp_id=to), amount=usd(applied)),),
        updated_at=T0,
        refund=refund,
        unapplied=usd(over) if over else None,
    )


def amounts(record: dict[str, object]) -> dict[str, Decimal]:
    names = ("amount_paid", "amount_due", "credited", "overpaid", "refunded")
    values = {name: record[name] for name in names}
    return {name: money.amount for name, money in values.items() if isinstance(money, Money)}


def test_an_invoice_through_partial_payment_credit_memo_overpayment_and_refund() -> None:
    ledger = CustomerLedger(customer="42")
    memos: dict[str, CreditMemo] = {}

    # Posted: nothing paid, all due.
    ledger = apply_invoice(ledger, invoice("100"))
    record = invoice_record(invoice("100"), ledger, memos)
    assert record["state"] is CrmInvoiceState.POSTED
    assert amounts(record) == {
        "amount_paid": 0,
        "amount_due": 100,
        "credited": 0,
        "overpaid": 0,
        "refunded": 0,
    }
    assert deal_financials(ORDER, ledger)[0] is InvoiceStatus.AWAITING_PAYMENT

    # 30 paid: partially paid, 70 due.
    ledger = apply_invoice(apply_payment(ledger, receipt("p-1", "30")), invoice("70"))
    record = invoice_record(invoice("70"), ledger, memos)
    assert record["state"] is CrmInvoiceState.PARTIALLY_PAID
    assert amounts(record)["amount_paid"] == 30
    assert amounts(record)["amount_due"] == 70
    status, invoiced, paid, due = deal_financials(ORDER, ledger)
    assert status is InvoiceStatus.PARTIALLY_PAID
    assert (invoiced.amount, paid.amount, due.amount) == (Decimal(100), Decimal(30), Decimal(70))

    # A credit memo of 20 against it, not yet reconciled: the invoice still asks 70 in the
    # ERP, the CRM shows 50 due, the memo linked, and a settlement for its credit.
    memos["cn-1"] = memo("20")
    ledger = apply_invoice(ledger, memos["cn-1"])
    record = invoice_record(invoice("70"), ledger, memos)
    assert amounts(record) == {
        "amount_paid": 30,
        "amount_due": 50,
        "credited": 20,
        "overpaid": 0,
        "refunded": 0,
    }
    (linked,) = record["credit_memos"]
    assert (linked.number, linked.open.amount, linked.reason) == ("CN1", 20, "one widget damaged")
    kinds = [(s.kind, s.amount.amount) for s in record["settlements"]]
    assert kinds == [(SettlementKind.PAYMENT, 30), (SettlementKind.CREDIT_MEMO, 20)]
    assert deal_financials(ORDER, ledger)[3].amount == 50
    assert account_balance(ledger, "USD", TODAY)[0].amount == 50

    # 100 paid on the 70 due: the invoice is paid, 30 is overpaid; with the memo's open 20
    # the customer has 50 of credit, and nothing is shown as a negative due.
    ledger = apply_invoice(apply_payment(ledger, receipt("p-2", "70", over="30")), invoice("0"))
    record = invoice_record(invoice("0", InvoiceState.PAID), ledger, memos)
    assert record["state"] is CrmInvoiceState.PAID
    assert amounts(record) == {
        "amount_paid": 100,
        "amount_due": 0,
        "credited": 20,
        "overpaid": 50,
        "refunded": 0,
    }
    settled = [(s.kind, s.amount.amount) for s in record["settlements"]]
    assert settled == [(SettlementKind.PAYMENT, 30), (SettlementKind.PAYMENT, 70)]
    status, invoiced, paid, due = deal_financials(ORDER, ledger)
    assert (status, invoiced.amount, paid.amount, due.amount) == (
        InvoiceStatus.PAID,
        Decimal(80),
        Decimal(100),
        Decimal(0),
    )
    assert deal_credit(ORDER, ledger) == (usd("50"), usd("0"))
    assert account_balance(ledger, "USD", TODAY)[0].amount == 0
    assert account_credit(ledger, "USD") == usd("50")

    # The memo's 20 is paid out to the customer: refunded, and the credit is the 30 overpaid.
    ledger = apply_payment(ledger, receipt("r-1", "20", to="cn-1", refund=True))
    memos["cn-1"] = memo("0", InvoiceState.PAID)
    ledger = apply_invoice(ledger, memos["cn-1"])
    record = invoice_record(invoice("0", InvoiceState.PAID), ledger, memos)
    assert amounts(record) == {
        "amount_paid": 100,
        "amount_due": 0,
        "credited": 20,
        "overpaid": 30,
        "refunded": 20,
    }
    (linked,) = record["credit_memos"]
    assert (linked.state, linked.open.amount, linked.refunded.amount) == (InvoiceState.PAID, 0, 20)
    assert deal_credit(ORDER, ledger) == (usd("30"), usd("20"))
    assert account_credit(ledger, "USD") == usd("30")
    # A refund is no receipt: the customer's receipts total what it paid, 130.
    assert ledger.paid_total == {"USD": Decimal(130)}


def test_a_refund_applied_to_nothing_pays_back_an_overpayment() -> None:
    ledger = apply_invoice(CustomerLedger(customer="42"), invoice("0", InvoiceState.PAID))
    ledger = apply_payment(ledger, receipt("p-1", "100", over="25"))
    assert account_credit(ledger, "USD") == usd("25")
    back = Payment(
        ids=ExternalIds(erp_id="r-9"),
        customer=CUSTOMER,
        amount=usd("25"),
        received_on=date(2026, 11, 27),
        updated_at=T0,
        refund=True,
    )
    ledger = apply_payment(ledger, back)
    assert account_credit(ledger, "USD") == usd("0")


def test_states_of_drafts_cancelled_and_erp_without_payment_applications() -> None:
    draft = invoice("0", InvoiceState.DRAFT)
    ledger = apply_invoice(CustomerLedger(customer="42"), draft)
    record = invoice_record(draft, ledger, {})
    assert record["state"] is CrmInvoiceState.DRAFT
    assert amounts(record)["amount_due"] == 100
    assert record["settlements"] == ()

    cancelled = invoice("100", InvoiceState.CANCELLED)
    record = invoice_record(cancelled, apply_invoice(ledger, cancelled), {})
    assert record["state"] is CrmInvoiceState.CANCELLED
    assert amounts(record)["amount_due"] == 0

    # An ERP that names no invoice on its payments: paid is what the amount due says.
    partly = invoice("60")
    ledger = apply_invoice(CustomerLedger(customer="42"), partly)
    unnamed = Payment(
        ids=ExternalIds(erp_id="p-1"),
        customer=CUSTOMER,
        amount=usd("40"),
        received_on=date(2026, 11, 25),
        updated_at=T0,
    )
    ledger = apply_payment(ledger, unnamed)
    record = invoice_record(partly, ledger, {})
    assert amounts(record)["amount_paid"] == 40
    assert record["state"] is CrmInvoiceState.PARTIALLY_PAID
    assert account_credit(ledger, "USD") == usd("0")

    assert crm_invoice_state(invoice("100"), Decimal(0), Decimal(100)) is CrmInvoiceState.PAID


def test_a_line_carries_its_share_of_the_invoice_tax() -> None:
    def line(n: int, amount: str) -> DocumentLine:
        return DocumentLine(
            line_no=n, sku=f"W-{n}", quantity=Decimal(1), unit_price=usd(amount), amount=usd(amount)
        )

    taxed = invoice("110").model_copy(
        update={"tax": usd("10"), "total": usd("110"), "lines": (line(1, "75"), line(2, "25"))}
    )
    assert [(x.sku, x.tax.amount, x.total.amount) for x in invoice_lines(taxed)] == [
        ("W-1", Decimal("7.50"), Decimal("82.50")),
        ("W-2", Decimal("2.50"), Decimal("27.50")),
    ]
