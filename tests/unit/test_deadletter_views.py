"""Dead letters as an operator sees them: filtering, the table, the full description, and
which letters can be sent again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from q2c.deadletter_views import (
    Letter,
    LetterFilter,
    describe,
    one_line,
    parse_id,
    retryable,
    select,
    table,
)
from schemas import DeadLetter, MessageOrigin
from schemas.decisions import DeadLetterResolution, LetterAction

AT = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def _letter(
    ident: str, stage: str, reason: str, hours: int = 0, origin: bool = True, payload: bytes = b"{}"
) -> Letter:
    record = DeadLetter.of(
        payload=payload,
        error=ValueError(reason),
        stage=stage,
        failed_at=AT + timedelta(hours=hours),
        origin=MessageOrigin(topic="q2c.raw.tryton", partition=1, offset=5) if origin else None,
        key=b"party.party/5",
    )
    return Letter(ident, AT, record)


LETTERS = [
    _letter("0:3", "sink.tryton", "the ERP refused: no unit", hours=2),
    _letter("0:1", "normalize.bottlecrm", "deal 7: line 1 has no product", hours=1),
    _letter("1:0", "streams.route", "not valid JSON", origin=False),
    Letter("1:1", AT + timedelta(hours=3), None, unreadable="not a dead letter record: junk"),
]
RESOLVED = {
    "0:3": DeadLetterResolution(
        letter_id="0:3", action=LetterAction.RESOLVED, actor="ana", note="unit added", at=AT
    )
}


def _ids(letters: list[Letter]) -> list[str]:
    return [letter.id for letter in letters]


def test_open_letters_are_listed_oldest_first_and_handled_ones_only_on_request() -> None:
    assert _ids(select(LETTERS, RESOLVED, LetterFilter())) == ["1:0", "0:1", "1:1"]
    everything = LetterFilter(include_handled=True)
    assert _ids(select(LETTERS, RESOLVED, everything)) == ["1:0", "0:1", "0:3", "1:1"]


def test_filters_by_time_stage_prefix_and_reason_text() -> None:
    since = LetterFilter(since=AT + timedelta(minutes=30), include_handled=True)
    assert _ids(select(LETTERS, {}, since)) == ["0:1", "0:3", "1:1"]
    assert _ids(select(LETTERS, {}, LetterFilter(stage="normalize"))) == ["0:1"]
    assert _ids(select(LETTERS, {}, LetterFilter(reason="NO PRODUCT"))) == ["0:1"]
    assert _ids(select(LETTERS, {}, LetterFilter(reason="junk"))) == ["1:1"]


def test_the_table_has_a_column_per_fact_and_reasons_on_one_line() -> None:
    long = _letter("2:9", "sink.tryton", "first line " + "x" * 200 + "\nsecond line")
    header, *rows = table([LETTERS[1], long], RESOLVED)
    assert header.split() == ["ID", "WHEN", "(UTC)", "STAGE", "ERROR", "STATE", "REASON"]
    assert rows[0].split()[:6] == [
        "0:1",
        "2026-11-20",
        "10:00:00",
        "normalize.bottlecrm",
        "ValueError",
        "open",
    ]
    assert rows[1].endswith("…")
    assert "second line" not in rows[1]
    assert one_line("  \n") == ""


def test_describe_shows_everything_and_pretty_prints_json() -> None:
    letter = _letter("0:1", "normalize.bottlecrm", "bad", payload=b'{"id":7,"lines":[1]}')
    lines = describe(letter, RESOLVED["0:3"], "q2c.dead-letter")
    text = "\n".join(lines)
    assert lines[0] == "id:           0:1 on q2c.dead-letter"
    assert "resolved by ana at 2026-11-20T09:00:00+00:00: unit added" in text
    assert "origin:       q2c.raw.tryton partition 1 offset 5" in text
    assert "key:          party.party/5" in text
    assert text.endswith('payload:\n{\n  "id": 7,\n  "lines": [\n    1\n  ]\n}')
    no_origin = "\n".join(describe(LETTERS[2], None, "q2c.dead-letter"))
    assert "origin:       unknown (it cannot be retried)" in no_origin
    unreadable = describe(LETTERS[3], None, "q2c.dead-letter")
    assert unreadable[-1] == "unreadable:   not a dead letter record: junk"


def test_only_letters_with_an_origin_and_a_payload_can_be_sent_again() -> None:
    empty = _letter("3:3", "normalize.tryton", "empty", payload=b"")
    empty = Letter(
        "3:3", AT, empty.record.model_copy(update={"payload_text": None}) if empty.record else None
    )
    ok, refused = retryable([*LETTERS, empty])
    assert _ids(ok) == ["0:3", "0:1"]
    reasons = dict((letter.id, why) for letter, why in refused)
    assert "no origin" in reasons["1:0"]
    assert "unreadable" in reasons["1:1"]
    assert "no payload" in reasons["3:3"]


@pytest.mark.parametrize("text", ["", "7", "a:1", "1:", ":2", "1:2:3", "-1:2"])
def test_ids_are_partition_and_offset(text: str) -> None:
    with pytest.raises(ValueError, match="partition:offset"):
        parse_id(text)
    assert parse_id("3:1200") == (3, 1200)
