from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from schemas import CODEC, DecodeError
from schemas.changes import EntityChange, SystemRole
from schemas.entities import Contact, Customer, EntityKind, ExternalIds, Item, Quote
from schemas.envelope import Operation
from schemas.types import Money

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
FP = "sha256:" + "ab" * 32


def change(
    entity: EntityKind, data: object, ids: ExternalIds, op: Operation = Operation.UPDATE
) -> EntityChange:
    return EntityChange.model_validate(
        {
            "entity": entity,
            "ids": ids,
            "origin_system": "bottlecrm",
            "origin_role": SystemRole.CRM,
            "operation": op,
            "source_ts": NOW,
            "fingerprint": FP,
            "data": data,
        }
    )


def test_each_entity_kind_round_trips_through_the_codec() -> None:
    ids = ExternalIds(crm_id="deal-1")
    quote = Quote(
        ids=ids,
        customer=ExternalIds(crm_id="acc-1"),
        currency="EUR",
        total=Money(amount=Decimal("10.00"), currency="EUR"),
        updated_at=NOW,
    )
    item_ids = ExternalIds(erp_id="7")
    item = Item(ids=item_ids, sku="W-1", name="Widget", updated_at=NOW)
    for message in (change(EntityKind.QUOTE, quote, ids), change(EntityKind.ITEM, item, item_ids)):
        back = CODEC.decode_as(CODEC.encode(message), EntityChange)
        assert back == message
        assert type(back.data) is type(message.data)
    assert change(EntityKind.QUOTE, quote, ids).origin_id == "deal-1"


def test_a_delete_carries_only_the_ids() -> None:
    ids = ExternalIds(crm_id="acc-9")
    deleted = change(EntityKind.CUSTOMER, None, ids, Operation.DELETE)
    assert CODEC.decode_as(CODEC.encode(deleted), EntityChange).data is None


@pytest.mark.parametrize(
    ("entity", "ids", "op"),
    [
        (EntityKind.ITEM, ExternalIds(crm_id="acc-1"), Operation.UPDATE),  # kind mismatch
        (EntityKind.CUSTOMER, ExternalIds(crm_id="other"), Operation.UPDATE),  # ids mismatch
    ],
)
def test_inconsistent_changes_are_refused(
    entity: EntityKind, ids: ExternalIds, op: Operation
) -> None:
    customer = Customer(ids=ExternalIds(crm_id="acc-1"), name="Acme", updated_at=NOW)
    with pytest.raises(ValueError, match=r"not a|ids differ"):
        change(entity, customer, ids, op)


def test_an_update_without_data_is_a_decode_error() -> None:
    bad = CODEC.encode(change(EntityKind.CUSTOMER, None, ExternalIds(crm_id="a"), Operation.DELETE))
    tampered = bad.replace(b'"delete"', b'"update"')
    with pytest.raises(DecodeError, match="needs the entity's data"):
        CODEC.decode(tampered)


def test_data_is_read_as_the_model_its_entity_names() -> None:
    ids = ExternalIds(crm_id="c-1")
    customer = Customer(ids=ids, name="Ada Ltd", updated_at=NOW)
    contact = Contact(ids=ids, last_name="Lovelace", updated_at=NOW)
    for entity, data in ((EntityKind.CUSTOMER, customer), (EntityKind.CONTACT, contact)):
        decoded = CODEC.decode(CODEC.encode(change(entity, data, ids)))
        assert isinstance(decoded, EntityChange)
        assert type(decoded.data) is type(data)
        assert decoded.data == data


def test_data_of_another_kind_is_refused() -> None:
    ids = ExternalIds(crm_id="c-1")
    encoded = CODEC.encode(
        change(EntityKind.CUSTOMER, Customer(ids=ids, name="Ada", updated_at=NOW), ids)
    )
    with pytest.raises(DecodeError):
        CODEC.decode(encoded.replace(b'"entity":"customer"', b'"entity":"contact"'))


def test_data_invalid_for_its_kind_is_reported_where_it_is_wrong() -> None:
    ids = ExternalIds(crm_id="p-1")
    item = Item(ids=ids, sku="W-1", name="Widget", updated_at=NOW)
    encoded = CODEC.encode(change(EntityKind.ITEM, item, ids))
    broken = encoded.replace(b'"sku":"W-1"', b'"sku":""')
    with pytest.raises(DecodeError) as caught:
        CODEC.decode(broken)
    assert caught.value.path.startswith("data.")
    assert "sku" in caught.value.path
