"""The join views take in what this worker publishes from the model it encoded, and do not
decode it again when it is read back from the reference topic (nor apply an older record
of the same key over it)."""

from __future__ import annotations

from aiokafka import ConsumerRecord

from schemas import CODEC
from streams.views import JoinViews
from tests.streams.factories import customer

TOPIC = "t.reference.customers"


def record(key: bytes, value: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(TOPIC, 0, 0, 0, 0, key, value, None, len(key), len(value), ())


def views() -> JoinViews:
    return JoinViews(TOPIC, "t.reference.items", {})


async def test_an_own_record_read_back_is_not_applied_again() -> None:
    joined = views()
    own = customer("acc-1", erp_id="42", name="Acme v2")
    encoded = CODEC.encode(own)
    joined.apply_own(TOPIC, "acc-1", encoded, own)
    assert joined.customer(own.ids) == own

    older = CODEC.encode(customer("acc-1", erp_id="42", name="Acme v1"))
    assert joined.own_or_older(record(b"acc-1", older))  # published before ours: skipped
    assert joined.own_or_older(record(b"acc-1", encoded))  # ours, read back
    newer = customer("acc-1", erp_id="42", name="Acme v3")
    await joined._take(record(b"acc-1", CODEC.encode(newer)))  # after ours: applied
    assert joined.customer(own.ids) == newer


async def test_records_of_other_keys_are_applied() -> None:
    joined = views()
    own = customer("acc-1", erp_id="42")
    joined.apply_own(TOPIC, "acc-1", CODEC.encode(own), own)
    other = customer("acc-2", erp_id="43", name="Beta")
    assert not joined.own_or_older(record(b"acc-2", CODEC.encode(other)))
    await joined._take(record(b"acc-2", CODEC.encode(other)))
    assert joined.account_of("43") == "acc-2"


def tombstone(key: bytes) -> ConsumerRecord[bytes, bytes]:
    return ConsumerRecord(TOPIC, 0, 0, 0, 0, key, None, None, len(key), 0, ())


async def test_an_erased_customer_leaves_the_view_by_either_id() -> None:
    joined = views()
    erased = customer("acc-1", erp_id="42", name="Gone Ltd")
    await joined._take(record(b"acc-1", CODEC.encode(erased)))
    assert joined.account_of("42") == "acc-1"
    await joined._take(tombstone(b"acc-1"))
    assert joined.customer(erased.ids) is None
    assert joined.customer(erased.ids.model_copy(update={"crm_id": None})) is None
    assert joined.account_of("42") is None


async def test_an_own_withdrawal_is_not_undone_by_an_older_record_read_back() -> None:
    joined = views()
    erased = customer("acc-1", erp_id="42", name="Gone Ltd")
    encoded = CODEC.encode(erased)
    joined.apply_own(TOPIC, "acc-1", encoded, erased)
    joined.withdraw_own(TOPIC, "acc-1")
    assert joined.customer(erased.ids) is None
    await joined._take(record(b"acc-1", encoded))  # published before the tombstone
    assert joined.customer(erased.ids) is None
    await joined._take(tombstone(b"acc-1"))  # the tombstone read back
    assert joined.customer(erased.ids) is None
