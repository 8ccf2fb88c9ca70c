"""The pure parts of the BottleCRM source: the fingerprinted view and the scan cursor."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import ConnectorError, ErrorKind
from connectors.bottlecrm.source import (
    change_of,
    decode_snapshot,
    encode_snapshot,
    stable_view,
)
from schemas import Operation

T = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)


def deal(**changes: Any) -> dict[str, Any]:
    record: dict[str, Any] = {
        "id": "d1",
        "name": "Deal",
        "stage": "PROPOSAL",
        "created_on_arrow": "1 minute ago",
        "days_in_stage": 0,
        "aging_status": "green",
        "next_activity": None,
        "line_items": [{"id": "l1", "total": "10.00", "product": {"id": "p1", "used_on": 1}}],
        "custom_fields": {},
    }
    return record | changes


def fingerprint_of(record: dict[str, Any], obj: str = "deal") -> str:
    return change_of(obj, "d1", Operation.UPDATE, record, T, "c", T).fingerprint


def test_volatile_fields_do_not_change_the_fingerprint() -> None:
    later = deal(created_on_arrow="3 days ago", days_in_stage=3, aging_status="red")
    later["line_items"][0]["product"]["used_on"] = 7
    assert fingerprint_of(later) == fingerprint_of(deal())
    assert "created_on_arrow" not in stable_view("deal", deal())


def test_real_changes_do() -> None:
    base = fingerprint_of(deal())
    assert fingerprint_of(deal(stage="CLOSED_WON")) != base
    assert fingerprint_of(deal(custom_fields={"their_own_field": "x"})) != base
    lines = [{"id": "l1", "total": "11.00", "product": {"id": "p1", "used_on": 1}}]
    assert fingerprint_of(deal(line_items=lines)) != base


def test_q2cs_own_custom_fields_are_its_echo_not_a_change() -> None:
    written = deal(custom_fields={"erp_order_number": "SO-1", "q2c_sync_status": "synced"})
    assert fingerprint_of(written) == fingerprint_of(deal())
    assert change_of("deal", "d1", Operation.UPDATE, written, T, "c", T).record[
        "custom_fields"
    ] == {"erp_order_number": "SO-1", "q2c_sync_status": "synced"}  # still in the record
    theirs = deal(custom_fields={"erp_order_number": "SO-1", "region": "EMEA"})
    assert fingerprint_of(theirs) == fingerprint_of(deal(custom_fields={"region": "EMEA"}))


def test_account_detail_and_list_answers_fingerprint_alike() -> None:
    listed = {"id": "a1", "name": "Acme", "rollups": {"won_count": 1}, "custom_fields": {}}
    detail = listed | {"cases": [], "contacts": [], "opportunities": [], "tasks": []}
    detail["rollups"] = {"won_count": 2}
    assert fingerprint_of(listed, "account") == fingerprint_of(detail, "account")


def test_deletes_carry_no_record() -> None:
    gone = change_of("deal", "d1", Operation.DELETE, deal(), T, "c", T)
    assert gone.record == {}


@given(
    st.dictionaries(
        st.uuids().map(str),
        st.binary(min_size=32, max_size=32).map(lambda b: "sha256:" + b.hex()),
        max_size=50,
    )
)
def test_snapshot_round_trips(fingerprints: dict[str, str]) -> None:
    decoded = decode_snapshot(encode_snapshot(fingerprints))
    assert decoded == {rid: fp[7:27] for rid, fp in fingerprints.items()}


def test_snapshot_is_compact_and_checked() -> None:
    many = {f"{i:08d}-0000-4000-8000-000000000000": f"sha256:{i:064x}" for i in range(10_000)}
    assert len(encode_snapshot(many)) < 400_000  # well under Kafka's default 1 MB message
    assert decode_snapshot(None) == {}
    with pytest.raises(ConnectorError) as unknown:
        decode_snapshot("v9:whatever")
    assert unknown.value.kind is ErrorKind.FATAL
