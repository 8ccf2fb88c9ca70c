"""Serial numbers shipped to a customer and their warranty end dates."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from schemas import (
    ExternalIds,
    SalesOrder,
    SalesOrderState,
    Shipment,
    ShipmentLine,
    ShipmentState,
)
from streams.rules.warranty import installed_base, warranty_end
from tests.streams.factories import T0, eur


def unit(serial: str | None, months: int | None = 12) -> ShipmentLine:
    return ShipmentLine(
        item=ExternalIds(erp_id="4"),
        sku="S-1",
        quantity=Decimal(1),
        serial_number=serial,
        warranty_months=months,
    )


def shipment(n: int, state: ShipmentState, shipped: date | None, *lines: ShipmentLine) -> Shipment:
    return Shipment(
        ids=ExternalIds(erp_id=str(n)),
        number=f"CS{n}",
        state=state,
        effective_date=shipped,
        lines=lines,
    )


def order(n: int, *shipments: Shipment) -> SalesOrder:
    return SalesOrder(
        ids=ExternalIds(erp_id=str(n)),
        number=f"SO{n}",
        reference=f"deal-{n}",
        customer=ExternalIds(crm_id="acc-1", erp_id="42"),
        currency="EUR",
        state=SalesOrderState.PROCESSING,
        untaxed=eur("1"),
        tax=eur("0"),
        total=eur("1"),
        updated_at=T0,
        shipments=shipments,
    )


def test_warranty_counts_whole_months_from_the_day_it_shipped() -> None:
    assert warranty_end(date(2026, 12, 1), 12) == date(2027, 12, 1)
    assert warranty_end(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert warranty_end(date(2027, 12, 31), 2) == date(2028, 2, 29)
    assert warranty_end(date(2026, 5, 5), 0) == date(2026, 5, 5)


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(0, 600))
def test_warranty_never_ends_before_it_starts_and_lands_in_the_right_month(
    shipped: date, months: int
) -> None:
    end = warranty_end(shipped, months)
    assert end >= shipped
    assert (end.year * 12 + end.month) - (shipped.year * 12 + shipped.month) == months


def test_units_that_left_are_listed_with_their_warranty_by_serial_number() -> None:
    shipped = date(2026, 12, 1)
    units = installed_base(
        [
            order(
                1,
                shipment(1, ShipmentState.DONE, shipped, unit("SN-B"), unit(None)),
                shipment(2, ShipmentState.WAITING, None, unit("SN-C")),  # not left yet
            ),
            order(2, shipment(3, ShipmentState.SHIPPED, shipped, unit("SN-A", months=None))),
        ]
    )
    assert [(u.serial_number, u.deal, u.order_number) for u in units] == [
        ("SN-A", "deal-2", "SO2"),
        ("SN-B", "deal-1", "SO1"),
    ]
    assert units[0].warranty_until is None  # no warranty on the item
    assert units[1].warranty_until == date(2027, 12, 1)
    assert units[1].shipped_on == shipped
    assert units[1].sku == "S-1"


def test_a_unit_shipped_again_counts_from_its_latest_shipment() -> None:
    again = date(2027, 3, 1)
    units = installed_base(
        [
            order(1, shipment(1, ShipmentState.DONE, date(2026, 12, 1), unit("SN-A"))),
            order(2, shipment(2, ShipmentState.DONE, again, unit("SN-A"))),
        ]
    )
    (only,) = units
    assert (only.shipped_on, only.warranty_until, only.deal) == (
        again,
        date(2028, 3, 1),
        "deal-2",
    )
