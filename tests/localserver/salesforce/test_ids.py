"""Record ids: the case-safe suffix checked against ids printed in Salesforce's REST API
guide, and the ids the server makes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from q2c.localserver.salesforce.ids import case_safe_suffix, make_id, normalize_id


@pytest.mark.parametrize(
    "documented",
    [
        "00190000001pPvHAAU",  # REST API guide, dome-upsert
        "a00D0000008pQRAIA2",  # REST API guide, dome-get-deleted
        "001D000000IqhSLIAZ",
    ],
)
def test_suffix_of_documented_ids(documented: str) -> None:
    assert case_safe_suffix(documented[:15]) == documented[15:]
    assert normalize_id(documented[:15]) == documented
    assert normalize_id(documented.lower()[:15]) != documented
    assert normalize_id(documented[:15] + documented[15:].lower()) == documented


def test_malformed_ids() -> None:
    for bad in ["", "001", "001D000000IqhS", "001D000000IqhSLIAA", "001D000000Iqh-LIAZ"]:
        assert normalize_id(bad) is None


@given(st.integers(min_value=1, max_value=62**10 - 1))
def test_made_ids_are_valid_18_character_ids(number: int) -> None:
    made = make_id("006", number)
    assert len(made) == 18
    assert made.startswith("006")
    assert normalize_id(made) == made
    assert normalize_id(made[:15]) == made
