"""What a BottleCRM account shows of the ERP's view of its customer's finances."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from connectors.bottlecrm.fields import ACCOUNT_FIELDS
from connectors.bottlecrm.mapping import BottleCrmMapper
from connectors.bottlecrm.sink import account_fields, balances_text, finance_fields
from connectors.bottlecrm.source import change_of
from schemas import Customer, ExternalIds, Money, Operation, UpdateAccountBalance
from schemas.commands import CurrencyBalance

AT = datetime(2026, 12, 1, 12, tzinfo=UTC)


def usd(amount: str) -> Money:
    return Money(amount=Decimal(amount), currency="USD")


def test_acceptance_credit_hold_and_payment_terms_are_account_fields() -> None:
    new = Customer(ids=ExternalIds(crm_id="a", erp_id="7"), name="Acme", updated_at=AT)
    assert finance_fields(new) == {
        "erp_finance_status": "awaiting acceptance",
        "erp_credit_limit": None,
        "erp_available_credit": None,
        "erp_credit_hold": "no",
        "erp_payment_terms": None,
        "erp_price_book": "standard",
    }
    accepted = new.model_copy(
        update={
            "approved": True,
            "credit_limit": usd("1000"),
            "credit_used": usd("250"),
            "payment_terms": "30 days",
            "price_book": "Gold",
        }
    )
    assert finance_fields(accepted) == {
        "erp_finance_status": "accepted",
        "erp_credit_limit": Decimal(1000),
        "erp_available_credit": Decimal(750),
        "erp_credit_hold": "no",
        "erp_payment_terms": "30 days",
        "erp_price_book": "Gold",
    }
    over = accepted.model_copy(update={"credit_used": usd("1200")})
    assert finance_fields(over)["erp_credit_hold"] == "on hold: no credit available"
    assert finance_fields(over)["erp_available_credit"] == Decimal(-200)
    defined = {spec.key for spec in ACCOUNT_FIELDS}
    assert set(finance_fields(over)) <= defined


def test_an_account_never_speaks_for_the_erp_finance_fields() -> None:
    record = {"id": "a", "name": "Acme", "custom_fields": {"erp_credit_limit": 5}}
    change = change_of("account", "a", Operation.UPDATE, record, AT, "scan@t", AT)
    (result,) = BottleCrmMapper().to_canonical(change)
    assert result.held is not None
    assert {"approved", "credit_limit", "credit_used", "payment_terms"}.isdisjoint(result.held)
    assert "name" in result.held


def test_an_account_made_for_an_erp_customer_carries_its_erp_id() -> None:
    record = {"id": "a", "name": "Acme", "custom_fields": {"erp_customer_code": "77"}}
    change = change_of("account", "a", Operation.UPDATE, record, AT, "scan@t", AT)
    (result,) = BottleCrmMapper().to_canonical(change)
    assert result.ids == ExternalIds(crm_id="a", erp_id="77")


def test_balances_in_every_currency_are_one_text_field() -> None:
    eur = Money(amount=Decimal("50.00"), currency="EUR")
    command = UpdateAccountBalance(
        idempotency_key="k",
        target_system="bottlecrm",
        issued_at=AT,
        account=ExternalIds(crm_id="a", erp_id="7"),
        outstanding=eur,
        overdue=eur.model_copy(update={"amount": Decimal("0.00")}),
        as_of=AT,
        balances=(
            CurrencyBalance(
                outstanding=eur, overdue=eur.model_copy(update={"amount": Decimal("0.00")})
            ),
            CurrencyBalance(outstanding=usd("200.00"), overdue=usd("120.00")),
        ),
    )
    assert balances_text(command) == "EUR 50.00 (overdue 0.00); USD 200.00 (overdue 120.00)"
    assert account_fields(command)["erp_balances"] == balances_text(command)
