"""Deletions in Tryton: the cursor that remembers published ids, and their canonical form."""

from __future__ import annotations

import base64
import zlib
from datetime import UTC, datetime

import orjson
import pytest

from connectors.tryton.mapping import TrytonMapper
from connectors.tryton.source import InvoiceStream, ModifiedCursor, id_runs, ids_of
from schemas import EntityKind, ExternalIds, Operation, RawChange
from schemas.changes import SystemRole

WHEN = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def test_ids_are_kept_as_runs() -> None:
    ids = frozenset({1, 2, 3, 4, 7, 9, 10, 11})
    assert id_runs(ids) == [1, 4, 3, 1, 2, 3]  # 1-4, 7, 9-11 as (distance, length) pairs
    assert ids_of(id_runs(ids)) == ids
    assert id_runs(frozenset()) == []
    # A hundred thousand ids with one gap in ten stay a few kilobytes once packed.
    many = frozenset(i for i in range(1, 100_001) if i % 10)
    cursor = ModifiedCursor(WHEN, frozenset(), known=many, scanned_at=WHEN).encode()
    assert len(cursor) < 2_000
    assert ModifiedCursor.decode(cursor).known == many


def test_cursor_round_trip_with_known_ids() -> None:
    cursor = ModifiedCursor(
        WHEN, frozenset({(3, WHEN.isoformat())}), known=frozenset({3, 4, 8}), scanned_at=WHEN
    )
    assert ModifiedCursor.decode(cursor.encode()) == cursor


def test_a_cursor_written_before_deletes_were_tracked_still_decodes() -> None:
    # The format of cursors already stored: high-water mark and seen pairs only.
    old = {"hw": WHEN.isoformat(), "seen": [[3, WHEN.isoformat()]]}
    text = "lm1:" + base64.urlsafe_b64encode(zlib.compress(orjson.dumps(old), 9)).decode()
    decoded = ModifiedCursor.decode(text)
    assert decoded == ModifiedCursor(WHEN, frozenset({(3, WHEN.isoformat())}))
    assert decoded.known is None  # not tracked yet: the next scan starts from Tryton's ids
    assert decoded.scanned_at is None


def _deleted(obj: str, record_id: str) -> RawChange:
    return RawChange.of(
        system="tryton",
        object=obj,
        record_id=record_id,
        operation=Operation.DELETE,
        source_ts=WHEN,
        cursor=f"deleted@{WHEN.isoformat()}/{record_id}",
        record={},
        observed_at=WHEN,
    )


def test_deleted_parties_products_and_sales_become_delete_changes() -> None:
    mapper = TrytonMapper()
    for obj, kind in (
        ("party.party", EntityKind.CUSTOMER),
        ("product.product", EntityKind.ITEM),
        ("sale.sale", EntityKind.SALES_ORDER),
    ):
        raw = _deleted(obj, "42")
        (result,) = mapper.to_canonical(raw)
        assert result.entity is kind
        assert result.operation is Operation.DELETE
        assert result.data is None
        assert result.ids == ExternalIds(erp_id="42")
        assert result.origin_role is SystemRole.ERP
        assert result.origin_id == "42"
        assert (result.source_ts, result.fingerprint) == (WHEN, raw.fingerprint)


def test_deletes_of_objects_the_source_does_not_scan_are_ignored() -> None:
    assert TrytonMapper().to_canonical(_deleted("account.invoice", "7")) == ()


def test_a_stream_filtered_by_a_domain_cannot_report_deletes() -> None:
    with pytest.raises(TypeError, match="domain"):

        class _Filtered(InvoiceStream):
            reports_deletes = True
