"""The order trigger's rules: stage, amount, currency, the deal's attributes and the
customer's fields, decided without Kafka."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from q2c.core.settings import load_section
from schemas.entities import Address, CustomerStatus
from streams.config import SyncConfig
from streams.rules.triggers import Condition, Op, OrderTrigger, TriggerRule
from tests.streams.factories import customer, line, quote

WON = quote(line(1, "W-1", "2", "100.00")).model_copy(
    update={"attributes": {"lead_source": "PARTNER", "probability": "90"}}
)
ACME = customer(erp_id="42", status=CustomerStatus.ACTIVE, approved=True, currency="EUR")


def rule(*conditions: Condition, name: str = "") -> TriggerRule:
    return TriggerRule(name=name, when=conditions)


def test_without_rules_the_stage_and_minimum_amount_decide() -> None:
    assert OrderTrigger().decide(WON, None) is True
    assert OrderTrigger(min_amount=Decimal(201)).decide(WON, ACME) is False
    lost = WON.model_copy(update={"stage": "CLOSED_LOST"})
    assert OrderTrigger().decide(lost, ACME) is False


def test_deal_fields_currency_and_amount() -> None:
    eur_partners = OrderTrigger(
        rules=(
            rule(
                Condition(field="currency", op=Op.IN, value=["EUR", "CHF"]),
                Condition(field="deal.lead_source", value="partner"),
                Condition(field="deal.probability", op=Op.GTE, value="75"),
                Condition(field="amount", op=Op.LT, value="1000"),
            ),
        )
    )
    assert eur_partners.decide(WON, None) is True  # no customer field: decided at once
    web = WON.model_copy(update={"attributes": {"lead_source": "WEB", "probability": "90"}})
    assert eur_partners.decide(web, None) is False
    unsure = WON.model_copy(update={"attributes": {"lead_source": "PARTNER"}})
    assert eur_partners.decide(unsure, None) is False  # no probability: not ≥ 75
    usd = WON.model_copy(
        update={
            "currency": "USD",
            "total": WON.total.model_copy(update={"currency": "USD"}),
            "lines": (),
        }
    )
    assert eur_partners.decide(usd, None) is False


def test_customer_fields_wait_for_the_customer() -> None:
    approved_de = OrderTrigger(
        rules=(
            rule(
                Condition(field="customer.approved", value="true"),
                Condition(field="customer.billing_address.country", op=Op.EQ, value="DE"),
            ),
        )
    )
    assert approved_de.decide(WON, None) is None
    assert approved_de.fires(WON)  # undecided counts as firing: the deal waits
    german = ACME.model_copy(update={"billing_address": Address(country="DE")})
    assert approved_de.decide(WON, german) is True
    french = ACME.model_copy(update={"billing_address": Address(country="FR")})
    assert approved_de.decide(WON, french) is False
    assert approved_de.decide(WON, ACME) is False  # no billing address: not DE


def test_any_rule_may_fire_and_a_failing_deal_field_decides_without_the_customer() -> None:
    trigger = OrderTrigger(
        rules=(
            rule(Condition(field="customer.status", value="active"), name="active customers"),
            rule(Condition(field="deal.lead_source", value="REFERRAL"), name="referrals"),
        )
    )
    assert trigger.decide(WON, None) is None
    assert trigger.decide(WON, ACME) is True
    held = ACME.model_copy(update={"status": CustomerStatus.ON_HOLD})
    assert trigger.decide(WON, held) is False
    only_deal = OrderTrigger(
        rules=(
            rule(
                Condition(field="deal.lead_source", value="REFERRAL"),
                Condition(field="customer.status", value="active"),
            ),
        )
    )
    assert only_deal.decide(WON, None) is False  # one condition fails whatever the customer
    assert "referrals (deal.lead_source is REFERRAL)" in trigger.describe()


def test_present_absent_and_not_in() -> None:
    assert Condition(field="deal.lead_source", op=Op.PRESENT).holds("PARTNER")
    assert Condition(field="deal.lead_source", op=Op.ABSENT).holds(None)
    assert Condition(field="customer.tax_id", op=Op.ABSENT).holds("")
    assert Condition(field="currency", op=Op.NOT_IN, value=["USD"]).holds("EUR")
    assert Condition(field="deal.x", op=Op.NE, value="a").holds(None)
    assert not Condition(field="amount", op=Op.GT, value="5").holds("not a number")


@pytest.mark.parametrize(
    ("condition", "error"),
    [
        ({"field": "colour", "value": "red"}, "unknown field"),
        ({"field": "deal", "value": "x"}, "names no field"),
        ({"field": "currency", "op": "in", "value": "EUR"}, "takes a list"),
        ({"field": "currency", "op": "eq", "value": ["EUR"]}, "takes one value"),
        ({"field": "amount", "op": "gte", "value": "lots"}, "compares numbers"),
        ({"field": "deal.x", "op": "present", "value": "y"}, "takes no value"),
    ],
)
def test_a_wrong_condition_is_refused_with_the_reason(
    condition: dict[str, object], error: str
) -> None:
    with pytest.raises(ValidationError, match=error):
        Condition.model_validate(condition)


def test_rules_come_from_the_config_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "q2c.toml"
    config.write_text(
        "[sync.trigger]\n"
        'stages = ["CLOSED_WON"]\n'
        "[[sync.trigger.rules]]\n"
        'name = "partner deals in euros"\n'
        "when = [\n"
        '  { field = "currency", value = "EUR" },\n'
        '  { field = "deal.lead_source", op = "in", value = ["PARTNER", "RESELLER"] },\n'
        '  { field = "customer.approved", value = "true" },\n'
        "]\n"
    )
    monkeypatch.setenv("Q2C_CONFIG", str(config))
    cfg = load_section(SyncConfig, "sync")
    (loaded,) = cfg.trigger.rules
    assert loaded.name == "partner deals in euros"
    assert [c.op for c in loaded.when] == [Op.EQ, Op.IN, Op.EQ]
    assert cfg.trigger.decide(WON, ACME) is True
