"""Compatibility rules, on the JSON Schemas of small models (version N and N + 1)."""

from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

import pytest
from pydantic import BaseModel, ConfigDict, Field

import schemas as s
from schemas.base import Compatibility
from schemas.evolution import compatibility_problems
from schemas.store import model_schema

BACKWARD, FORWARD, FULL = Compatibility.BACKWARD, Compatibility.FORWARD, Compatibility.FULL


class Open(s.Contract):
    """A contract whose readers ignore unknown fields."""

    model_config = ConfigDict(extra="ignore")
    schema_subject: ClassVar[str] = "thing"
    schema_version: ClassVar[int] = 1


def problems(
    mode: Compatibility, *models: type[s.Contract], upcasters: s.UpcasterRegistry | None = None
) -> list[str]:
    """Problems of the last model as version len(models), after the others as 1..N-1."""
    history = {n: model_schema(m) for n, m in enumerate(models[:-1], start=1)}
    candidate = (len(models), model_schema(models[-1]))
    found = compatibility_problems(
        "thing", mode, candidate, history, upcasters or s.UpcasterRegistry()
    )
    return [p.message for p in found]


# -- fields added and removed ---------------------------------------------------------------


class Base(s.Contract):
    schema_subject: ClassVar[str] = "thing"
    schema_version: ClassVar[int] = 1
    name: str
    email: str


class WithoutEmail(s.Contract):
    schema_subject: ClassVar[str] = "thing"
    schema_version: ClassVar[int] = 2
    name: str


class WithOptionalPhone(Base):
    phone: str | None = None


class WithRequiredPhone(Base):
    phone: str


def test_a_removed_required_field_is_refused_by_a_closed_reader() -> None:
    assert problems(BACKWARD, Base, WithoutEmail) == [
        "thing v2: field 'email' was removed, and unknown fields are refused (BACKWARD)"
    ]


def test_a_new_required_field_without_default_is_refused() -> None:
    assert problems(BACKWARD, Base, WithRequiredPhone) == [
        "thing v2: field 'phone' became required without a default (BACKWARD)"
    ]


def test_an_added_optional_field_is_backward_compatible() -> None:
    assert problems(BACKWARD, Base, WithOptionalPhone) == []


def test_an_added_optional_field_breaks_forward_for_closed_readers_only() -> None:
    assert problems(FORWARD, Base, WithOptionalPhone) == [
        "thing v2: field 'phone' was added, and the older version refuses unknown fields (FORWARD)"
    ]

    class OpenV1(Open):
        name: str

    class OpenV2(OpenV1):
        phone: str | None = None

    assert problems(FORWARD, OpenV1, OpenV2) == []
    assert problems(FULL, OpenV1, OpenV2) == []
    assert problems(FULL, Base, WithOptionalPhone) != []


def test_removing_fields_from_open_models() -> None:
    class V1(Open):
        name: str
        email: str
        note: str | None = None

    class V2(Open):
        name: str

    assert problems(BACKWARD, V1, V2) == []
    assert problems(FORWARD, V1, V2) == [
        "thing v2: field 'email' was removed but the older version requires it (FORWARD)"
    ]


def test_optional_becoming_required() -> None:
    class V1(Open):
        phone: str | None = None

    class V2(Open):
        phone: str

    assert problems(BACKWARD, V1, V2) == [
        "thing v2: field 'phone' became required (it was optional) (BACKWARD)",
        "thing v2: field 'phone' no longer accepts null (BACKWARD)",
    ]
    assert problems(FORWARD, V1, V2) == []
    assert problems(FORWARD, V2, V1) == [
        "thing v2: field 'phone' became optional but the older version requires it (FORWARD)",
        "thing v2: field 'phone' may now be null (FORWARD)",
    ]


# -- types ----------------------------------------------------------------------------------


def test_a_type_change_is_refused_both_ways() -> None:
    class V1(Open):
        quantity: int

    class V2(Open):
        quantity: str

    assert problems(BACKWARD, V1, V2) == [
        "thing v2: field 'quantity' type changed from integer to string (BACKWARD)"
    ]
    assert problems(FORWARD, V1, V2) == [
        "thing v2: field 'quantity' type changed from integer to string (FORWARD)"
    ]


def test_an_integer_is_a_number_but_not_the_other_way_round() -> None:
    class V1(Open):
        weight: int

    class V2(Open):
        weight: float

    assert problems(BACKWARD, V1, V2) == []
    assert problems(FORWARD, V1, V2) == [
        "thing v2: field 'weight' type changed from integer to number (FORWARD)"
    ]


def test_decimal_patterns_and_string_constraints() -> None:
    class V1(Open):
        amount: s.ExactDecimal
        code: str

    class V2(Open):
        amount: Decimal  # pydantic's default: a number or any string
        code: str

    class V3(Open):
        amount: s.ExactDecimal
        code: s.CurrencyCode

    # pydantic's Decimal is "a number or any string": both members are refused.
    assert problems(FORWARD, V1, V2) == [
        "thing v2: field 'amount' type changed from string to number (FORWARD)",
        "thing v2: field 'amount' pattern changed from '^-?[0-9]+(\\\\.[0-9]+)?$' to 'none' "
        "(FORWARD)",
    ]
    assert problems(BACKWARD, V1, V3) == [
        "thing v2: field 'code' pattern changed from 'none' to '^[A-Z]{3}$' (BACKWARD)"
    ]


class Colour(StrEnum):
    RED = "red"
    GREEN = "green"


class Colour2(StrEnum):
    RED = "red"
    GREEN = "green"
    BLUE = "blue"


def test_enum_values() -> None:
    class V1(Open):
        colour: Colour

    class V2(Open):
        colour: Colour2

    assert problems(BACKWARD, V1, V2) == []
    assert problems(FORWARD, V1, V2) == [
        "thing v2: field 'colour' value 'blue' was added (FORWARD)"
    ]
    assert problems(BACKWARD, V2, V1) == [
        "thing v2: field 'colour' value 'blue' was removed (BACKWARD)"
    ]


# -- nesting: $defs, arrays, maps -------------------------------------------------------------


class LineV1(BaseModel):
    model_config = ConfigDict(extra="forbid")
    sku: str
    quantity: int


class LineV2(LineV1):
    discount: s.ExactDecimal


class QuoteV1(s.Contract):
    schema_subject: ClassVar[str] = "thing"
    schema_version: ClassVar[int] = 1
    lines: tuple[LineV1, ...]
    prices: dict[str, int] = Field(default_factory=dict)


class QuoteV2(s.Contract):
    schema_subject: ClassVar[str] = "thing"
    schema_version: ClassVar[int] = 2
    lines: tuple[LineV2, ...]
    prices: dict[str, str] = Field(default_factory=dict)


def test_nested_fields_are_named_by_path() -> None:
    assert problems(BACKWARD, QuoteV1, QuoteV2) == [
        "thing v2: field 'lines[].discount' became required without a default (BACKWARD)",
        "thing v2: field 'prices{}' type changed from integer to string (BACKWARD)",
    ]
    assert problems(FORWARD, QuoteV1, QuoteV2) == [
        "thing v2: field 'lines[].discount' was added, and the older version refuses unknown "
        "fields (FORWARD)",
        "thing v2: field 'prices{}' type changed from integer to string (FORWARD)",
    ]


def test_an_open_reader_ignores_fields_it_no_longer_has() -> None:
    class V2(Open):
        pass

    assert problems(BACKWARD, QuoteV1, V2) == []
    assert problems(FORWARD, QuoteV1, V2) == [
        "thing v2: field 'lines' was removed but the older version requires it (FORWARD)"
    ]


# -- transitive modes -------------------------------------------------------------------------


class T1(Open):
    a: str
    b: int


class T2(Open):
    a: str


class T3(Open):
    a: str
    b: str = ""


def test_backward_transitive_checks_every_earlier_version() -> None:
    assert problems(Compatibility.BACKWARD, T1, T2, T3) == []
    assert problems(Compatibility.BACKWARD_TRANSITIVE, T1, T2, T3) == [
        "thing v3: field 'b' type changed from integer to string (BACKWARD_TRANSITIVE, against v1)"
    ]


class F1(Open):
    a: str
    b: int = 0


def test_forward_and_full_transitive() -> None:
    assert problems(Compatibility.FORWARD, F1, T2, T3) == []
    assert problems(Compatibility.FULL, F1, T2, T3) == []
    expected = "thing v3: field 'b' type changed from integer to string ({}, against v1)"
    assert problems(Compatibility.FORWARD_TRANSITIVE, F1, T2, T3) == [
        expected.format("FORWARD_TRANSITIVE")
    ]
    # Both directions fail on the same field; the problem is reported once.
    assert problems(Compatibility.FULL_TRANSITIVE, F1, T2, T3) == [
        expected.format("FULL_TRANSITIVE")
    ]


def test_none_checks_nothing() -> None:
    assert problems(Compatibility.NONE, Base, WithoutEmail) == []


# -- upcasters --------------------------------------------------------------------------------


def test_an_upcaster_bridges_the_backward_direction() -> None:
    upcasters = s.UpcasterRegistry()
    upcasters.register("thing", from_version=1)(lambda d: {"name": d["name"]})
    assert problems(BACKWARD, Base, WithoutEmail, upcasters=upcasters) == []
    # Old readers cannot downcast: FORWARD still applies.
    assert problems(FULL, Base, WithoutEmail, upcasters=upcasters) == [
        "thing v2: field 'email' was removed but the older version requires it (FULL)"
    ]
    assert problems(FULL, WithoutEmail, Base, upcasters=upcasters) == [
        "thing v2: field 'email' was added, and the older version refuses unknown fields (FULL)"
    ]


def test_transitive_backward_checks_what_the_upcaster_produces() -> None:
    # v1 -> v2 is bridged; v3 must still read the v2 shape the upcaster produces.
    upcasters = s.UpcasterRegistry()
    upcasters.register("thing", from_version=1)(lambda d: d)
    found = problems(Compatibility.BACKWARD_TRANSITIVE, T1, T2, T3, upcasters=upcasters)
    assert found == []
    # Here v1 data is upcast to the v2 shape, which v3 cannot read: reported once, for v2.
    found = problems(Compatibility.BACKWARD_TRANSITIVE, T2, T1, T3, upcasters=upcasters)
    assert found == [
        "thing v3: field 'b' type changed from integer to string (BACKWARD_TRANSITIVE)"
    ]


@pytest.mark.parametrize("mode", list(Compatibility))
def test_a_model_is_compatible_with_itself(mode: Compatibility) -> None:
    for model in s.MODELS:
        assert problems(mode, model, model, model) == []


# -- the real models against the committed registry ---------------------------------------------


class DocumentLineWithDiscount(s.DocumentLine):
    discount: s.ExactDecimal


class QuoteWithDiscounts(s.Quote):
    schema_version: ClassVar[int] = 2
    lines: tuple[DocumentLineWithDiscount, ...] = ()


def test_a_required_line_field_on_the_real_quote() -> None:
    from schemas.store import SchemaStore

    history = {1: SchemaStore().load("quote", 1)}
    found = compatibility_problems(
        "quote", BACKWARD, (2, model_schema(QuoteWithDiscounts)), history, s.UpcasterRegistry()
    )
    assert [p.message for p in found] == [
        "quote v2: field 'lines[].discount' became required without a default (BACKWARD)"
    ]
    assert [p.rule for p in found] == ["required"]
