"""Canonical entities for the stream tests."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import count

from schemas import fingerprint
from schemas.changes import EntityChange, SystemRole
from schemas.entities import (
    Address,
    Customer,
    DocumentLine,
    EntityKind,
    ExternalIds,
    Item,
    PriceBookPrice,
    Quote,
)
from schemas.envelope import Operation
from schemas.types import Money

T0 = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)
_seq = count(1)


def eur(amount: str | int) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def customer(
    crm_id: str | None = "acc-1", erp_id: str | None = None, name: str = "Acme GmbH", **kw: object
) -> Customer:
    return Customer.model_validate(
        {"ids": ExternalIds(crm_id=crm_id, erp_id=erp_id), "name": name, "updated_at": T0, **kw}
    )


def item(sku: str = "W-1", price: str = "100.00", erp_id: str = "7", **kw: object) -> Item:
    return Item.model_validate(
        {
            "ids": ExternalIds(erp_id=erp_id, crm_id=f"prod-{sku}"),
            "sku": sku,
            "name": f"Item {sku}",
            "prices": (PriceBookPrice(unit_price=eur(price)),),
            "updated_at": T0,
            **kw,
        }
    )


def line(no: int, sku: str, qty: str, price: str, discount: str = "0") -> DocumentLine:
    net = Decimal(qty) * Decimal(price) * (100 - Decimal(discount)) / 100
    return DocumentLine(
        line_no=no,
        item=ExternalIds(crm_id=f"prod-{sku}"),
        sku=sku,
        quantity=Decimal(qty),
        unit_price=eur(price),
        discount_percent=Decimal(discount),
        amount=eur(str(net)),
    )


def quote(*lines: DocumentLine, stage: str = "CLOSED_WON", crm_id: str = "deal-1") -> Quote:
    total = sum((ln.amount.amount for ln in lines), Decimal(0))
    return Quote(
        ids=ExternalIds(crm_id=crm_id),
        customer=ExternalIds(crm_id="acc-1"),
        currency="EUR",
        stage=stage,
        lines=lines,
        total=eur(str(total)),
        updated_at=T0,
    )


def change(
    data: Customer | Item | Quote,
    role: SystemRole,
    *,
    minutes: int = 0,
    op: Operation = Operation.UPDATE,
) -> EntityChange:
    kind = {Customer: EntityKind.CUSTOMER, Item: EntityKind.ITEM, Quote: EntityKind.QUOTE}[
        type(data)
    ]
    system = "crm" if role is SystemRole.CRM else "erp"
    return EntityChange(
        entity=kind,
        ids=data.ids,
        origin_system=system,
        origin_role=role,
        operation=op,
        source_ts=T0 + timedelta(minutes=minutes),
        fingerprint=fingerprint({"data": data.model_dump(mode="json"), "n": next(_seq)}),
        data=data,
    )


ADDRESS = Address(street="Hauptstr. 1", city="Berlin", country="DE")


@dataclass(frozen=True)
class Delivered:
    """An event as the sync agent sees it: the key, value and headers of a consumed message."""

    key: bytes
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()
