from __future__ import annotations

from decimal import Decimal

from schemas.entities import DocumentLine, ExternalIds, Quote, SalesOrder, SalesOrderState
from streams.rules.reconcile import Snapshot, reconcile
from streams.rules.triggers import OrderTrigger
from tests.streams.factories import T0, customer, eur, item, line, quote

TRIGGER = OrderTrigger()


def order(
    deal: str, *lines: DocumentLine, customer_crm: str = "acc-1", erp_id: str = "so-1"
) -> SalesOrder:
    total = sum((ln.amount.amount for ln in lines), Decimal(0))
    return SalesOrder(
        ids=ExternalIds(erp_id=erp_id),
        number=f"SO-{erp_id}",
        reference=deal,
        customer=ExternalIds(crm_id=customer_crm, erp_id="42"),
        currency="EUR",
        state=SalesOrderState.PROCESSING,
        lines=lines,
        untaxed=eur(str(total)),
        tax=eur("0"),
        total=eur(str(total)),
        updated_at=T0,
    )


def crm(*quotes: Quote) -> Snapshot:
    return Snapshot(
        customers=[customer()], items=[item("W-1", "100.00")], quotes=list(quotes), orders=[]
    )


def erp(*orders: SalesOrder) -> Snapshot:
    return Snapshot(
        customers=[customer(erp_id="42")],
        items=[item("W-1", "100.00")],
        quotes=[],
        orders=list(orders),
    )


def test_systems_in_step_have_no_discrepancy() -> None:
    won = quote(line(1, "W-1", "2", "100.00"))
    assert (
        reconcile(crm(won), erp(order("deal-1", line(1, "W-1", "2", "100.00"))), TRIGGER, "EUR")
        == []
    )


def test_every_kind_of_drift_is_named() -> None:
    won = quote(line(1, "W-1", "2", "100.00"))
    missing = quote(line(1, "W-1", "1", "100.00"), crm_id="deal-2")
    open_deal = quote(line(1, "W-1", "1", "100.00"), crm_id="deal-3", stage="NEGOTIATION")
    found = reconcile(
        crm(won, missing, open_deal),
        Snapshot(
            customers=[customer(erp_id="42", name="ACME typo")],
            items=[item("W-1", "100.00"), item("N-1", "5.00", erp_id="9")],
            quotes=[],
            orders=[
                order("deal-1", line(1, "W-1", "3", "100.00")),
                order("deal-1", line(1, "W-1", "2", "100.00"), erp_id="so-2"),
                order("deal-3", line(1, "W-1", "1", "100.00"), erp_id="so-3"),
                order("deal-9", line(1, "W-1", "1", "100.00"), erp_id="so-9"),
            ],
        ),
        TRIGGER,
        "EUR",
    )
    kinds = {(d.kind, d.record) for d in found}
    assert kinds == {
        ("duplicate-order", "deal-1"),
        ("lines-differ", "deal-1"),
        ("total-differs", "deal-1"),
        ("missing-order", "deal-2"),
        ("order-not-won", "deal-3"),
        ("orphan-order", "deal-9"),
        ("name-differs", "acc-1"),
        ("missing-product", "N-1"),
    }
    assert all(str(d) for d in found)
