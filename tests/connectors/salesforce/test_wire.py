"""SOQL literals, Salesforce dateTimes, the stream cursor and the documents `map` reads."""

from __future__ import annotations

import datetime as dt

import pytest

from connectors.base import ConnectorError, ErrorKind
from connectors.salesforce.documents import DOCUMENTS
from connectors.salesforce.source import StreamCursor
from connectors.salesforce.wire import format_datetime, parse_datetime, soql_datetime, soql_literal
from schemas import Operation
from tests.connectors.salesforce import records


def test_soql_literals_escape_quotes_and_backslashes() -> None:
    assert soql_literal("O'Brien \\ Co\n") == "'O\\'Brien \\\\ Co\\n'"
    at = dt.datetime(2026, 1, 2, 3, 4, 5, 678900, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert soql_datetime(at) == "2026-01-02T01:04:05.678Z"


@pytest.mark.parametrize(
    "text",
    ["2013-05-07T22:07:19.000+0000", "2013-05-07T22:07:19.000Z", "2013-05-08T00:07:19+02:00"],
)
def test_datetimes_as_the_api_writes_them(text: str) -> None:
    assert parse_datetime(text) == dt.datetime(2013, 5, 7, 22, 7, 19, tzinfo=dt.UTC)
    assert format_datetime(parse_datetime(text)) == "2013-05-07T22:07:19.000+0000"
    with pytest.raises(ValueError, match="time zone"):
        parse_datetime("2013-05-07T22:07:19")


def test_the_stream_cursor_round_trips_and_refuses_strangers() -> None:
    at = dt.datetime(2026, 11, 30, tzinfo=dt.UTC)
    cursor = StreamCursor("lm1:abc", at)
    assert StreamCursor.decode(cursor.encode()) == cursor
    assert StreamCursor.decode(None) == StreamCursor()
    for text in ("lm1:abc", "sf1:!!!"):
        with pytest.raises(ConnectorError) as raised:
            StreamCursor.decode(text)
        assert raised.value.kind is ErrorKind.FATAL


def test_map_reads_a_record_and_a_query_page() -> None:
    record = records.account()
    (one,) = DOCUMENTS["account"].read(record).changes
    assert (one.object, one.record_id, one.operation) == (
        "Account",
        records.ACCOUNT_ID,
        Operation.UPDATE,
    )
    page = {"totalSize": 1, "done": True, "records": [record]}
    (again,) = DOCUMENTS["account"].read(page).changes
    assert again.fingerprint == one.fingerprint
    with pytest.raises(ValueError, match="is a Contact"):
        DOCUMENTS["account"].read(records.contact())
    with pytest.raises(ValueError, match="neither"):
        DOCUMENTS["opportunity"].read({"hello": 1})


def test_map_reads_a_get_deleted_answer() -> None:
    answer = {
        "deletedRecords": [
            {"id": records.ACCOUNT_ID, "deletedDate": "2026-11-30T12:00:00.000+0000"},
            {"id": "a00D0000008pQRAIA2", "deletedDate": "2026-11-30T12:01:00.000+0000"},
        ],
        "earliestDateAvailable": "2026-11-20T00:00:00.000+0000",
        "latestDateCovered": "2026-11-30T12:05:00.000+0000",
    }
    (gone,) = DOCUMENTS["deleted"].read(answer).changes
    assert (gone.object, gone.operation, gone.record) == ("Account", Operation.DELETE, {})
    assert gone.source_ts == dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)
    nothing = DOCUMENTS["deleted"].read({**answer, "deletedRecords": []})
    assert "next window starts 2026-11-30T12:05:00+00:00" in nothing.action
