"""A deal's returns: the return orders of its order, what came back, what was credited."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from schemas import (
    CreditMemo,
    DocumentLine,
    ExternalIds,
    InvoiceState,
    SalesOrder,
    SalesOrderState,
)
from streams.rules.ledger import CustomerLedger, apply_invoice
from streams.rules.returns import originals, returns_of
from tests.streams.factories import T0, eur

CUSTOMER = ExternalIds(crm_id="acc-1", erp_id="42")


def sale(erp_id: str, quantity: str, return_of: str | None = None, **kw: object) -> SalesOrder:
    amount = eur(str(Decimal(quantity) * 100))
    return SalesOrder.model_validate(
        {
            "ids": ExternalIds(erp_id=erp_id),
            "number": f"S{erp_id}",
            "reference": None if return_of else f"deal-{erp_id}",
            "customer": CUSTOMER,
            "currency": "EUR",
            "state": SalesOrderState.PROCESSING,
            "lines": (
                DocumentLine(
                    line_no=1,
                    item=ExternalIds(erp_id="4"),
                    sku="R-1",
                    quantity=Decimal(quantity),
                    unit_price=eur("100"),
                    amount=amount,
                ),
            ),
            "untaxed": amount,
            "tax": eur("0"),
            "total": amount,
            "updated_at": T0,
            "return_of": ExternalIds(erp_id=return_of) if return_of else None,
            **kw,
        }
    )


def credit(erp_id: str, sales_order: str, state: InvoiceState, total: str) -> CreditMemo:
    return CreditMemo(
        ids=ExternalIds(erp_id=erp_id),
        number=f"CN{erp_id}",
        customer=CUSTOMER,
        sales_order=ExternalIds(erp_id=sales_order),
        currency="EUR",
        state=state,
        issue_date=date(2026, 12, 1),
        untaxed=eur(total),
        tax=eur("0"),
        total=eur(total),
        updated_at=T0,
    )


def test_a_return_lists_what_came_back_and_its_posted_credit() -> None:
    original = sale("1", "3")
    first, second = sale("7", "-1", return_of="1"), sale("12", "-2", return_of="1")
    cancelled = sale("8", "-3", return_of="1", state=SalesOrderState.CANCELLED)
    other = sale("9", "-1", return_of="5")
    ledger = CustomerLedger(customer="42")
    ledger = apply_invoice(ledger, credit("30", "7", InvoiceState.POSTED, "100"))
    ledger = apply_invoice(ledger, credit("31", "12", InvoiceState.DRAFT, "200"))

    returns = returns_of(original, [original, second, other, cancelled, first], ledger)
    assert [r.number for r in returns] == ["S7", "S12"]  # by id, cancelled and others left out
    came_back, waiting = returns
    assert [(line.sku, line.quantity, line.amount.amount) for line in came_back.lines] == [
        ("R-1", Decimal(1), Decimal(100))
    ]
    assert came_back.total.amount == Decimal(100)
    assert (came_back.credited.amount, came_back.credit_notes) == (Decimal(100), ("CN30",))
    # A draft credit note credits nothing yet.
    assert (waiting.credited.amount, waiting.credit_notes) == (Decimal(0), ())


def test_an_order_without_returns_has_none() -> None:
    original = sale("1", "3")
    assert returns_of(original, [original], CustomerLedger(customer="42")) == ()


def test_a_changed_return_brings_the_order_it_returns_along() -> None:
    original, returned = sale("1", "3"), sale("7", "-1", return_of="1")
    orders = {"1": original, "7": returned}
    assert originals([returned], orders) == [returned, original]
    assert originals([original, returned], orders) == [original, returned]
    # The returned order not known (yet): only the return.
    assert originals([returned], {"7": returned}) == [returned]
