"""A sale's customer shipments, as the sale stream reads them (the shipments and the sale
lines' stock moves ride along with the sale), become the sales order's shipment status and
shipments; a return sale names the sale it returns, and a credit note the sale it was made
from."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from connectors.base.mapping import MappingError
from connectors.tryton.mapping import TrytonMapper
from connectors.tryton.polling import ModifiedStream
from connectors.tryton.streams import STREAMS, SaleStream, ShipmentStream, SubscriptionStream
from schemas import CreditMemo, Money, SalesOrder, ShipmentState, ShipmentStatus
from tests.connectors.tryton.test_mapping import INVOICE, SALE, change


def sale(**extra: Any) -> SalesOrder:
    (result,) = TrytonMapper().to_canonical(change("sale.sale", {**SALE, **extra}))
    assert isinstance(result.data, SalesOrder)
    return result.data


def move(mid: int, shipment: str | None, quantity: float, state: str = "done") -> dict[str, Any]:
    return {
        "id": mid,
        "shipment": shipment,
        "product": 4,
        "product.": {"id": 4, "code": "G-1"},
        "quantity": quantity,
        "state": state,
    }


SHIPPED = {
    "id": 11,
    "number": "CS11",
    "reference": "1Z-TRACK-1",
    "state": "done",
    "planned_date": "2026-12-01",
    "effective_date": "2026-12-02",
}
BACK_ORDER = {"id": 12, "number": "CS12", "reference": "", "state": "waiting"}


def test_a_partly_shipped_sale_lists_the_shipment_and_its_back_order() -> None:
    order = sale(
        shipment_state="partially shipped",
        shipments=[BACK_ORDER, SHIPPED],
        moves=[
            move(21, "stock.shipment.out,11", 1.0),
            move(22, "stock.shipment.out,12", 1.0, "draft"),
            move(23, "stock.shipment.out,12", 5.0, "cancelled"),  # carries nothing
            move(24, "stock.shipment.out.return,3", 1.0),  # a return is no shipment
            move(25, None, 2.0, "draft"),  # not on a shipment yet
        ],
    )
    assert order.shipment_status is ShipmentStatus.PARTIALLY_SHIPPED
    first, second = order.shipments
    assert (first.number, first.state, first.reference) == (
        "CS11",
        ShipmentState.DONE,
        "1Z-TRACK-1",
    )
    assert (first.planned_date, first.effective_date) == (date(2026, 12, 1), date(2026, 12, 2))
    assert [(line.sku, line.quantity) for line in first.lines] == [("G-1", Decimal(1))]
    assert first.lines[0].item is not None
    assert first.lines[0].item.erp_id == "4"
    assert (second.number, second.state, second.reference) == ("CS12", ShipmentState.WAITING, None)
    assert [line.quantity for line in second.lines] == [Decimal(1)]


@pytest.mark.parametrize(
    ("tryton", "status"),
    [
        ("none", ShipmentStatus.NONE),
        ("waiting", ShipmentStatus.WAITING),
        ("sent", ShipmentStatus.SENT),
        ("exception", ShipmentStatus.EXCEPTION),
        (None, ShipmentStatus.NONE),  # a sale read without its shipment state
    ],
)
def test_the_sale_shipment_state_is_the_order_shipment_status(
    tryton: str | None, status: ShipmentStatus
) -> None:
    assert sale(shipment_state=tryton).shipment_status is status


def test_a_sale_of_services_has_no_shipments() -> None:
    order = sale()
    assert order.shipments == ()
    assert order.shipment_status is ShipmentStatus.NONE


def test_an_unknown_shipment_state_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="not a shipment state"):
        sale(shipments=[{**SHIPPED, "state": "teleported"}])


def test_a_bad_moved_quantity_is_a_mapping_error() -> None:
    with pytest.raises(MappingError, match="moves"):
        sale(shipments=[SHIPPED], moves=[move(21, "stock.shipment.out,11", "lots")])  # type: ignore[arg-type]


def test_shipment_edits_publish_the_sales_listing_them() -> None:
    assert ShipmentStream.listed_in == ("shipments", SaleStream)
    assert {"shipments", "moves"} <= set(SaleStream.fields)
    # Polled after the sales: a sale and its shipment changed together are read once each.
    assert STREAMS.index(ShipmentStream) > STREAMS.index(SaleStream)
    with pytest.raises(TypeError, match="must read"):
        type(
            "Orphan",
            (ModifiedStream,),
            {
                "name": "returns",
                "model": "stock.shipment.out.return",
                "fields": ("state",),
                "listed_in": ("shipment_returns", SaleStream),
            },
        )


def test_a_serialized_unit_carries_its_lot_number_and_the_item_warranty() -> None:
    serialized = {
        **move(21, "stock.shipment.out,11", 1.0),
        "lot.": {"id": 3, "number": "SN-0001"},
        "product.": {"id": 4, "code": "S-1", "attributes": {"warranty_months": 24}},
    }
    (shipment,) = sale(
        shipments=[SHIPPED], moves=[serialized, move(22, "stock.shipment.out,11", 1.0)]
    ).shipments
    first, plain = shipment.lines
    assert (first.serial_number, first.warranty_months, first.sku) == ("SN-0001", 24, "S-1")
    assert (plain.serial_number, plain.warranty_months) == (None, None)


@pytest.mark.parametrize("months", ["24", -1, True, 1.5])
def test_a_warranty_that_is_not_a_number_of_months_is_a_mapping_error(months: object) -> None:
    bad = {
        **move(21, "stock.shipment.out,11", 1.0),
        "product.": {"id": 4, "attributes": {"warranty_months": months}},
    }
    with pytest.raises(MappingError, match="months"):
        sale(shipments=[SHIPPED], moves=[bad])


def test_a_return_sale_names_the_sale_it_returns() -> None:
    returned = sale(origin="sale.sale,5")
    assert returned.return_of is not None
    assert returned.return_of.erp_id == "5"
    assert sale(origin=None).return_of is None
    assert sale(origin="sale.opportunity,5").return_of is None  # not a return


def test_a_credit_note_names_the_sale_it_was_made_from() -> None:
    note = {
        **INVOICE,
        "total_amount": "-100.00",
        "untaxed_amount": "-100.00",
        "tax_amount": "0",
        "sales": [7],
    }
    (result,) = TrytonMapper().to_canonical(change("account.invoice", note))
    assert isinstance(result.data, CreditMemo)
    assert result.data.sales_order is not None
    assert result.data.sales_order.erp_id == "7"


def test_subscriptions_for_the_deal_ride_on_its_sale() -> None:
    order = sale(
        subscriptions=[
            {
                "id": 3,
                "number": "SUB3",
                "state": "running",
                "start_date": "2026-12-01",
                "end_date": "2027-11-30",
                "next_invoice_date": "2027-01-01",
                "currency.": {"id": 2, "code": "EUR"},
                "lines.": [
                    {
                        "id": 9,
                        "quantity": 12.0,
                        "unit_price": "19.90",
                        "description": "Support",
                        "service.": {"id": 1, "product": 4, "product.": {"id": 4, "code": "S-1"}},
                    }
                ],
            },
            {"id": 2, "number": None, "state": "draft"},
        ]
    )
    draft, running = order.subscriptions
    (billed,) = running.lines
    assert billed.item is not None
    assert billed.item.erp_id == "4"
    assert (billed.sku, billed.quantity, billed.description) == ("S-1", Decimal(12), "Support")
    assert billed.unit_price == Money(amount=Decimal("19.90"), currency="EUR")
    assert draft.lines == ()
    assert (draft.ids.erp_id, draft.number, draft.end_date) == ("2", None, None)
    assert (running.number, running.end_date, running.next_invoice_date) == (
        "SUB3",
        date(2027, 11, 30),
        date(2027, 1, 1),
    )
    with pytest.raises(MappingError, match="not a subscription state"):
        sale(subscriptions=[{"id": 4, "state": "paused"}])


def test_subscription_edits_publish_the_sale_of_the_same_deal() -> None:
    assert SubscriptionStream.same_reference_as is SaleStream
    assert STREAMS.index(SubscriptionStream) > STREAMS.index(SaleStream)
