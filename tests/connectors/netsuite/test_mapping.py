"""NetSuite records → canonical entities, on SuiteQL rows shaped as the source publishes
them (string values, T/F booleans, the account's date format, what rides along)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from connectors.base.mapping import MappingError
from connectors.netsuite.mapping import NetSuiteMapper, order_status_code
from connectors.netsuite.records import deleted_change, raw_change
from schemas import (
    CreditMemo,
    Customer,
    CustomerStatus,
    ExternalIds,
    Invoice,
    InvoiceState,
    InvoiceStatus,
    Item,
    Money,
    Operation,
    Payment,
    SalesOrder,
    SalesOrderState,
)

LA = ZoneInfo("America/Los_Angeles")
SEEN = dt.datetime(2026, 12, 2, tzinfo=dt.UTC)
MAPPER = NetSuiteMapper(currency="USD")


def one(obj: str, row: dict[str, Any]) -> Any:
    (change,) = MAPPER.canonical(raw_change(obj, row, LA, SEEN))
    return change


CUSTOMER = {
    "links": [],
    "id": "101",
    "entityid": "CUST101",
    "companyname": "Initech",
    "email": "ap@initech.example",
    "externalid": "acc-7",
    "subsidiary": "1",
    "currency": "2",
    "currencysymbol": "EUR",
    "terms": "3",
    "creditlimit": "50000",
    "creditholdoverride": "AUTO",
    "isinactive": "F",
    "datecreated": "12/1/2026",
    "createdtime": "2026-12-01 09:00:00",
    "lastmodifieddate": "12/1/2026",
    "lastmodifiedtime": "2026-12-01 09:30:15",
}


def test_a_customer() -> None:
    change = one("customer", CUSTOMER)
    customer = change.data
    assert isinstance(customer, Customer)
    assert customer.ids == ExternalIds(erp_id="101", crm_id="acc-7")
    assert customer.name == "Initech"
    assert customer.currency == "EUR"
    assert customer.payment_terms == "3"
    assert customer.approved
    assert change.operation is Operation.UPDATE
    assert change.source_ts == dt.datetime(2026, 12, 1, 17, 30, 15, tzinfo=dt.UTC)


def test_a_customer_on_credit_hold_is_not_approved_and_an_inactive_one_inactive() -> None:
    held = one("customer", CUSTOMER | {"creditholdoverride": "ON"}).data
    assert not held.approved
    gone = one("customer", CUSTOMER | {"isinactive": "T"}).data
    assert gone.status is CustomerStatus.INACTIVE


def test_a_record_never_modified_since_created_is_a_create() -> None:
    change = raw_change("customer", CUSTOMER | {"createdtime": "2026-12-01 09:30:15"}, LA, SEEN)
    assert change.operation is Operation.CREATE


def test_an_item_with_its_base_price() -> None:
    item = one(
        "item",
        {
            "id": "7",
            "itemid": "SKU-7",
            "displayname": "Support plan",
            "itemtype": "Service",
            "baseprices": [
                {"currency": "USD", "unitprice": "120.5"},
                {"currency": "EUR", "unitprice": "110"},
            ],
            "isinactive": "F",
            "lastmodifiedtime": "2026-12-01 09:30:15",
        },
    ).data
    assert isinstance(item, Item)
    assert item.sku == "SKU-7"
    assert item.price("USD") == Money(amount=Decimal("120.5"), currency="USD")
    assert item.price("EUR") == Money(amount=Decimal("110"), currency="EUR")


def test_an_item_without_itemid_cannot_sync() -> None:
    with pytest.raises(MappingError, match="itemid"):
        one("item", {"id": "7", "lastmodifiedtime": "2026-12-01 09:30:15"})


def _lines() -> list[dict[str, Any]]:
    return [
        {"transaction": "55", "id": "0", "mainline": "T", "foreignamount": "250"},
        {
            "transaction": "55",
            "id": "1",
            "mainline": "F",
            "taxline": "F",
            "item": "7",
            "itemsku": "SKU-7",
            "quantity": "-2",
            "rate": "125",
            "foreignamount": "-250",
        },
    ]


ORDER = {
    "id": "55",
    "tranid": "SO55",
    "type": "SalesOrd",
    "entity": "101",
    "entityexternalid": "acc-7",
    "externalid": "deal-9",
    "status": "B",
    "trandate": "12/1/2026",
    "currency": "2",
    "currencysymbol": "EUR",
    "exchangerate": "1.08",
    "subsidiary": "1",
    "foreigntotal": "250",
    "lastmodifiedtime": "2026-12-01 09:30:15",
    "lines": _lines(),
}


def test_a_sales_order_from_a_deal() -> None:
    order = one("salesorder", ORDER).data
    assert isinstance(order, SalesOrder)
    assert order.ids == ExternalIds(erp_id="55", crm_id="deal-9")
    assert order.customer == ExternalIds(erp_id="101", crm_id="acc-7")
    assert order.state is SalesOrderState.CONFIRMED
    assert order.order_date == dt.date(2026, 12, 1)
    assert order.total == Money(amount=Decimal("250"), currency="EUR")
    (line,) = order.lines
    assert line.quantity == Decimal(2)
    assert line.amount == Money(amount=Decimal("250"), currency="EUR")
    assert line.sku == "SKU-7"


def test_order_statuses_read_as_codes_or_names() -> None:
    assert order_status_code("SalesOrd:G") == "G"
    assert order_status_code("Pending Approval") == "A"
    assert one("salesorder", ORDER | {"status": "A"}).data.state is SalesOrderState.QUOTATION
    billed = one("salesorder", ORDER | {"status": "G"}).data
    assert billed.invoice_status is InvoiceStatus.AWAITING_PAYMENT
    with pytest.raises(MappingError, match="status"):
        one("salesorder", ORDER | {"status": "Z"})


def test_an_invoice_with_what_remains_to_pay() -> None:
    invoice = one(
        "invoice",
        ORDER
        | {
            "id": "60",
            "type": "CustInvc",
            "status": "A",
            "externalid": None,
            "foreignamountunpaid": "100",
            "duedate": "12/31/2026",
            "lines": [line | {"transaction": "60", "createdfrom": "55"} for line in _lines()],
        },
    ).data
    assert isinstance(invoice, Invoice)
    assert invoice.state is InvoiceState.POSTED
    assert invoice.sales_order == ExternalIds(erp_id="55")
    assert invoice.amount_due == Money(amount=Decimal("100"), currency="EUR")
    assert invoice.due_date == dt.date(2026, 12, 31)


def test_a_credit_memo_is_positive_and_names_the_invoice() -> None:
    memo = one(
        "creditmemo",
        ORDER
        | {
            "id": "61",
            "type": "CustCred",
            "status": "A",
            "foreigntotal": "-50",
            "createdfrom": "60",
        },
    ).data
    assert isinstance(memo, CreditMemo)
    assert memo.total == Money(amount=Decimal("50"), currency="EUR")
    assert memo.credited_invoice == ExternalIds(erp_id="60")


def test_a_payment_with_the_invoices_it_pays() -> None:
    payment = one(
        "payment",
        {
            "id": "70",
            "tranid": "PYMT70",
            "type": "CustPymt",
            "entity": "101",
            "status": "B",
            "trandate": "12/2/2026",
            "currencysymbol": "EUR",
            "foreigntotal": "150",
            "lastmodifiedtime": "2026-12-02 10:00:00",
            "applications": [
                {"previousdoc": "60", "nextdoc": "70", "foreignamount": "100"},
                {"previousdoc": "62", "nextdoc": "70", "foreignamount": "50"},
            ],
        },
    ).data
    assert isinstance(payment, Payment)
    assert payment.amount == Money(amount=Decimal("150"), currency="EUR")
    assert [a.invoice.erp_id for a in payment.applications] == ["60", "62"]
    assert payment.received_on == dt.date(2026, 12, 2)


def test_a_transaction_without_currency_code_is_refused() -> None:
    with pytest.raises(MappingError, match="ISO code"):
        one("salesorder", ORDER | {"currencysymbol": None})


def test_the_deletion_log_becomes_deletes_of_followed_types() -> None:
    row = {
        "recordid": "55",
        "type": "salesorder",
        "recordtypename": "Sales Order",
        "deleteddate": "12/2/2026",
        "lastmodifiedtime": "2026-12-02 08:00:00",
    }
    change = deleted_change(row, LA, SEEN)
    assert change is not None
    assert (change.object, change.record_id, change.operation) == (
        "salesorder",
        "55",
        Operation.DELETE,
    )
    (entity,) = MAPPER.canonical(change)
    assert entity.ids == ExternalIds(erp_id="55")
    assert deleted_change(row | {"type": "journalentry"}, LA, SEEN) is None
