"""A NetSuite record as q2c's raw change. Pure.

A raw record is the SuiteQL row exactly as NetSuite returned it (lower-case columns, string
values, ``T``/``F`` booleans, times in the account's zone), plus what the source reads
with it under names of its own: ``currencysymbol`` (the ISO code of ``currency``),
``entityexternalid`` (the customer's external id, its CRM id), ``lines`` (the
``transactionline`` rows, each with ``itemsku``) and, for a payment, ``applications`` (the
``previoustransactionlinelink`` rows naming the invoices it pays).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import JsonValue

from connectors.base.tracking import stamp_text
from connectors.netsuite.errors import SYSTEM
from connectors.netsuite.suiteql import parse_time
from schemas import Operation, RawChange

CUSTOMER = "customer"
ITEM = "item"
SALES_ORDER = "salesorder"
INVOICE = "invoice"
CREDIT_MEMO = "creditmemo"
PAYMENT = "payment"

TRANSACTION_TYPES: Mapping[str, str] = {
    SALES_ORDER: "SalesOrd",
    INVOICE: "CustInvc",
    CREDIT_MEMO: "CustCred",
    PAYMENT: "CustPymt",
}
"""``transaction.type`` of each transaction object."""

REST_TYPES: Mapping[str, str] = {
    CUSTOMER: "customer",
    SALES_ORDER: "salesOrder",
    INVOICE: "invoice",
    CREDIT_MEMO: "creditMemo",
    PAYMENT: "customerPayment",
}

DELETED_TYPES: Mapping[str, str] = {
    "customer": CUSTOMER,
    "inventoryitem": ITEM,
    "serviceitem": ITEM,
    "servicesaleitem": ITEM,
    "noninventoryitem": ITEM,
    "noninventorysaleitem": ITEM,
    "item": ITEM,
    "salesorder": SALES_ORDER,
    "invoice": INVOICE,
    "creditmemo": CREDIT_MEMO,
    "customerpayment": PAYMENT,
}
"""The deletion log's record types (lower-cased, spaces removed) → q2c's objects."""

STAMP = "lastmodifiedtime"
"""The modification time to the second, which the source reads beside ``lastmodifieddate``
(SuiteQL returns a date-time column as the date alone)."""
CREATED = "createdtime"
"""The creation time to the second, read the same way."""

IGNORED = ("lastmodifieddate", STAMP, "links")
"""Saving a record unchanged moves these; the content is what counts for the fingerprint."""


def deleted_object(record_type: Any) -> str | None:
    """The object a deletion-log type stands for (None: not one q2c follows)."""
    key = str(record_type or "").replace(" ", "").replace("_", "").lower()
    return DELETED_TYPES.get(key)


def jsonable(value: Any) -> JsonValue:
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def modified_at(row: Mapping[str, Any], zone: ZoneInfo) -> dt.datetime:
    stamp = parse_time(row.get(STAMP) or row.get("lastmodifieddate"), zone)
    if stamp is None:
        raise ValueError(f"record {row.get('id')} has no lastmodifieddate")
    return stamp


def operation_of(row: Mapping[str, Any]) -> Operation:
    """A record never modified since it was created is a create."""
    if row.get(CREATED):
        created, modified = row.get(CREATED), row.get(STAMP)
    else:  # to the day only: a record created and changed the same day reads as a create
        created = row.get("datecreated") or row.get("createddate")
        modified = row.get("lastmodifieddate")
    return Operation.CREATE if created and created == modified else Operation.UPDATE


def raw_change(
    obj: str, row: Mapping[str, Any], zone: ZoneInfo, observed: dt.datetime
) -> RawChange:
    """The raw change of a SuiteQL row (with what the source read with it)."""
    stamp = modified_at(row, zone)
    record = jsonable(row)
    assert isinstance(record, dict)
    return RawChange.of(
        system=SYSTEM,
        object=obj,
        record_id=str(row["id"]),
        operation=operation_of(row),
        source_ts=stamp,
        cursor=f"{stamp_text(stamp)}/{row['id']}",
        record=record,
        observed_at=observed,
        ignore=IGNORED,
    )


def deleted_change(
    row: Mapping[str, Any], zone: ZoneInfo, observed: dt.datetime
) -> RawChange | None:
    """The delete of a deletion-log row (``recordid``, ``type``, ``deleteddate``); None
    for a type q2c does not follow."""
    obj = deleted_object(row.get("type") or row.get("recordtype"))
    if obj is None:
        return None
    stamp = parse_time(row.get(STAMP) or row.get("deleteddate"), zone)
    if stamp is None:
        raise ValueError(f"deletion of {row.get('recordid')} has no deleteddate")
    record_id = str(row.get("recordid") or "").strip()
    if not record_id:
        raise ValueError("a deletion-log row without recordid")
    record = jsonable(row)
    assert isinstance(record, dict)
    return RawChange.of(
        system=SYSTEM,
        object=obj,
        record_id=record_id,
        operation=Operation.DELETE,
        source_ts=stamp,
        cursor=f"deleted@{stamp_text(stamp)}/{record_id}",
        record=record,
        observed_at=observed,
    )
