"""The SOQL parser on its own: the subset the server answers, and MALFORMED_QUERY shapes."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from q2c.localserver.salesforce.soql import (
    Comparison,
    DateLiteral,
    FieldPath,
    Junction,
    Negation,
    OrderItem,
    Query,
    SoqlSyntaxError,
    parse,
)


def test_select_list_with_parent_paths_and_child_subquery() -> None:
    query = parse(
        "SELECT Id, Account.Name, (SELECT Id, PricebookEntry.Product2Id FROM "
        "OpportunityLineItems ORDER BY SortOrder LIMIT 5) FROM Opportunity"
    )
    assert query.sobject == "Opportunity"
    assert query.fields[:2] == (FieldPath(("Id",)), FieldPath(("Account", "Name")))
    child = query.fields[2]
    assert isinstance(child, Query)
    assert child.sobject == "OpportunityLineItems"
    assert child.fields == (FieldPath(("Id",)), FieldPath(("PricebookEntry", "Product2Id")))
    assert child.order_by == (OrderItem(FieldPath(("SortOrder",))),)
    assert child.limit == 5


def test_unquoted_datetime_and_date_literals() -> None:
    query = parse(
        "SELECT Id FROM Opportunity WHERE SystemModstamp > 2024-01-01T00:00:00Z "
        "AND LastModifiedDate <= 2024-01-01T02:00:00+02:00 AND CloseDate = 2024-03-31"
    )
    assert isinstance(query.where, Junction)
    first, second, third = query.where.items
    assert isinstance(first, Comparison)
    assert isinstance(second, Comparison)
    assert first.value == datetime(2024, 1, 1, tzinfo=UTC)
    assert second.value == datetime(2024, 1, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    assert second.value == datetime(2024, 1, 1, tzinfo=UTC)
    assert isinstance(third, Comparison)
    assert third.value == date(2024, 3, 31)


def test_strings_with_backslash_escapes_booleans_null_and_in() -> None:
    query = parse(
        r"SELECT Id FROM Account WHERE (Name = 'O\'Brien\\s' OR Name LIKE 'a\_b%') "
        "AND IsDeleted = false AND ParentId != null AND Type NOT IN ('Other', 'Prospect')"
    )
    assert isinstance(query.where, Junction)
    assert query.where.op == "AND"
    either, deleted, parent, kind = query.where.items
    assert isinstance(either, Junction)
    assert either.op == "OR"
    name, like = either.items
    assert isinstance(name, Comparison)
    assert name.value == "O'Brien\\s"
    assert isinstance(like, Comparison)
    assert like.op == "LIKE"
    assert like.value == r"a\_b%"
    assert deleted == Comparison(FieldPath(("IsDeleted",)), "=", False)
    assert parent == Comparison(FieldPath(("ParentId",)), "!=", None)
    assert kind == Comparison(FieldPath(("Type",)), "NOT IN", ("Other", "Prospect"))


def test_not_numbers_order_nulls_limit_offset() -> None:
    query = parse(
        "select Id from Opportunity where not Amount < 10.5 order by Amount desc nulls first, "
        "Id asc nulls last limit 20 offset 40"
    )
    assert query.where == Negation(Comparison(FieldPath(("Amount",)), "<", 10.5))
    assert query.order_by == (
        OrderItem(FieldPath(("Amount",)), descending=True, nulls_last=False),
        OrderItem(FieldPath(("Id",)), descending=False, nulls_last=True),
    )
    assert (query.limit, query.offset) == (20, 40)


@pytest.mark.parametrize(
    ("soql", "column", "detail"),
    [
        ("SELECT Id FROM Account WHERE A = 1 AND B = 2 OR C = 3", 46, "unexpected token: 'OR'"),
        ("SELECT FROM Account", 8, "unexpected token: 'FROM'"),
        ("SELECT Id FROM", 15, "unexpected token: <EOF>"),
        ("SELECT Id FROM Account WHERE Name = 'open", 37, "unexpected token: '''"),
        ("SELECT Id FROM Account LIMIT ten", 30, "unexpected token: 'ten'"),
        ("SELECT Id FROM Account WHERE Name = 'x' garbage", 41, "unexpected token: 'garbage'"),
    ],
)
def test_malformed_queries_point_at_the_token(soql: str, column: int, detail: str) -> None:
    with pytest.raises(SoqlSyntaxError) as raised:
        parse(soql)
    assert raised.value.column == column
    assert raised.value.detail == detail
    assert f"ERROR at Row:1:Column:{column}" in str(raised.value)


def test_count_query() -> None:
    query = parse("SELECT count() FROM Account WHERE Name = 'x'")
    assert query.count
    assert query.fields == ()
    assert not parse("SELECT Count FROM Account").count


def test_relative_date_literals() -> None:
    query = parse(
        "SELECT Id FROM Opportunity WHERE CloseDate = TODAY OR CreatedDate >= last_n_days:7 "
        "OR CloseDate < NEXT_N_DAYS:30 OR CloseDate > Yesterday"
    )
    assert isinstance(query.where, Junction)
    values = [c.value for c in query.where.items if isinstance(c, Comparison)]
    assert values == [
        DateLiteral("TODAY"),
        DateLiteral("LAST_N_DAYS", 7),
        DateLiteral("NEXT_N_DAYS", 30),
        DateLiteral("YESTERDAY"),
    ]
    today = date(2026, 3, 10)
    assert DateLiteral("TODAY").days(today) == (today, date(2026, 3, 11))
    assert DateLiteral("LAST_N_DAYS", 1).days(today) == (date(2026, 3, 9), date(2026, 3, 11))
    assert DateLiteral("NEXT_N_DAYS", 2).days(today) == (date(2026, 3, 11), date(2026, 3, 13))


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.sampled_from(
            [
                "SELECT",
                "Id",
                "Name",
                ",",
                "FROM",
                "Account",
                "WHERE",
                "=",
                "'x'",
                "'a\\'b'",
                "(",
                ")",
                "AND",
                "OR",
                "NOT",
                "IN",
                "LIKE",
                "ORDER",
                "BY",
                "DESC",
                "NULLS",
                "LAST",
                "LIMIT",
                "OFFSET",
                "5",
                "-1",
                "2024-01-01",
                "2024-13-45T25:61:61Z",
                "TODAY",
                "LAST_N_DAYS:3",
                "null",
                "true",
                "\\",
                "'",
                "%",
                "Account.Name",
                ".",
            ]
        ),
        max_size=14,
    )
)
def test_any_token_soup_parses_or_fails_as_malformed(tokens: list[str]) -> None:
    assert_parses_or_is_malformed(" ".join(tokens))


@given(st.text(max_size=60))
def test_any_text_parses_or_fails_as_malformed(text: str) -> None:
    assert_parses_or_is_malformed(text)


def assert_parses_or_is_malformed(soql: str) -> None:
    """A query, or MALFORMED_QUERY's error pointing inside the text; never another error."""
    outcome: Query | SoqlSyntaxError
    try:
        outcome = parse(soql)
    except SoqlSyntaxError as error:
        outcome = error
    if isinstance(outcome, SoqlSyntaxError):
        assert 1 <= outcome.column <= len(soql) + 1
    else:
        assert outcome.sobject
