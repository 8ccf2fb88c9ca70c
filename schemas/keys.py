"""Partition keys of the sync stage, part of the contract between the connectors that publish
canonical changes and the sync that reads them.

Every message the sync reads is keyed so that everything one decision needs lives in one
partition: a customer's changes and results by customer, a deal's quote changes, approvals,
rechecks and order results by deal, an item by SKU (the natural key both systems share),
and the ERP's orders, invoices and payments by the customer they bill (its ledger).
Commands are sent with the same key, and sinks publish results with the command's key, so
a result comes back to the partition that asked for it. A canonical change is keyed so when
it is normalized (:func:`key_of_change`), so the sync reads it where it was published; one
keyed otherwise (an older producer) is re-keyed by the sync onto its internal topic first.
"""

from __future__ import annotations

import hashlib

from schemas.changes import EntityChange
from schemas.entities import (
    CreditMemo,
    EntityKind,
    ExternalIds,
    Invoice,
    Item,
    Payment,
    SalesOrder,
)


def customer_key(ids: ExternalIds) -> str:
    return f"customer:{ids.crm_id}" if ids.crm_id else f"customer:erp:{ids.erp_id}"


def contact_key(ids: ExternalIds) -> str:
    return f"contact:{ids.crm_id}" if ids.crm_id else f"contact:erp:{ids.erp_id}"


def deal_key(deal_crm_id: str) -> str:
    return f"deal:{deal_crm_id}"


def item_key(sku: str) -> str:
    return f"item:{sku}"


def ledger_key(customer_erp_id: str) -> str:
    return f"ledger:{customer_erp_id}"


def key_of_change(change: EntityChange) -> str:
    """The sync partition key of a canonical change."""
    data = change.data
    if change.entity is EntityKind.CUSTOMER:
        return customer_key(change.ids)
    if change.entity is EntityKind.CONTACT:
        return contact_key(change.ids)
    if change.entity is EntityKind.QUOTE:
        return (
            deal_key(change.ids.crm_id) if change.ids.crm_id else f"quote:erp:{change.ids.erp_id}"
        )
    if change.entity is EntityKind.ITEM:
        if isinstance(data, Item):
            return item_key(data.sku)
        return f"item:id:{change.ids.erp_id or change.ids.crm_id}"
    if isinstance(data, SalesOrder | Invoice | CreditMemo | Payment) and data.customer.erp_id:
        return ledger_key(data.customer.erp_id)
    return f"{change.entity}:{change.ids.erp_id or change.ids.crm_id}"


def identity_key(prefix: str, value: bytes) -> str:
    """The key of a record that is its own identity (a dead letter, an audit record) on a
    compacted topic: ``prefix`` (where it came from, or the record it concerns) and a hash
    of the record. Records of a history share no key, so compaction removes none of them;
    only an identical repeat, or a redacted copy written under the same key, replaces one."""
    return f"{prefix}/{hashlib.sha256(value).hexdigest()[:24]}"
