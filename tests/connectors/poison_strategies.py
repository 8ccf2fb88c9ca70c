"""Hypothesis strategies for hostile input: any JSON, in the shapes records and commands
take, with the values that break naive code (``"NaN"``, huge and negative numbers, deep
nesting, wrong types in every field)."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# The fields the mappers and sinks read, so generated records reach their code paths.
FIELDS = [
    "id",
    "account",
    "active",
    "addresses",
    "amount",
    "amount_to_pay",
    "city",
    "code",
    "country",
    "currency",
    "credit",
    "date",
    "debit",
    "description",
    "discount_amount",
    "discount_type",
    "discount_value",
    "email",
    "first_name",
    "identifiers",
    "invoice_date",
    "invoice_payment",
    "invoice_state",
    "is_active",
    "last_name",
    "line_items",
    "lines",
    "lines_to_pay",
    "list_price_used",
    "maturity_date",
    "name",
    "number",
    "order",
    "party",
    "party_identifiers",
    "phone",
    "postal_code",
    "postcode",
    "price",
    "product",
    "quantity",
    "reference",
    "salable",
    "sale_date",
    "sales",
    "sequence",
    "sku",
    "stage",
    "state",
    "street",
    "subdivision",
    "subtotal",
    "tax_amount",
    "title",
    "total",
    "total_amount",
    "type",
    "unit_price",
    "untaxed_amount",
    "updated_at",
    "value",
    "website",
    "contact_mechanisms",
    "currency.",
    "country.",
    "subdivision.",
    "party.",
    "product.",
    "default_uom.",
    "journal.",
    "move.",
    "unit.",
    "template.",
    "address_line",
    "prices",
]

NASTY_TEXT = st.sampled_from(
    [
        "NaN",
        "-NaN",
        "sNaN",
        "Infinity",
        "-Infinity",
        "1e999999",
        "-1e-999999",
        "9" * 80,
        "",
        " ",
        "0",
        "-1",
        "2026-13-45",
        "2026-11-26T12:00:00",
        "2026-11-26T12:00:00+99:00",
        "CLOSED_WON",
        "out",
        "in",
        "paid",
        "\x00",
        "\ud7ff\ufffd",
    ]
)
NUMBERS = st.one_of(
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.sampled_from([0, -1, 2**63 - 1, -(2**63)]),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([1e308, -1e308, 5e-324]),
)
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, st.text(max_size=20), NASTY_TEXT)


def json_values(max_leaves: int = 12) -> st.SearchStrategy[Any]:
    """Any JSON value, its objects keyed by the fields the code reads."""
    keys = st.one_of(st.sampled_from(FIELDS), st.text(max_size=8))
    return st.recursive(
        SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(keys, inner, max_size=6)
        ),
        max_leaves=max_leaves,
    )


def records() -> st.SearchStrategy[dict[str, Any]]:
    """A source record of any shape: known fields with any values, and unknown ones."""
    return st.dictionaries(st.sampled_from(FIELDS), json_values(), max_size=14)


def deeply_nested(depth: int) -> Any:
    value: Any = "NaN"
    for n in range(depth):
        value = [value] if n % 2 else {"lines": value}
    return value
