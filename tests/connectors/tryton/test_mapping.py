"""Tryton records → canonical entities, on records shaped as the source streams publish
them (decimals as strings, many-to-one fields read through dotted names)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from connectors.base.mapping import MappingError
from connectors.tryton.mapping import TrytonMapper, crm_id_of
from connectors.tryton.sink import net_unit_price
from connectors.tryton.source import ModifiedCursor, jsonable
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
    RawChange,
    SalesOrder,
)

WHEN = datetime(2026, 11, 26, 9, 30, tzinfo=UTC)


def change(obj: str, record: dict[str, Any], operation: Operation = Operation.UPDATE) -> RawChange:
    return RawChange.of(
        system="tryton",
        object=obj,
        record_id=str(record["id"]),
        operation=operation,
        source_ts=WHEN,
        cursor="c",
        record=record,
        observed_at=WHEN,
    )


PARTY = {
    "id": 7,
    "name": "Initech",
    "active": True,
    "identifiers": [{"type": "eu_vat", "code": "BE0897290877"}, {"type": None, "code": "ACC-7"}],
    "addresses": [
        {
            "id": 1,
            "street": "1 Old Rd",
            "city": "Ghent",
            "invoice": False,
            "delivery": True,
            "active": True,
            "country.": {"id": 3, "code": "BE"},
        },
        {
            "id": 2,
            "street": "4120 Freidrich Ln",
            "city": "Austin",
            "postal_code": "78744",
            "invoice": True,
            "delivery": False,
            "active": True,
            "country.": {"id": 9, "code": "US"},
            "subdivision.": {"id": 4, "code": "US-TX"},
        },
    ],
    "contact_mechanisms": [
        {"id": 1, "type": "email", "value": "old@initech.example", "active": False},
        {"id": 2, "type": "email", "value": "ap@initech.example", "active": True},
        {"id": 3, "type": "mobile", "value": "+1 555 0100", "active": True},
    ],
}

SALE = {
    "id": 12,
    "number": "SO-12",
    "reference": "DEAL-3",
    "party": 7,
    "party_identifiers": [{"type": None, "code": "ACC-7"}],
    "state": "processing",
    "invoice_state": "awaiting payment",
    "sale_date": "2026-11-20",
    "currency.": {"id": 1, "code": "USD"},
    "untaxed_amount": "1150.00",
    "tax_amount": "0",
    "total_amount": "1150.00",
    "lines": [
        {
            "id": 31,
            "sequence": 2,
            "type": "line",
            "product": 5,
            "product.": {"id": 5, "code": "B"},
            "quantity": 0.5,
            "unit_price": "300.0000",
            "amount": "150.00",
        },
        {
            "id": 30,
            "sequence": 1,
            "type": "line",
            "product": 4,
            "product.": {"id": 4, "code": "A"},
            "quantity": 2.0,
            "unit_price": "500.0000",
            "amount": "1000.00",
        },
        {"id": 32, "sequence": 3, "type": "comment", "description": "Thanks!"},
    ],
}


def test_party_becomes_customer_with_crm_id_from_untyped_identifier() -> None:
    (result,) = TrytonMapper().to_canonical(change("party.party", PARTY))
    customer = result.data
    assert isinstance(customer, Customer)
    assert result.ids == customer.ids == ExternalIds(erp_id="7", crm_id="ACC-7")
    assert customer.tax_id == "BE0897290877"
    assert customer.email == "ap@initech.example"  # the archived one is ignored
    assert customer.phone == "+1 555 0100"
    assert customer.billing_address is not None
    assert (customer.billing_address.city, customer.billing_address.region) == ("Austin", "US-TX")
    assert customer.shipping_address is not None
    assert customer.shipping_address.country == "BE"
    assert (customer.status, customer.approved) == (CustomerStatus.ACTIVE, False)
    assert (customer.credit_limit, customer.available_credit) == (None, None)


def test_a_credit_limit_is_finance_acceptance_with_credit_and_payment_terms() -> None:
    accepted = {
        **PARTY,
        "credit_limit_amount": "5000.00",
        "credit_amount": "1200.00",
        "customer_payment_term.": {"id": 1, "name": "30 days"},
    }
    (result,) = TrytonMapper(currency="EUR").to_canonical(change("party.party", accepted))
    customer = result.data
    assert isinstance(customer, Customer)
    assert customer.approved
    assert customer.credit_limit == Money(amount=Decimal(5000), currency="EUR")
    assert customer.credit_used == Money(amount=Decimal(1200), currency="EUR")
    assert customer.available_credit == Money(amount=Decimal(3800), currency="EUR")
    assert customer.payment_terms == "30 days"
    # A limit of 0 is acceptance with no credit: every order is held.
    refused = {**accepted, "credit_limit_amount": "0", "credit_amount": "0"}
    (result,) = TrytonMapper(currency="EUR").to_canonical(change("party.party", refused))
    assert isinstance(result.data, Customer)
    assert result.data.approved
    assert result.data.available_credit == Money(amount=Decimal(0), currency="EUR")


def test_the_company_and_its_employees_are_no_customers() -> None:
    mapper = TrytonMapper(own_parties=frozenset({"7"}))
    assert mapper.to_canonical(change("party.party", PARTY)) == ()
    (result,) = mapper.to_canonical(change("party.party", {**PARTY, "id": 8}))
    assert isinstance(result.data, Customer)


def test_archived_party_is_inactive() -> None:
    (result,) = TrytonMapper().to_canonical(change("party.party", {**PARTY, "active": False}))
    assert isinstance(result.data, Customer)
    assert (result.data.status, result.data.approved) == (CustomerStatus.INACTIVE, False)


def test_crm_id_needs_an_untyped_non_empty_identifier() -> None:
    assert crm_id_of([{"type": "eu_vat", "code": "X"}, {"type": None, "code": " "}]) is None
    assert crm_id_of(None) is None
    assert crm_id_of([{"type": "", "code": "ACC-1"}]) == "ACC-1"


def test_sale_becomes_sales_order_in_line_order_without_comments() -> None:
    (result,) = TrytonMapper().to_canonical(change("sale.sale", SALE))
    order = result.data
    assert isinstance(order, SalesOrder)
    assert order.ids == ExternalIds(erp_id="12", crm_id="DEAL-3")
    assert order.quote == ExternalIds(crm_id="DEAL-3")
    assert order.customer == ExternalIds(erp_id="7", crm_id="ACC-7")
    assert order.invoice_status is InvoiceStatus.AWAITING_PAYMENT
    assert order.order_date == date(2026, 11, 20)
    assert [(line.line_no, line.sku, line.quantity) for line in order.lines] == [
        (1, "A", Decimal("2.0")),
        (2, "B", Decimal("0.5")),
    ]
    assert order.total == Money(amount=Decimal("1150.00"), currency="USD")


INVOICE = {
    "id": 40,
    "type": "out",
    "number": "INV-40",
    "party": 7,
    "party_identifiers": [{"type": None, "code": "ACC-7"}],
    "state": "posted",
    "invoice_date": "2026-11-21",
    "currency.": {"id": 1, "code": "USD"},
    "untaxed_amount": "1000.00",
    "tax_amount": "100.00",
    "total_amount": "1100.00",
    "amount_to_pay": "600.00",
    "sales": [12],
    "lines": [
        {
            "id": 1,
            "type": "line",
            "product": 4,
            "product.": {"id": 4, "code": "A"},
            "quantity": 2.0,
            "unit_price": "500",
            "amount": "1000.00",
        },
    ],
}


def test_invoice_and_credit_note() -> None:
    (result,) = TrytonMapper().to_canonical(change("account.invoice", INVOICE))
    invoice = result.data
    assert isinstance(invoice, Invoice)
    assert (invoice.state, invoice.sales_order) == (InvoiceState.POSTED, ExternalIds(erp_id="12"))
    assert invoice.amount_due == Money(amount=Decimal("600.00"), currency="USD")

    credit = {
        **INVOICE,
        "untaxed_amount": "-200.00",
        "tax_amount": "-20.00",
        "total_amount": "-220.00",
        "amount_to_pay": "-220.00",
        "description": "Damaged goods",
        "lines": [{**INVOICE["lines"][0], "quantity": -0.4, "amount": "-200.00"}],  # type: ignore[index]
    }
    (result,) = TrytonMapper().to_canonical(change("account.invoice", credit))
    memo = result.data
    assert isinstance(memo, CreditMemo)
    assert memo.total == Money(amount=Decimal("220.00"), currency="USD")
    assert memo.reason == "Damaged goods"
    assert [(line.quantity, line.amount.amount) for line in memo.lines] == [
        (Decimal("0.4"), Decimal("200.00"))
    ]
    assert memo.credited_invoice is None
    assert memo.amount_open == Money(amount=Decimal("220.00"), currency="USD")
    # Made by crediting an invoice: its lines' origins name the invoice it corrects.
    (result,) = TrytonMapper().to_canonical(
        change("account.invoice", {**credit, "origin_invoices": [15]})
    )
    assert isinstance(result.data, CreditMemo)
    assert result.data.credited_invoice == ExternalIds(erp_id="15")


def test_supplier_invoices_and_deletes_are_not_part_of_the_sync() -> None:
    mapper = TrytonMapper()
    assert mapper.to_canonical(change("account.invoice", {**INVOICE, "type": "in"})) == ()
    assert mapper.to_canonical(change("account.invoice", {"id": 3}, Operation.DELETE)) == ()
    assert mapper.to_canonical(change("stock.move", {"id": 1})) == ()


def test_product_needs_a_code_and_prices_in_the_company_currency() -> None:
    product = {
        "id": 5,
        "code": "CONS-DAY",
        "name": "Consulting day",
        "salable": True,
        "active": True,
        "list_price_used": "800.0000",
        "default_uom.": {"id": 1, "name": "Unit"},
    }
    (result,) = TrytonMapper(currency="EUR").to_canonical(change("product.product", product))
    assert isinstance(result.data, Item)
    assert result.data.price("EUR") == Money(amount=Decimal("800"), currency="EUR")
    assert result.data.unit == "Unit"
    with pytest.raises(MappingError) as raised:
        TrytonMapper().to_canonical(change("product.product", {**product, "code": None}))
    assert raised.value.field == "code"


def test_unreadable_records_are_mapping_errors() -> None:
    with pytest.raises(MappingError):
        TrytonMapper().to_canonical(change("sale.sale", {**SALE, "currency.": None}))
    with pytest.raises(MappingError):
        TrytonMapper().to_canonical(change("sale.sale", {**SALE, "total_amount": "lots"}))
    with pytest.raises(MappingError):
        TrytonMapper().to_canonical(change("sale.sale", {**SALE, "state": "teleported"}))


def test_discounted_unit_price_at_tryton_precision() -> None:
    assert net_unit_price(Decimal("800"), Decimal(25)) == Decimal("600.0000")
    assert net_unit_price(Decimal("9.99"), Decimal("33.333")) == Decimal("6.6600")
    assert net_unit_price(Decimal("10"), Decimal(0)) == Decimal("10.0000")


def test_cursor_round_trip_and_json_values() -> None:
    cursor = ModifiedCursor(WHEN, frozenset({(3, WHEN.isoformat()), (4, WHEN.isoformat())}))
    assert ModifiedCursor.decode(cursor.encode()) == cursor
    assert ModifiedCursor.decode(None) == ModifiedCursor()
    assert jsonable({"d": date(2026, 1, 2), "t": WHEN, "n": Decimal("1.50"), "l": (1, None)}) == {
        "d": "2026-01-02",
        "t": "2026-11-26T09:30:00Z",
        "n": "1.50",
        "l": [1, None],
    }


PAYMENT_LINE = {
    "id": 90,
    "party": 7,
    "party_identifiers": [{"type": None, "code": "ACC-7"}],
    "date": "2026-11-25",
    "debit": "0",
    "credit": "600.00",
    "currency.": {"id": 1, "code": "USD"},
    "description": "",
    "journal.": {"id": 2, "name": "Cash"},
    "move.": {"id": 44, "number": "MV-44"},
    "invoice_payment": 40,
}


def test_payment_line_becomes_payment_applied_to_its_invoice() -> None:
    (result,) = TrytonMapper().to_canonical(change("account.move.line", PAYMENT_LINE))
    payment = result.data
    assert isinstance(payment, Payment)
    assert payment.customer == ExternalIds(erp_id="7", crm_id="ACC-7")
    assert (payment.method, payment.reference) == ("Cash", "MV-44")
    assert payment.received_on == date(2026, 11, 25)
    assert [(a.invoice.erp_id, a.amount.amount) for a in payment.applications] == [
        ("40", Decimal("600.00"))
    ]
    assert (payment.refund, payment.unapplied) == (False, None)


def test_a_debit_paying_out_a_credit_note_is_a_refund() -> None:
    refund = {**PAYMENT_LINE, "debit": "50.00", "credit": "0"}
    (result,) = TrytonMapper().to_canonical(change("account.move.line", refund))
    payment = result.data
    assert isinstance(payment, Payment)
    assert payment.refund
    assert payment.amount == Money(amount=Decimal("50.00"), currency="USD")
    assert [(a.invoice.erp_id, a.amount.amount) for a in payment.applications] == [
        ("40", Decimal("50.00"))
    ]
    nothing = {**PAYMENT_LINE, "debit": "0", "credit": "0"}
    assert TrytonMapper().to_canonical(change("account.move.line", nothing)) == ()


def test_the_overpayment_line_of_the_same_move_is_the_unapplied_part_of_the_payment() -> None:
    receivable = 5
    overpaid = {
        **PAYMENT_LINE,
        "account": receivable,
        "credit": "70.00",
        "move_lines": [
            # Tryton's pay wizard: the line paying the invoice, the overpayment on the same
            # receivable and party (paying no invoice), and the cash counterpart.
            {
                "id": 91,
                "account": receivable,
                "party": 7,
                "debit": "0",
                "credit": "30.00",
                "invoice_payment": None,
                "reconciliation": 3,  # reconciled with the invoice it overpaid: still credit
            },
            {
                "id": 92,
                "account": 9,
                "party": None,
                "debit": "100.00",
                "credit": "0",
                "invoice_payment": None,
                "reconciliation": None,
            },
            # Another customer's line, and a line on another account, are not this credit.
            {
                "id": 93,
                "account": receivable,
                "party": 8,
                "debit": "0",
                "credit": "5.00",
                "invoice_payment": None,
                "reconciliation": None,
            },
            {
                "id": 94,
                "account": 11,
                "party": 7,
                "debit": "0",
                "credit": "4.00",
                "invoice_payment": None,
                "reconciliation": None,
            },
        ],
    }
    (result,) = TrytonMapper().to_canonical(change("account.move.line", overpaid))
    payment = result.data
    assert isinstance(payment, Payment)
    assert payment.amount == Money(amount=Decimal("100.00"), currency="USD")
    assert payment.unapplied == Money(amount=Decimal("30.00"), currency="USD")
    assert [a.amount.amount for a in payment.applications] == [Decimal("70.00")]


def test_invoice_due_date_is_the_earliest_maturity() -> None:
    record = {
        **INVOICE,
        "lines_to_pay": [
            {"id": 1, "maturity_date": "2026-12-26"},
            {"id": 2, "maturity_date": "2026-12-11"},
            {"id": 3, "maturity_date": None},
        ],
    }
    (result,) = TrytonMapper().to_canonical(change("account.invoice", record))
    assert isinstance(result.data, Invoice)
    assert result.data.due_date == date(2026, 12, 11)
