"""How far an order has shipped travels with the deal's write-back: a shipment step sends
one update, a repeat of the same order sends none."""

from __future__ import annotations

from datetime import date

from schemas import (
    ExternalIds,
    SalesOrder,
    SalesOrderState,
    Shipment,
    ShipmentLine,
    ShipmentState,
    ShipmentStatus,
    UpdateDealFinancialStatus,
)
from streams.handlers.finance import FinanceState, new_finance_state, on_finance_change
from tests.streams.factories import T0, eur
from tests.streams.test_handlers import CFG, NOW, erp_change

ORDER = SalesOrder(
    ids=ExternalIds(erp_id="so-9", crm_id="deal-1"),
    number="SO9",
    reference="deal-1",
    customer=ExternalIds(crm_id="acc-1", erp_id="42"),
    currency="EUR",
    state=SalesOrderState.PROCESSING,
    untaxed=eur("200"),
    tax=eur("0"),
    total=eur("200"),
    updated_at=T0,
    shipment_status=ShipmentStatus.WAITING,
    shipments=(
        Shipment(
            ids=ExternalIds(erp_id="11"),
            number="CS11",
            state=ShipmentState.WAITING,
            lines=(ShipmentLine(sku="G-1", quantity=2),),
        ),
    ),
)


def _deal_update(
    order: SalesOrder, n: int, state: FinanceState | None = None
) -> tuple[FinanceState, list[UpdateDealFinancialStatus]]:
    state, step = on_finance_change(
        state or new_finance_state("42"), erp_change(order, n), None, CFG, NOW
    )
    return state, [
        e.command for e in step.commands if isinstance(e.command, UpdateDealFinancialStatus)
    ]


def test_each_shipment_step_is_written_back_once() -> None:
    state, (first,) = _deal_update(ORDER, 1)
    assert first.shipment_status is ShipmentStatus.WAITING
    assert [s.number for s in first.shipments] == ["CS11"]

    done = ORDER.shipments[0].model_copy(
        update={
            "state": ShipmentState.DONE,
            "effective_date": date(2026, 12, 2),
            "reference": "1Z-TRACK-1",
            "lines": (ShipmentLine(sku="G-1", quantity=1),),
        }
    )
    back_order = Shipment(
        ids=ExternalIds(erp_id="12"),
        number="CS12",
        state=ShipmentState.WAITING,
        lines=(ShipmentLine(sku="G-1", quantity=1),),
    )
    partial = ORDER.model_copy(
        update={
            "shipment_status": ShipmentStatus.PARTIALLY_SHIPPED,
            "shipments": (done, back_order),
        }
    )
    state, (second,) = _deal_update(partial, 2, state)
    assert second.shipment_status is ShipmentStatus.PARTIALLY_SHIPPED
    assert [(s.number, s.state) for s in second.shipments] == [
        ("CS11", ShipmentState.DONE),
        ("CS12", ShipmentState.WAITING),
    ]
    assert second.idempotency_key != first.idempotency_key

    # The same order seen again (another poll, another fingerprint): nothing new to say.
    _, again = _deal_update(partial, 3, state)
    assert again == []
