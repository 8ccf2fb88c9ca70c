"""SuiteQL as the source writes and reads it: time windows, the unique order, values in the
account's time zone."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from connectors.netsuite.suiteql import (
    id_list,
    parse_bool,
    parse_date,
    parse_decimal,
    parse_time,
    quote,
    window_query,
    windows,
)

LA = ZoneInfo("America/Los_Angeles")


def test_times_in_the_accounts_zone_become_utc() -> None:
    winter = parse_time("2026-12-01 09:30:15", LA)
    summer = parse_time("2026-07-01 09:30:15", LA)
    assert winter == dt.datetime(2026, 12, 1, 17, 30, 15, tzinfo=dt.UTC)
    assert summer == dt.datetime(2026, 7, 1, 16, 30, 15, tzinfo=dt.UTC)
    assert parse_time("12/1/2026 9:30:15 am", LA) == winter
    assert parse_time("12/1/2026", LA) == dt.datetime(2026, 12, 1, 8, tzinfo=dt.UTC)
    assert parse_time("2026-12-01T17:30:15Z", LA) == winter
    assert parse_time("", LA) is None
    with pytest.raises(ValueError, match="not a SuiteQL date"):
        parse_time("yesterday", LA)


def test_values_come_as_strings() -> None:
    assert parse_date("12/1/2026") == dt.date(2026, 12, 1)
    assert parse_date("2026-12-01") == dt.date(2026, 12, 1)
    assert parse_bool("T")
    assert not parse_bool("F")
    assert not parse_bool(None)
    assert parse_decimal("1234.50") == Decimal("1234.50")
    with pytest.raises(ValueError, match="not a number"):
        parse_decimal("NaN")


def test_a_window_query_orders_uniquely_and_starts_after_the_last_key() -> None:
    start = dt.datetime(2026, 12, 1, 17, 0, tzinfo=dt.UTC)
    end = start + dt.timedelta(days=7)
    after = (dt.datetime(2026, 12, 1, 17, 30, 15, tzinfo=dt.UTC), 42)
    query = window_query("SELECT id FROM customer", start=start, end=end, after=after, zone=LA)
    assert query == (
        "SELECT id FROM customer WHERE "
        "lastmodifieddate >= TO_TIMESTAMP('2026-12-01 09:00:00', 'YYYY-MM-DD HH24:MI:SS') AND "
        "lastmodifieddate < TO_TIMESTAMP('2026-12-08 09:00:00', 'YYYY-MM-DD HH24:MI:SS') AND "
        "(TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') > '2026-12-01 09:30:15' OR "
        "(TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') = '2026-12-01 09:30:15' "
        "AND id > 42)) "
        "ORDER BY TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS'), id"
    )
    assert window_query(
        "SELECT id FROM transaction",
        where="type = 'SalesOrd'",
        start=None,
        end=None,
        after=None,
        zone=LA,
    ) == (
        "SELECT id FROM transaction WHERE type = 'SalesOrd' "
        "ORDER BY TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS'), id"
    )


def test_windows_span_at_most_the_window_and_the_last_is_open() -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    now = dt.datetime(2026, 1, 20, 12, tzinfo=dt.UTC)
    spans = list(windows(start, now, dt.timedelta(days=7)))
    assert spans == [
        (start, start + dt.timedelta(days=7)),
        (start + dt.timedelta(days=7), start + dt.timedelta(days=14)),
        (start + dt.timedelta(days=14), None),
    ]
    assert list(windows(now, now, dt.timedelta(days=7))) == [(now, None)]


def test_literals_cannot_break_out_of_the_query() -> None:
    assert quote("O'Brien") == "'O''Brien'"
    assert id_list(["3", 1, "2", "1; DROP"]) == "1, 2, 3"
    with pytest.raises(ValueError, match="no internal ids"):
        id_list(["x"])
