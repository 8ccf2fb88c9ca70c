"""The base mapper builds canonical changes from what a system's mapper declares per record
type, and turns whatever a reader trips over into a MappingError."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, ClassVar

import pytest

from connectors.base.mapping import Mapper, MappingError, RecordType
from schemas import (
    Customer,
    EntityKind,
    ExternalIds,
    Item,
    Money,
    Operation,
    PriceBookPrice,
    RawChange,
)
from schemas.changes import SystemRole

SEEN = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
EDITED = datetime(2026, 11, 25, 9, 30, tzinfo=UTC)


def customer(record: Mapping[str, Any], at: datetime) -> Customer:
    ids = ExternalIds(erp_id=record.get("id", "7"), crm_id="C-1")
    return Customer(ids=ids, name=record["name"], updated_at=at)


def item(record: Mapping[str, Any], at: datetime) -> Item | None:
    if record.get("internal"):
        return None
    price = PriceBookPrice(unit_price=Money(amount=Decimal(record["price"]), currency="EUR"))
    return Item(
        ids=ExternalIds(erp_id="7"), sku=record["sku"], name="n", prices=(price,), updated_at=at
    )


class MemErpMapper(Mapper):
    system: ClassVar[str] = "memerp"
    role: ClassVar[SystemRole] = SystemRole.ERP

    def __init__(self) -> None:
        self.records = {
            "party": RecordType(EntityKind.CUSTOMER, customer, reports=True),
            "product": RecordType(EntityKind.ITEM, item, deletes=False, held=frozenset({"sku"})),
        }

    def updated_at(self, change: RawChange) -> datetime:
        return EDITED if change.record.get("edited") else change.source_ts


def raw(obj: str, record: dict[str, Any], operation: Operation = Operation.UPDATE) -> RawChange:
    return RawChange.of(
        system="memerp",
        object=obj,
        record_id="7",
        operation=operation,
        source_ts=SEEN,
        cursor="c",
        record=record,
        observed_at=SEEN,
    )


def test_a_record_becomes_one_change_around_what_its_reader_returned() -> None:
    change = raw("party", {"name": "Acme", "edited": True})
    (result,) = MemErpMapper().to_canonical(change)
    assert (result.entity, result.origin_system, result.origin_role) == (
        EntityKind.CUSTOMER,
        "memerp",
        SystemRole.ERP,
    )
    assert (result.operation, result.source_ts, result.fingerprint) == (
        Operation.UPDATE,
        SEEN,
        change.fingerprint,
    )
    assert result.ids == ExternalIds(erp_id="7", crm_id="C-1")
    assert isinstance(result.data, Customer)
    assert result.data.updated_at == EDITED
    assert result.held is None


def test_deletes_ignored_types_and_records_that_do_not_matter() -> None:
    mapper = MemErpMapper()
    (deleted,) = mapper.to_canonical(raw("party", {}, Operation.DELETE))
    assert (deleted.entity, deleted.ids, deleted.data) == (
        EntityKind.CUSTOMER,
        ExternalIds(erp_id="7"),
        None,
    )
    assert mapper.to_canonical(raw("product", {}, Operation.DELETE)) == ()
    assert mapper.to_canonical(raw("warehouse", {"name": "x"})) == ()
    assert mapper.to_canonical(raw("product", {"internal": True})) == ()
    (product,) = mapper.to_canonical(raw("product", {"sku": "A", "price": "2"}))
    assert (product.entity, product.held) == (EntityKind.ITEM, frozenset({"sku"}))


def test_only_declared_record_types_say_why_they_did_not_sync() -> None:
    mapper = MemErpMapper()
    assert mapper.report_target(raw("party", {"name": "Acme"})) == (
        EntityKind.CUSTOMER,
        ExternalIds(erp_id="7"),
    )
    assert mapper.report_target(raw("party", {}, Operation.DELETE)) is None
    assert mapper.report_target(raw("product", {"sku": "A"})) is None


@pytest.mark.parametrize(
    ("record", "field", "reason"),
    [
        ({"name": ""}, "name", "String should have at least 1 character"),
        ({}, "", "unexpected record shape (KeyError: 'name')"),
        ({"name": "Acme", "id": "8"}, "id", "the record's own id '8' is not the change's '7'"),
    ],
)
def test_what_a_reader_trips_over_is_a_mapping_error(
    record: dict[str, Any], field: str, reason: str
) -> None:
    with pytest.raises(MappingError) as raised:
        MemErpMapper().to_canonical(raw("party", record))
    assert (raised.value.field, raised.value.reason) == (field, reason)
    with pytest.raises(MappingError, match="InvalidOperation"):
        MemErpMapper().canonical(raw("product", {"sku": "A", "price": "lots"}))
