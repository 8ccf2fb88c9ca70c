"""Deletions in Tryton against the real server: the party, product and sale streams find
records that are gone and publish deletes; archiving stays an update."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import pytest

from connectors.tryton import TrytonClient
from connectors.tryton.mapping import TrytonMapper
from connectors.tryton.source import ModifiedCursor, PartyStream, ProductStream, SaleStream
from schemas import EntityKind, ExternalIds, Operation, RawChange
from tests.plugins.tryton import TrytonPeer

pytestmark = pytest.mark.integration

EVERY_POLL = dt.timedelta(0)


def _ops(changes: Sequence[RawChange]) -> list[tuple[str, Operation]]:
    return [(c.record_id, c.operation) for c in changes]


async def _product(client: TrytonClient, records: dict[str, object], code: str) -> int:
    (template,) = await client.create(
        "product.template",
        [
            {
                "name": f"Item {code}",
                "type": "service",
                "salable": True,
                "list_price": Decimal("10"),
                "default_uom": records["unit"],
                "sale_uom": records["unit"],
                "account_category": records["account_category"],
                "products": [("create", [{"suffix_code": code}])],
            }
        ],
    )
    (product,) = await client.search("product.product", [("template", "=", template)])
    return product


async def test_deleted_party_and_product_become_delete_events(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    client = tryton_client
    # Pages of two ids: the scan pages through the company's parties and these.
    parties = PartyStream(client, delete_scan=EVERY_POLL, id_page_size=2)
    products = ProductStream(client, delete_scan=EVERY_POLL)
    (gone, kept) = await client.create("party.party", [{"name": "gone"}, {"name": "kept"}])
    item = await _product(client, tryton_db.records, "DEL-1")
    party_cursor = (await parties.read(None)).cursor
    product_cursor = (await products.read(None)).cursor
    assert party_cursor is not None
    assert {gone, kept} <= (ModifiedCursor.decode(party_cursor).known or frozenset())

    # Archiving is an update, and the record is still known.
    await client.write("party.party", [kept], {"active": False})
    archived = await parties.read(party_cursor)
    assert _ops(archived.changes) == [(str(kept), Operation.UPDATE)]
    assert not archived.changes[0].record["active"]
    party_cursor = archived.cursor

    await client.delete("party.party", [gone])
    (row,) = await client.read("product.product", [item], ["template"])
    await client.delete("product.template", [row["template"]])

    party_batch = await parties.read(party_cursor)
    product_batch = await products.read(product_cursor)
    assert _ops(party_batch.changes) == [(str(gone), Operation.DELETE)]
    assert _ops(product_batch.changes) == [(str(item), Operation.DELETE)]
    deleted = party_batch.changes[0]
    assert deleted.record == {}
    assert deleted.object == "party.party"
    assert deleted.source_ts <= deleted.observed_at

    mapper = TrytonMapper(currency="USD")
    (customer,) = mapper.to_canonical(deleted)
    (product_gone,) = mapper.to_canonical(product_batch.changes[0])
    assert (customer.entity, customer.operation, customer.data) == (
        EntityKind.CUSTOMER,
        Operation.DELETE,
        None,
    )
    assert customer.ids == ExternalIds(erp_id=str(gone))
    assert (product_gone.entity, product_gone.ids) == (
        EntityKind.ITEM,
        ExternalIds(erp_id=str(item)),
    )

    # Reported once: the cursor forgets the deleted id, the archived one stays known.
    assert party_batch.cursor is not None
    known = ModifiedCursor.decode(party_batch.cursor).known or frozenset()
    assert gone not in known
    assert kept in known
    assert (await parties.read(party_batch.cursor)).changes == []
    assert (await products.read(product_batch.cursor)).changes == []


async def test_a_draft_sale_deleted_is_a_delete(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    client = tryton_client
    (party,) = await client.create(
        "party.party", [{"name": "buyer", "addresses": [("create", [{"city": "Springfield"}])]}]
    )
    (sale,) = await client.create(
        "sale.sale", [{"party": party, "reference": "DEAL-DEL", "description": "draft"}]
    )
    stream = SaleStream(client, delete_scan=EVERY_POLL)
    first = await stream.read(None)
    assert _ops(first.changes) == [(str(sale), Operation.CREATE)]
    await client.delete("sale.sale", [sale])
    second = await stream.read(first.cursor)
    assert _ops(second.changes) == [(str(sale), Operation.DELETE)]
    (order,) = TrytonMapper().to_canonical(second.changes[0])
    assert (order.entity, order.ids, order.data) == (
        EntityKind.SALES_ORDER,
        ExternalIds(erp_id=str(sale)),
        None,
    )


async def test_scans_wait_for_their_interval(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    client = tryton_client
    (party,) = await client.create("party.party", [{"name": "short-lived"}])
    hourly = PartyStream(client, delete_scan=dt.timedelta(hours=1))
    first = await hourly.read(None)
    await client.delete("party.party", [party])
    # Not due yet: nothing reported, the id stays known.
    quiet = await hourly.read(first.cursor)
    assert quiet.changes == []
    assert quiet.cursor is not None
    assert party in (ModifiedCursor.decode(quiet.cursor).known or frozenset())
    # The same cursor read by a stream whose scan is due reports it.
    due = await PartyStream(client, delete_scan=EVERY_POLL).read(quiet.cursor)
    assert _ops(due.changes) == [(str(party), Operation.DELETE)]
    # Scans switched off: nothing tracked, nothing reported.
    off = await PartyStream(client, delete_scan=None).read(first.cursor)
    assert off.changes == []
    assert off.cursor is not None
    assert ModifiedCursor.decode(off.cursor).known is None


async def test_a_cursor_from_before_deletes_were_tracked_starts_from_trytons_ids(
    tryton_client: TrytonClient, tryton_db: TrytonPeer
) -> None:
    client = tryton_client
    (early, late) = await client.create("party.party", [{"name": "early"}, {"name": "late"}])
    stream = PartyStream(client, delete_scan=EVERY_POLL)
    current = ModifiedCursor.decode((await stream.read(None)).cursor)
    # What an earlier version stored: the high-water mark and the pairs near it, no ids.
    old = ModifiedCursor(current.high_water, current.seen).encode()
    await client.delete("party.party", [early])  # deleted before ids were tracked: unknowable
    baseline = await stream.read(old)
    assert baseline.changes == []
    assert baseline.cursor is not None
    known = ModifiedCursor.decode(baseline.cursor).known or frozenset()
    assert late in known
    assert early not in known
    await client.delete("party.party", [late])
    after = await stream.read(baseline.cursor)
    assert _ops(after.changes) == [(str(late), Operation.DELETE)]
