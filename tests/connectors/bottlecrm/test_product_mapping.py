from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from connectors.base.mapping import MappingError
from connectors.bottlecrm.mapping import BottleCrmMapper
from schemas import Item, Operation, RawChange

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def product_change(record: dict[str, object]) -> RawChange:
    return RawChange.of(
        system="bottlecrm",
        object="product",
        record_id=str(record["id"]),
        operation=Operation.UPDATE,
        source_ts=NOW,
        cursor="c",
        record=record,  # type: ignore[arg-type]
        observed_at=NOW,
    )


def test_a_product_is_an_item_holding_only_what_the_crm_stores() -> None:
    (change,) = BottleCrmMapper("USD").to_canonical(
        product_change(
            {"id": "p1", "name": "Widget", "sku": "W-1", "price": "100.00", "is_active": True}
        )
    )
    assert isinstance(change.data, Item)
    assert change.data.sku == "W-1"
    assert change.data.ids.crm_id == "p1"
    price = change.data.price("USD")
    assert price is not None
    assert price.amount == Decimal("100.00")
    assert change.held == frozenset({"sku", "name", "description", "active", "prices"})


def test_a_product_without_a_sku_cannot_be_matched() -> None:
    with pytest.raises(MappingError, match="SKU"):
        BottleCrmMapper("USD").to_canonical(product_change({"id": "p2", "name": "Nameless"}))
