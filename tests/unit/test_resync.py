"""Resync without Kafka: a record sent again gets a fingerprint of its own, so the sync
validates a rejected deal again instead of taking it for a repeat; the sync status q2c
wrote on a CRM deal is read back; reconcile's report as text and JSON."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from connectors.bottlecrm.mapping import BottleCrmMapper
from connectors.bottlecrm.source import change_of
from q2c.reconcile import SystemRead, natural_key, shown_balance, sync_mark
from q2c.reconcile_report import Repairs, as_json, as_text
from q2c.resync import fresh, rejected_deals, sources_of
from schemas import CreateSalesOrder, Operation, RawChange
from schemas.changes import SystemRole
from schemas.entities import EntityKind, ExternalIds, Quote
from streams.config import SyncConfig
from streams.handlers.deals import OrderState, OrderStatus, on_quote_change
from streams.rules.reconcile import Resync, Snapshot, SyncMark, reconcile
from tests.streams.factories import customer, item

SEEN = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
NOW = SEEN + timedelta(hours=2)
DEAL_ID = "a5ff1053-00fa-4e46-83f6-a63b3531c1ad"
ACCOUNT_ID = "f2848d88-822d-449e-a4fd-2824bbef424d"
DEAL: dict[str, Any] = {
    "id": DEAL_ID,
    "name": "Acme deal",
    "account": {"id": ACCOUNT_ID, "name": "Acme Ltd"},
    "stage": "CLOSED_WON",
    "currency": "EUR",
    "amount": "300.00",
    "line_items": [
        {
            "id": "72087a27",
            "product": {"id": "717a5c9b", "name": "Gadget", "sku": "G-404"},
            "name": "Gadget",
            "quantity": "3.00",
            "unit_price": "100.00",
            "discount_type": "FIXED",
            "discount_value": "0.00",
            "discount_amount": "0.00",
            "subtotal": "300.00",
            "total": "300.00",
            "order": 0,
        }
    ],
    "custom_fields": {
        "q2c_sync_status": "rejected",
        "q2c_sync_reason": "waiting for item(s) 717a5c9b to exist in the ERP after 1:00:00",
    },
}


def raw_deal(record: dict[str, Any] = DEAL) -> RawChange:
    return change_of("deal", DEAL_ID, Operation.UPDATE, record, SEEN, "scan@t", SEEN)


def test_a_resent_record_is_the_same_record_under_a_new_fingerprint() -> None:
    raw = raw_deal()
    again = fresh(raw, NOW)
    assert again.record == raw.record
    assert (again.system, again.object, again.record_id) == ("bottlecrm", "deal", DEAL_ID)
    assert again.fingerprint != raw.fingerprint
    assert again.fingerprint != fresh(raw, NOW + timedelta(seconds=1)).fingerprint
    assert again.cursor == f"resync@{NOW.isoformat()}"
    assert (again.source_ts, again.observed_at) == (NOW, NOW)
    RawChange.model_validate(again.model_dump())  # still a valid change event


def test_a_rejected_deal_resent_is_validated_again_and_ordered_once_its_item_exists() -> None:
    mapper = BottleCrmMapper(default_currency="EUR")
    (first,) = mapper.to_canonical(raw_deal())
    assert isinstance(first.data, Quote)
    (line,) = first.data.lines
    assert line.item is not None
    rejected = OrderState(
        deal=DEAL_ID,
        status=OrderStatus.REJECTED,
        quote=first.data,
        fingerprint=first.fingerprint,
        reported="rejected: waiting for item(s) 717a5c9b to exist in the ERP after 1:00:00",
    )

    class Refs:
        def customer(self, ids: object) -> Any:
            return customer(crm_id=ACCOUNT_ID, erp_id="42")

        def item(self, key: str) -> Any:
            return item("G-404", "100.00", erp_id="9", ids=ExternalIds(crm_id=key, erp_id="9"))

        def deleted_item(self, key: str) -> Any:
            return None

    # The same change again (a source repeating itself) is a repeat: nothing happens.
    state, step = on_quote_change(rejected, first, Refs(), SyncConfig(), NOW)
    assert (state, step.commands) == (rejected, [])

    (resent,) = mapper.to_canonical(fresh(raw_deal(), NOW))
    state, step = on_quote_change(rejected, resent, Refs(), SyncConfig(), NOW)
    assert state.status is OrderStatus.ORDERING
    (emit,) = step.commands
    assert isinstance(emit.command, CreateSalesOrder)
    assert emit.command.reference == DEAL_ID


def test_the_sync_status_q2c_wrote_is_read_from_the_crm_record() -> None:
    assert sync_mark(raw_deal()) == SyncMark(
        "rejected", "waiting for item(s) 717a5c9b to exist in the ERP after 1:00:00"
    )
    assert sync_mark(raw_deal({**DEAL, "custom_fields": {}})) is None
    assert sync_mark(raw_deal({**DEAL, "custom_fields": None})) is None
    status_only = {**DEAL, "custom_fields": {"q2c_sync_status": "waiting"}}
    assert sync_mark(raw_deal(status_only)) == SyncMark("waiting", "")


def test_the_balance_q2c_wrote_on_an_account_is_read_back() -> None:
    def account(custom: object) -> RawChange:
        record = {"id": ACCOUNT_ID, "name": "Acme Ltd", "custom_fields": custom}
        return change_of("account", ACCOUNT_ID, Operation.UPDATE, record, SEEN, "scan@t", SEEN)

    assert shown_balance(account({"erp_outstanding_balance": "250.50"})) == Decimal("250.50")
    assert shown_balance(account({"erp_outstanding_balance": 12})) == Decimal(12)
    assert shown_balance(account({"erp_outstanding_balance": ""})) is None
    assert shown_balance(account({"erp_outstanding_balance": "n/a"})) is None
    assert shown_balance(account({})) is None


def test_rejected_deals_are_found_in_a_read_and_resent_from_it() -> None:
    (deal,) = BottleCrmMapper(default_currency="EUR").to_canonical(raw_deal())
    assert deal.data is not None
    key = natural_key(deal.data)
    assert key == DEAL_ID
    snapshot = Snapshot(customers=[], items=[], quotes=[], orders=[])
    snapshot.marks[DEAL_ID] = SyncMark("rejected", "no item")
    snapshot.marks["deal-ok"] = SyncMark("synced", "sales order 3 in tryton")
    read = SystemRead("bottlecrm", snapshot, {(EntityKind.QUOTE, DEAL_ID): raw_deal()})
    wanted = rejected_deals(read)
    assert wanted == [Resync(SystemRole.CRM, EntityKind.QUOTE, DEAL_ID)]
    gone = Resync(SystemRole.CRM, EntityKind.CUSTOMER, "acc-gone")
    found, missing = sources_of(read, [*wanted, *wanted, gone])
    assert [c.record_id for c in found] == [DEAL_ID]
    assert missing == [gone]


def test_the_report_puts_explained_deals_in_their_section() -> None:
    (deal,) = BottleCrmMapper(default_currency="EUR").to_canonical(raw_deal())
    assert isinstance(deal.data, Quote)
    crm = Snapshot(
        customers=[],
        items=[],
        quotes=[deal.data],
        orders=[],
        marks={DEAL_ID: SyncMark("rejected", "no such item")},
    )
    erp = Snapshot(customers=[], items=[], quotes=[], orders=[])
    result = reconcile(crm, erp, SyncConfig().trigger, "EUR")
    text = as_text(("bottlecrm", crm), ("tryton", erp), result)
    assert text[1].startswith("rejected (1): rejected by q2c")
    assert text[2] == f"  {DEAL_ID}: no such item"
    assert text[-1] == "no discrepancy (every difference is explained)"

    repairs = Repairs([fresh(raw_deal(), NOW)], ())
    document = as_json(("bottlecrm", crm), ("tryton", erp), result, repairs)
    parsed = json.loads(json.dumps(document))
    assert parsed["clean"] is True
    assert parsed["discrepancies"] == []
    assert parsed["explained"]["rejected"] == [{"record": DEAL_ID, "reason": "no such item"}]
    assert parsed["explained"]["held"] == []
    assert parsed["systems"]["crm"] == {
        "system": "bottlecrm",
        "customers": 0,
        "items": 0,
        "deals": 1,
        "orders": 0,
        "invoices": 0,
    }
    assert parsed["resynced"] == [{"system": "bottlecrm", "object": "deal", "record_id": DEAL_ID}]
