"""Strategy (b), full scans compared by fingerprint: the comparison, the ``scan1:`` cursor
and a scan over an in-memory system (pure, no Kafka)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import ConnectorError, ErrorKind
from connectors.base.tracking import (
    FullScanStream,
    ScanComparison,
    decode_snapshot,
    encode_snapshot,
)
from schemas import Operation, RawChange
from tests.connectors.base.tracking.memory import SYSTEM, at, change, published


def fp(n: int) -> str:
    return "sha256:" + f"{n:064x}"[::-1]  # distinct in the prefix the cursor keeps


def test_comparison_tells_creates_updates_unchanged_and_missing() -> None:
    previous = {"a": fp(1)[7:27], "b": fp(2)[7:27], "c": fp(3)[7:27]}
    scan = ScanComparison(previous)
    assert scan.listed("a", fp(1)) is None  # unchanged
    assert scan.listed("b", fp(9)) is Operation.UPDATE
    assert scan.listed("d", fp(4)) is Operation.CREATE
    assert scan.listed("d", fp(5)) is None  # listed twice (moved between pages): first wins
    assert scan.missing() == ["c"]
    scan.still_there("c")
    assert scan.current == {"a": fp(1)[7:27], "b": fp(9)[7:27], "c": fp(3)[7:27], "d": fp(4)[7:27]}


@given(st.dictionaries(st.text(min_size=1, max_size=36), st.integers(0, 2**80).map(fp)))
def test_snapshot_cursor_round_trips(fingerprints: dict[str, str]) -> None:
    assert decode_snapshot(encode_snapshot(fingerprints)) == {
        rid: value[7:27] for rid, value in fingerprints.items()
    }


@pytest.mark.parametrize("text", ["lm1:abc", "scan1:%%%", "scan1:" + "A" * 8])
def test_unreadable_snapshot_cursors_stop_the_stream(text: str) -> None:
    with pytest.raises(ConnectorError) as error:
        decode_snapshot(text, SYSTEM)
    assert error.value.kind is ErrorKind.FATAL


class ListedStream(FullScanStream):
    system = SYSTEM
    name = "listed"

    def __init__(self) -> None:
        super().__init__(clock=lambda: at(0))
        self.listing: list[dict[str, Any]] = []
        self.existing: set[str] = set()

    async def records(self) -> AsyncIterator[tuple[str, Mapping[str, Any]]]:
        for record in self.listing:
            yield str(record["id"]), record

    def change(
        self, record_id: str, operation: Operation, record: Mapping[str, Any], at: datetime
    ) -> RawChange:
        return change(record_id, operation, record, at)

    async def exists(self, record_id: str) -> bool:
        return record_id in self.existing


async def test_a_scan_publishes_creates_updates_and_confirmed_deletes() -> None:
    stream = ListedStream()
    stream.listing = [{"id": "a", "v": 1}, {"id": "b", "v": 1}, {"id": "a", "v": 1}]
    first = await stream.read(None)
    assert published(first.changes) == [("a", Operation.CREATE), ("b", Operation.CREATE)]
    assert (await stream.read(first.cursor)).changes == []

    # b changed, c is new, a is not listed: missed by this scan (it exists) then gone.
    stream.listing = [{"id": "b", "v": 2}, {"id": "c", "v": 1}]
    stream.existing = {"a"}
    second = await stream.read(first.cursor)
    assert published(second.changes) == [("b", Operation.UPDATE), ("c", Operation.CREATE)]
    assert set(decode_snapshot(second.cursor)) == {"a", "b", "c"}
    stream.existing = set()
    third = await stream.read(second.cursor)
    assert published(third.changes) == [("a", Operation.DELETE)]
    assert third.changes[0].record == {}
    assert set(decode_snapshot(third.cursor)) == {"b", "c"}
