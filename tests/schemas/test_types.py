from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from pydantic import ValidationError

import schemas as s
from schemas.types import Frozen, UtcDateTime


class Stamp(Frozen):
    at: UtcDateTime


def money(amount: object, currency: str = "EUR") -> s.Money:
    return s.Money.model_validate({"amount": amount, "currency": currency})


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12.50", "12.50"), ("-0.001", "-0.001"), ("1E+2", "100"), (" 7 ", "7"), (3, "3")],
)
def test_decimal_round_trips_exactly_as_a_json_string(text: object, expected: str) -> None:
    m = money(text)
    dumped = m.model_dump(mode="json")
    assert dumped == {"amount": expected, "currency": "EUR"}
    again = s.Money.model_validate(dumped)
    assert again.amount == m.amount
    assert str(again.amount) == str(Decimal(expected))


def test_trailing_zeros_survive_the_round_trip() -> None:
    assert money("1.50").model_dump(mode="json")["amount"] == "1.50"
    assert s.Money.model_validate_json(
        '{"amount": "1.50", "currency": "EUR"}'
    ).amount.as_tuple() == (Decimal("1.50").as_tuple())


@pytest.mark.parametrize(
    ("bad", "words"),
    [
        (1.1, "not a float"),
        (True, "not a boolean"),
        ("NaN", "finite"),
        ("Infinity", "finite"),
        ("abc", "not a decimal number"),
        ("1_000", "not a decimal number"),
        ("1E+9999", "at most 38 digits"),
        ("1" * 39, "at most 38 digits"),
        ("0." + "0" * 39 + "1", "at most 38"),
        (None, "a decimal must be a string"),
    ],
)
def test_bad_decimals_are_refused(bad: object, words: str) -> None:
    with pytest.raises(ValidationError, match=words):
        money(bad)


@pytest.mark.parametrize("code", ["eur", "EURO", "E1R", ""])
def test_currency_is_three_upper_case_letters(code: str) -> None:
    with pytest.raises(ValidationError, match="currency"):
        money("1", code)


def test_timestamps_must_be_aware_and_are_stored_in_utc() -> None:
    cest = timezone(timedelta(hours=2))
    stamp = Stamp(at=datetime(2026, 6, 1, 14, 0, tzinfo=cest))
    assert stamp.at == datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    assert stamp.at.utcoffset() == timedelta(0)
    assert stamp.model_dump(mode="json") == {"at": "2026-06-01T12:00:00Z"}
    with pytest.raises(ValidationError, match="timezone"):
        Stamp(at=datetime(2026, 6, 1, 14, 0))


def test_money_prints_amount_and_currency() -> None:
    assert str(money("1E+1")) == "10 EUR"
