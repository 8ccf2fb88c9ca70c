"""Field types shared by every contract: exact decimals, money, currencies, UTC timestamps.

Money and quantities are :class:`~decimal.Decimal`, never float. On the wire a decimal is a
JSON string (``"12.50"``), so it round-trips exactly through any JSON parser; a JSON number
that is not an integer is refused, because a parser has already rounded it to a float.
Timestamps must carry a timezone and are normalised to UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)

# Bounds that keep a hostile decimal ("1E+999999999") from becoming a huge string or a slow
# computation; 38 significant digits is what SQL numeric columns and ERP amounts use.
MAX_DIGITS = 38
MAX_EXPONENT = 38
_MAX_TEXT = 80
DECIMAL_PATTERN = r"^-?[0-9]+(\.[0-9]+)?$"


def _to_decimal(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise ValueError("a decimal must be a string such as '12.50', not a boolean")
    if isinstance(value, float):
        raise ValueError("a decimal must be a string such as '12.50', not a float")
    number: Decimal
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, int):
        number = Decimal(value)
    elif isinstance(value, str):
        if len(value) > _MAX_TEXT or "_" in value:
            raise ValueError(f"{value[:_MAX_TEXT]!r} is not a decimal number")
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"{value!r} is not a decimal number") from None
    else:
        raise ValueError("a decimal must be a string such as '12.50'")
    return _bounded(number)


def _bounded(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("a decimal must be finite")
    digits = value.as_tuple()
    if len(digits.digits) > MAX_DIGITS or abs(value.adjusted()) > MAX_EXPONENT:
        raise ValueError(f"a decimal has at most {MAX_DIGITS} digits")
    if isinstance(digits.exponent, int) and digits.exponent < -MAX_EXPONENT:
        raise ValueError(f"a decimal has at most {MAX_EXPONENT} decimal places")
    return value


def _decimal_text(value: Decimal) -> str:
    # Fixed-point text keeps trailing zeros ("1.50") and never uses an exponent.
    return format(value, "f")


ExactDecimal = Annotated[
    Decimal,
    BeforeValidator(_to_decimal),
    PlainSerializer(_decimal_text, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "pattern": DECIMAL_PATTERN}),
]
"""A decimal number carried as a JSON string; exact, finite and bounded."""


def _to_utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


UtcDateTime = Annotated[AwareDatetime, AfterValidator(_to_utc)]
"""A timezone-aware timestamp, stored in UTC."""

CurrencyCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
"""An ISO 4217 alphabetic currency code (``EUR``, ``USD``)."""

CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
"""An ISO 3166-1 alpha-2 country code."""

NonEmptyStr = Annotated[str, StringConstraints(min_length=1, max_length=1000)]

Email = Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+$", max_length=320)]
"""An e-mail address (shape only: the systems at both ends do the real checks)."""


class Frozen(BaseModel):
    """Base of the value objects inside contracts: immutable and closed."""

    model_config = ConfigDict(frozen=True, extra="forbid")


class Money(Frozen):
    """An exact amount in one currency."""

    amount: ExactDecimal
    currency: CurrencyCode

    def __str__(self) -> str:
        return f"{_decimal_text(self.amount)} {self.currency}"
