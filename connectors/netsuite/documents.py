"""What q2c makes of a document exactly as NetSuite delivers it: pure readers for
`q2c connector map netsuite STREAM` and the conformance suite.

A stream's document is a SuiteQL result page (``links``, ``count``, ``hasMore``,
``items``, ``offset``, ``totalResults``; lower-case columns, string values, ``T``/``F``
booleans, times in the account's zone), one row of one, or a record as the REST record
service returns it (camelCase fields, references as ``{"id": .., "refName": ..}``,
sublists as ``{"items": [..]}``), which is read as the row SuiteQL would give. The rows
carry what the source reads with them (see :mod:`connectors.netsuite.records`); a row read
without them maps all the same, with less in it. Times are read in the account's time zone
of the default settings unless the document says its offset.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any
from zoneinfo import ZoneInfo

from connectors.base.spec import DocumentStream, Reading
from connectors.netsuite.errors import error_code, reason_of
from connectors.netsuite.records import (
    CREDIT_MEMO,
    CUSTOMER,
    INVOICE,
    ITEM,
    PAYMENT,
    SALES_ORDER,
    deleted_change,
    raw_change,
)
from connectors.netsuite.settings import NetSuiteSettings
from schemas import RawChange

ZONE = ZoneInfo(str(NetSuiteSettings.model_fields["time_zone"].default))

_REST_RENAMES: Mapping[str, str] = {
    "item": "lines",  # a transaction's item sublist is its lines
    "apply": "applications",
}


def _lower(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def _row_of_rest(record: Mapping[str, Any]) -> dict[str, Any]:
    """A REST record as the SuiteQL row it stands for."""
    row: dict[str, Any] = {}
    for key, value in record.items():
        if key == "links":
            continue
        name = _REST_RENAMES.get(key, _lower(key))
        if isinstance(value, Mapping) and isinstance(value.get("items"), list):
            row[name] = [
                _row_of_rest(v) | {"mainline": "F"}
                for v in value["items"]
                if isinstance(v, Mapping)
            ]
        elif isinstance(value, Mapping):
            row[name] = None if value.get("id") is None else str(value["id"])
            ref = value.get("refName")
            if name == "currency" and isinstance(ref, str) and len(ref) == 3:
                row["currencysymbol"] = ref
            if name == "item" and isinstance(ref, str):
                row["itemsku"] = ref
            if name == "doc":
                row["previousdoc"] = row.pop("doc")
        elif isinstance(value, bool):
            row[name] = "T" if value else "F"
        elif value is None:
            row[name] = None
        else:
            row[name] = str(value)
    if "lastmodifieddate" not in row and "lastmodified" in row:
        row["lastmodifieddate"] = row.pop("lastmodified")
    return row


def rows_of(document: Any) -> list[dict[str, Any]]:
    """The rows in ``document`` (a SuiteQL page, one row, a REST record, or a list)."""
    if isinstance(document, Mapping) and error_code(document) is not None:
        raise ValueError(
            f"an error answer, not records: {error_code(document)}: {reason_of(document, '')}"
        )
    if isinstance(document, Mapping) and isinstance(document.get("items"), list):
        if "hasMore" not in document and "totalResults" not in document:
            raise ValueError("an object with items but not a SuiteQL page")
        records = document["items"]
    elif isinstance(document, Mapping):
        records = [document]
    elif isinstance(document, list):
        records = document
    else:
        raise ValueError(f"a SuiteQL page or a record was expected, not {type(document).__name__}")
    rows: list[dict[str, Any]] = []
    for position, record in enumerate(records):
        if not isinstance(record, Mapping) or ("id" not in record and "recordid" not in record):
            raise ValueError(f"item {position} is not a NetSuite record (an object with an id)")
        rest = any(k != k.lower() for k in record)  # SuiteQL's columns are lower case
        rows.append(_row_of_rest(record) if rest else dict(record))
    return rows


def record_reader(obj: str, what: str) -> DocumentStream:
    def read(document: Any) -> Reading:
        observed = dt.datetime.now(dt.UTC)
        changes: list[RawChange] = []
        for row in rows_of(document):
            try:
                changes.append(raw_change(obj, row, ZONE, observed))
            except ValueError as exc:
                raise ValueError(f"record {row.get('id')}: {exc}") from None
        return Reading(changes)

    return DocumentStream(
        name=obj,
        description=f"{what}: a SuiteQL result page, one row of it, or the REST record",
        read=read,
    )


def _deleted(document: Any) -> Reading:
    observed = dt.datetime.now(dt.UTC)
    changes = [
        change
        for row in rows_of(document)
        if (change := deleted_change(row, ZONE, observed)) is not None
    ]
    if not changes:
        return Reading(action="nothing: no deletion of a record type q2c follows")
    return Reading(changes)


DOCUMENTS: Mapping[str, DocumentStream] = {
    reader.name: reader
    for reader in (
        record_reader(CUSTOMER, "customers"),
        record_reader(ITEM, "items"),
        record_reader(SALES_ORDER, "sales orders (transaction type SalesOrd) with lines"),
        record_reader(INVOICE, "invoices (transaction type CustInvc) with lines"),
        record_reader(CREDIT_MEMO, "credit memos (transaction type CustCred) with lines"),
        record_reader(PAYMENT, "customer payments (CustPymt) with the invoices they pay"),
        DocumentStream(
            name="deletedrecord",
            description="the deletion log (deletedrecord) as a SuiteQL result page",
            read=_deleted,
        ),
    )
}
