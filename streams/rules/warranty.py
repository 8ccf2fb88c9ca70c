"""The serialized units a customer received and until when each is under warranty: pure
functions over the customer's sales orders.

A unit is under warranty from the day its shipment left for the item's warranty duration
(whole months, clamped to the month's end: shipped on 31 January with one month, covered
until 28 or 29 February). A unit in a shipment that has not left yet is not the
customer's; one without a warranty duration on its item has no end date.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from datetime import date

from schemas.commands import SerialNumber
from schemas.entities import SalesOrder, ShipmentState

_LEFT = frozenset({ShipmentState.SHIPPED, ShipmentState.DONE})


def warranty_end(shipped_on: date, months: int) -> date:
    """``months`` whole months after ``shipped_on`` (the last day of a shorter month)."""
    index = shipped_on.month - 1 + months
    year, month = shipped_on.year + index // 12, index % 12 + 1
    return date(year, month, min(shipped_on.day, calendar.monthrange(year, month)[1]))


def _deal_of(order: SalesOrder) -> str | None:
    return order.reference or (order.quote.crm_id if order.quote else None) or order.ids.crm_id


def installed_base(orders: Iterable[SalesOrder]) -> tuple[SerialNumber, ...]:
    """Every serial number shipped to the customer on ``orders``, by serial number; a serial
    shipped twice (sent again after a return) counts from its latest shipment."""
    found: dict[str, SerialNumber] = {}
    for order in orders:
        for shipment in order.shipments:
            if shipment.state not in _LEFT:
                continue
            shipped = shipment.effective_date
            for line in shipment.lines:
                if not line.serial_number:
                    continue
                unit = SerialNumber(
                    serial_number=line.serial_number,
                    item=line.item,
                    sku=line.sku,
                    deal=_deal_of(order),
                    order_number=order.number,
                    shipped_on=shipped,
                    warranty_until=(
                        warranty_end(shipped, line.warranty_months)
                        if shipped is not None and line.warranty_months is not None
                        else None
                    ),
                )
                known = found.get(unit.serial_number)
                if known is None or (known.shipped_on or date.min) <= (shipped or date.min):
                    found[unit.serial_number] = unit
    return tuple(found[serial] for serial in sorted(found))
