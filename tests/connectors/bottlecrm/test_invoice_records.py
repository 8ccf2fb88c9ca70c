"""An ERP invoice as a BottleCRM invoice: its body and lines, its ERP fields, and the
payments q2c records on it so that BottleCRM's paid, due and status follow the ERP."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from connectors.bottlecrm.invoices import (
    credit_memo_lines,
    custom_values,
    invoice_body,
    invoice_title,
    line_item,
    payment_changes,
    wanted_payments,
)
from connectors.bottlecrm.sink import balances_text
from schemas import ExternalIds, Money, UpdateAccountBalance
from schemas.commands import CrmInvoiceState, CurrencyBalance, InvoiceSettlement, SettlementKind
from tests.schemas.samples import crm_invoice


def eur(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="EUR")


def test_the_body_carries_account_contact_deal_dates_tax_and_lines() -> None:
    command = crm_invoice("k")
    body = invoice_body(command, "acc-uuid", "contact-uuid", with_lines=True)
    assert body["invoice_title"] == "Invoice INV-40"
    assert (body["account_id"], body["contact_id"], body["opportunity_id"]) == (
        "acc-uuid",
        "contact-uuid",
        "deal-42",
    )
    assert body["tax_rate"] == Decimal("19.00")
    (line,) = body["line_items"]
    assert line["name"] == "SKU-0001"
    assert (line["quantity"], line["unit_price"], line["tax_rate"]) == (
        Decimal("2.00"),
        Decimal("50.00"),
        Decimal("19.00"),
    )
    assert "discount_type" not in line
    assert "line_items" not in invoice_body(command, "a", "c", with_lines=False)
    draft = command.model_copy(update={"number": None, "state": CrmInvoiceState.DRAFT})
    assert invoice_title(draft) == "Draft invoice (ERP 40)"


def test_a_line_discounted_in_the_erp_keeps_its_net_amount() -> None:
    (line,) = crm_invoice("k").lines
    discounted = line.model_copy(update={"amount": eur("90.00"), "tax": eur("0")})
    item = line_item(discounted)
    assert (item["discount_type"], item["discount_value"]) == ("FIXED", Decimal("10.00"))
    assert item["tax_rate"] == 0


def test_the_erp_fields_say_paid_due_credited_overpaid_refunded_and_the_memos() -> None:
    values = custom_values(crm_invoice("k"))
    assert values["erp_invoice_id"] == "40"
    assert values["erp_invoice_state"] == "partially_paid"
    assert (values["erp_amount_paid"], values["erp_amount_due"]) == (Decimal(50), Decimal(50))
    assert values["erp_credited_total"] == Decimal(19)
    assert values["erp_credit_memos"] == (
        "CN-41 posted 2026-11-22: 19.00 credited, 19.00 open, 0.00 refunded (damaged)"
    )
    assert credit_memo_lines(crm_invoice("k").model_copy(update={"credit_memos": ()})) is None


def test_payments_are_added_and_removed_until_they_match_the_settlements() -> None:
    command = crm_invoice("k")
    memo = InvoiceSettlement(
        kind=SettlementKind.CREDIT_MEMO,
        ids=ExternalIds(erp_id="41"),
        reference="CN-41",
        amount=eur("19.00"),
    )
    command = command.model_copy(update={"settlements": (*command.settlements, memo)})
    wanted = wanted_payments(command)
    assert sorted(wanted) == ["q2c erp credit memo 41", "q2c erp payment 90"]
    assert wanted["q2c erp payment 90"]["payment_method"] == "BANK_TRANSFER"
    assert wanted["q2c erp credit memo 41"]["payment_method"] == "OTHER"
    assert wanted["q2c erp credit memo 41"]["payment_date"] == command.issue_date

    stored = [
        {"id": "p1", "amount": "50.00", "notes": "q2c erp payment 90"},
        {"id": "p2", "amount": "19.00", "notes": "q2c erp credit memo 41"},
        {"id": "p3", "amount": "5.00", "notes": "cash taken at the counter"},
    ]
    assert payment_changes(wanted, stored) == ([], [])
    # A memo refunded since: its payment goes; a payment recorded twice keeps one.
    command = command.model_copy(update={"settlements": command.settlements[:1]})
    twice = [*stored, {"id": "p4", "amount": "50.00", "notes": "q2c erp payment 90"}]
    assert payment_changes(wanted_payments(command), twice) == (["p2", "p4"], [])
    # Nothing stored yet: both are added; a draft or cancelled invoice carries none.
    delete, add = payment_changes(wanted, [])
    assert (delete, [p["notes"] for p in add]) == (
        [],
        ["q2c erp payment 90", "q2c erp credit memo 41"],
    )
    for state in (CrmInvoiceState.DRAFT, CrmInvoiceState.CANCELLED):
        assert wanted_payments(command.model_copy(update={"state": state})) == {}


def test_the_balances_text_shows_credit_as_credit() -> None:
    zero, credit = (
        Money(amount=Decimal(0), currency="USD"),
        Money(amount=Decimal(30), currency="USD"),
    )
    command = UpdateAccountBalance(
        idempotency_key="k",
        target_system="bottlecrm",
        issued_at=datetime(2026, 11, 30, tzinfo=UTC),
        account=ExternalIds(crm_id="acc-1"),
        outstanding=zero,
        overdue=zero,
        as_of=datetime(2026, 11, 30, tzinfo=UTC),
        balances=(CurrencyBalance(outstanding=zero, overdue=zero, credit=credit),),
        unapplied_credit=credit,
    )
    assert balances_text(command) == "USD 0 (overdue 0, credit 30)"
