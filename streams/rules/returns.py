"""A deal's returns: the ERP orders that return goods or services of the deal's order, what
came back on each, and what its credit notes credit. Pure functions.

A return is an order of its own in the ERP (Tryton's return sale: a copy of the sale with
the quantities negated, its ``origin`` the sale); it has no deal, so what it says is told on
the deal of the order it returns. Only posted or paid credit notes count as credited.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from schemas.commands import ReturnedLine, ReturnSummary
from schemas.entities import InvoiceState, SalesOrder, SalesOrderState
from schemas.types import Money
from streams.rules.ledger import CustomerLedger

_CREDITED = frozenset({InvoiceState.POSTED, InvoiceState.PAID})


def returns_of(
    order: SalesOrder, orders: Iterable[SalesOrder], ledger: CustomerLedger
) -> tuple[ReturnSummary, ...]:
    """The returns of ``order`` among ``orders`` (cancelled ones left out), oldest first."""
    found = [
        candidate
        for candidate in orders
        if candidate.return_of is not None
        and order.ids.erp_id is not None
        and candidate.return_of.erp_id == order.ids.erp_id
        and candidate.state is not SalesOrderState.CANCELLED
    ]
    found.sort(key=lambda r: (len(r.ids.erp_id or ""), r.ids.erp_id or ""))  # numeric ids
    return tuple(_summary(r, ledger) for r in found)


def _summary(returned: SalesOrder, ledger: CustomerLedger) -> ReturnSummary:
    credits = sorted(
        (
            summary
            for summary in ledger.invoices.values()
            if summary.credit
            and summary.sales_order == returned.ids.erp_id
            and summary.state in _CREDITED
            and summary.currency == returned.currency
        ),
        key=lambda s: s.erp_id,
    )
    return ReturnSummary(
        number=returned.number,
        state=returned.state,
        lines=tuple(
            ReturnedLine(
                item=line.item,
                sku=line.sku,
                description=line.description,
                quantity=abs(line.quantity),
                amount=Money(amount=abs(line.amount.amount), currency=line.amount.currency),
            )
            for line in returned.lines
        ),
        total=Money(amount=abs(returned.total.amount), currency=returned.currency),
        credited=Money(
            amount=sum((-c.total for c in credits), Decimal(0)),
            currency=returned.currency,
        ),
        credit_notes=tuple(c.number for c in credits if c.number),
    )


def originals(affected: Iterable[SalesOrder], orders: dict[str, SalesOrder]) -> list[SalesOrder]:
    """``affected`` with, for each return among them, the order it returns (once each)."""
    result: dict[str, SalesOrder] = {}
    for order in affected:
        result.setdefault(order.ids.erp_id or "", order)
        if order.return_of is not None and order.return_of.erp_id in orders:
            original = orders[order.return_of.erp_id]
            result.setdefault(original.ids.erp_id or "", original)
    return list(result.values())
