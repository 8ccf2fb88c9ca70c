"""What the REST record service says about each record type it serves: the body fields, the
column of the SuiteQL table each is kept in, its kind, and the sublist a transaction has."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["text", "ref", "bool", "decimal", "date", "datetime", "select"]


@dataclass(frozen=True)
class Field:
    name: str
    """The REST body field (camelCase)."""
    column: str
    kind: Kind = "text"
    ref: str = ""
    """For ``ref``: the table the id points into."""
    readonly: bool = False
    required: bool = False
    label: str = ""
    choices: tuple[tuple[str, str], ...] = ()
    """For ``select``: (id, refName)."""


@dataclass(frozen=True)
class RecordKind:
    name: str
    """The REST record type: ``customer``, ``salesOrder``…"""
    table: str
    fields: tuple[Field, ...]
    filter_column: str = ""
    filter_value: str = ""
    """The table's column and value that tell this record type's rows from others'."""
    search_type: str = ""
    """``recordtype`` in the transaction table and ``type`` in the deletion log."""
    sublist: str = ""
    """``item`` (order, invoice, credit memo lines), ``apply`` (payment applications) or
    ``price`` (an item's pricing sublist)."""
    name_column: str = "id"
    tran_prefix: str = ""
    statuses: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    def field(self, name: str) -> Field | None:
        for candidate in self.fields:
            if candidate.name == name:
                return candidate
        return None


CREDIT_HOLD = (("AUTO", "Auto"), ("ON", "On"), ("OFF", "Off"))

_CUSTOMER = RecordKind(
    name="customer",
    table="customer",
    search_type="customer",
    name_column="companyname",
    fields=(
        Field("entityId", "entityid"),
        Field("companyName", "companyname", required=True, label="Company Name"),
        Field("email", "email"),
        Field("phone", "phone"),
        Field("url", "url"),
        Field("comments", "comments"),
        Field("externalId", "externalid"),
        Field("subsidiary", "subsidiary", "ref", ref="subsidiary"),
        Field("currency", "currency", "ref", ref="currency"),
        Field("terms", "terms", "ref", ref="term"),
        Field("creditLimit", "creditlimit", "decimal"),
        Field("creditHoldOverride", "creditholdoverride", "select", choices=CREDIT_HOLD),
        Field("isInactive", "isinactive", "bool"),
        Field("isPerson", "isperson", "bool"),
        Field("dateCreated", "datecreated", "datetime", readonly=True),
        Field("lastModifiedDate", "lastmodifieddate", "datetime", readonly=True),
    ),
)


_CONTACT = RecordKind(
    name="contact",
    table="contact",
    search_type="contact",
    name_column="entityid",
    fields=(
        Field("entityId", "entityid"),
        Field("firstName", "firstname"),
        Field("lastName", "lastname"),
        Field("title", "title"),
        Field("email", "email"),
        Field("phone", "phone"),
        Field("company", "company", "ref", ref="customer"),
        Field("subsidiary", "subsidiary", "ref", ref="subsidiary"),
        Field("externalId", "externalid"),
        Field("isInactive", "isinactive", "bool"),
        Field("dateCreated", "datecreated", "datetime", readonly=True),
        Field("lastModifiedDate", "lastmodifieddate", "datetime", readonly=True),
    ),
)


def _item(name: str, item_type: str, search_type: str) -> RecordKind:
    return RecordKind(
        name=name,
        table="item",
        filter_column="itemtype",
        filter_value=item_type,
        search_type=search_type,
        name_column="itemid",
        sublist="price",
        fields=(
            Field("itemId", "itemid", required=True, label="Item Name/Number"),
            Field("displayName", "displayname"),
            Field("description", "description"),
            Field("salesDescription", "salesdescription"),
            Field("basePrice", "baseprice", "decimal"),
            Field("externalId", "externalid"),
            Field("subsidiary", "subsidiary", "ref", ref="subsidiary"),
            Field("isInactive", "isinactive", "bool"),
            Field("createdDate", "createddate", "datetime", readonly=True),
            Field("lastModifiedDate", "lastmodifieddate", "datetime", readonly=True),
        ),
    )


def _transaction_fields(entity_field: str, *extra: Field) -> tuple[Field, ...]:
    return (
        Field(entity_field, "entity", "ref", ref="customer", required=True, label="Customer"),
        Field("tranId", "tranid"),
        Field("tranDate", "trandate", "date"),
        Field("currency", "currency", "ref", ref="currency"),
        Field("exchangeRate", "exchangerate", "decimal"),
        Field("subsidiary", "subsidiary", "ref", ref="subsidiary"),
        Field("memo", "memo"),
        Field("otherRefNum", "otherrefnum"),
        Field("externalId", "externalid"),
        Field("total", "foreigntotal", "decimal", readonly=True),
        Field("createdDate", "createddate", "datetime", readonly=True),
        Field("lastModifiedDate", "lastmodifieddate", "datetime", readonly=True),
        *extra,
    )


ORDER_STATUSES = (
    ("A", "Pending Approval"),
    ("B", "Pending Fulfillment"),
    ("C", "Cancelled"),
    ("D", "Partially Fulfilled"),
    ("E", "Pending Billing/Partially Fulfilled"),
    ("F", "Pending Billing"),
    ("G", "Billed"),
    ("H", "Closed"),
)
INVOICE_STATUSES = (("A", "Open"), ("B", "Paid In Full"))
CREDIT_STATUSES = (("A", "Open"), ("B", "Fully Applied"))
PAYMENT_STATUSES = (("B", "Not Deposited"), ("C", "Deposited"))

KINDS: dict[str, RecordKind] = {
    kind.name: kind
    for kind in (
        _CUSTOMER,
        _CONTACT,
        _item("inventoryItem", "InvtPart", "inventoryitem"),
        _item("serviceSaleItem", "Service", "serviceitem"),
        _item("nonInventorySaleItem", "NonInvtPart", "noninventoryitem"),
        RecordKind(
            name="salesOrder",
            table="transaction",
            filter_column="type",
            filter_value="SalesOrd",
            search_type="salesorder",
            sublist="item",
            name_column="tranid",
            tran_prefix="SO",
            statuses=ORDER_STATUSES,
            fields=_transaction_fields(
                "entity",
                Field("terms", "terms", "ref", ref="term"),
                Field("orderStatus", "status", "select", choices=ORDER_STATUSES[:2]),
            ),
        ),
        RecordKind(
            name="invoice",
            table="transaction",
            filter_column="type",
            filter_value="CustInvc",
            search_type="invoice",
            sublist="item",
            name_column="tranid",
            tran_prefix="INV",
            statuses=INVOICE_STATUSES,
            fields=_transaction_fields(
                "entity",
                Field("terms", "terms", "ref", ref="term"),
                Field("dueDate", "duedate", "date"),
                Field("amountRemaining", "foreignamountunpaid", "decimal", readonly=True),
                Field("amountPaid", "foreignamountpaid", "decimal", readonly=True),
            ),
        ),
        RecordKind(
            name="creditMemo",
            table="transaction",
            filter_column="type",
            filter_value="CustCred",
            search_type="creditmemo",
            sublist="item",
            name_column="tranid",
            tran_prefix="CM",
            statuses=CREDIT_STATUSES,
            fields=_transaction_fields(
                "entity",
                Field("unapplied", "foreignpaymentamountunused", "decimal", readonly=True),
                Field("applied", "foreignpaymentamountused", "decimal", readonly=True),
            ),
        ),
        RecordKind(
            name="customerPayment",
            table="transaction",
            filter_column="type",
            filter_value="CustPymt",
            search_type="customerpayment",
            sublist="apply",
            name_column="tranid",
            tran_prefix="PYMT",
            statuses=PAYMENT_STATUSES,
            fields=_transaction_fields(
                "customer",
                Field("payment", "foreigntotal", "decimal"),
                Field("unapplied", "foreignpaymentamountunused", "decimal", readonly=True),
                Field("applied", "foreignpaymentamountused", "decimal", readonly=True),
            ),
        ),
    )
}

TRANSFORMS: dict[tuple[str, str], str] = {
    ("salesOrder", "invoice"): "OrdBill",
    ("invoice", "creditMemo"): "SaleRet",
}
"""The documented transforms served, with the link type they leave between the lines."""
