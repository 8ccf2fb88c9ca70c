"""Strategy (a), modified-since polling: the overlap window and (id, timestamp)
de-duplication, delete scans by id, and the ``lm1:`` cursor (pure, no Kafka)."""

from __future__ import annotations

import base64
import datetime as dt
import zlib

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.base import ConnectorError, ErrorKind
from connectors.base.tracking import ModifiedCursor, PollWindow, id_runs, ids_of, stamp_text
from connectors.base.tracking.modified import compare_ids, track_published
from schemas import Operation
from tests.connectors.base.tracking.memory import MemoryStream, Table, at, published

MINUTE = dt.timedelta(minutes=1)


def test_the_window_reaches_back_the_overlap_and_skips_what_it_published() -> None:
    cursor = ModifiedCursor(at(600), frozenset({(1, stamp_text(at(590)))}))
    window = PollWindow(cursor, MINUTE)
    assert window.since == at(540)
    # Row 1 re-read unchanged, row 2 committed late inside the window, row 1 again changed.
    page = [(1, at(590)), (2, at(550)), (3, at(610))]
    assert window.take(sorted(page, key=lambda p: (p[1], p[0]))) == [0, 2]
    assert window.after == (at(610), 3)
    assert window.take([(1, at(620))]) == [0]
    after = window.close()
    assert after.high_water == at(620)
    # Kept: what lies within the overlap window behind the new mark (550 is before 620-60).
    assert after.seen == {
        (1, stamp_text(at(590))),
        (3, stamp_text(at(610))),
        (1, stamp_text(at(620))),
    }


def test_a_first_window_reads_everything() -> None:
    window = PollWindow(ModifiedCursor(), MINUTE)
    assert window.since is None
    assert window.take([]) == []
    assert window.close() == ModifiedCursor()


@given(
    st.lists(
        st.tuples(st.integers(1, 50), st.integers(0, 600)), unique_by=lambda p: p, max_size=40
    ),
    st.integers(0, 600),
)
def test_nothing_is_published_twice_and_nothing_is_missed(
    rows: list[tuple[int, int]], split: int
) -> None:
    """Two polls over the same history: every (id, stamp) is fresh exactly once, provided
    the second poll's rows not yet visible to the first lie within the overlap window."""
    keyed = sorted((at(s), rid) for rid, s in rows)
    seen_first = [(rid, stamp) for stamp, rid in keyed if stamp <= at(split)]
    first = PollWindow(ModifiedCursor(), dt.timedelta(seconds=600))
    first.take(seen_first)
    second = PollWindow(first.close(), dt.timedelta(seconds=600))
    second.take(
        [(rid, stamp) for stamp, rid in keyed if second.since is None or stamp >= second.since]
    )
    assert sorted(first.fresh + second.fresh) == sorted((rid, stamp) for stamp, rid in keyed)


def test_ids_are_kept_as_runs() -> None:
    ids = frozenset({1, 2, 3, 4, 7, 9, 10, 11})
    assert id_runs(ids) == [1, 4, 3, 1, 2, 3]
    assert ids_of(id_runs(ids)) == ids


@given(st.frozensets(st.integers(0, 10_000), max_size=300))
def test_id_runs_round_trip(ids: frozenset[int]) -> None:
    assert ids_of(id_runs(ids)) == ids


@given(
    st.builds(
        ModifiedCursor,
        st.none() | st.datetimes(timezones=st.just(dt.UTC)),
        st.frozensets(
            st.tuples(
                st.integers(1, 10**9) | st.text(min_size=1, max_size=18),
                st.datetimes(timezones=st.just(dt.UTC)).map(stamp_text),
            ),
            max_size=20,
        ),
        st.none() | st.frozensets(st.integers(1, 10**6), max_size=50),
        st.none() | st.datetimes(timezones=st.just(dt.UTC)),
    )
)
def test_cursor_round_trips(cursor: ModifiedCursor) -> None:
    assert ModifiedCursor.decode(cursor.encode()) == cursor
    assert cursor.encode() == ModifiedCursor.decode(cursor.encode()).encode()  # stable text


def test_cursors_written_before_deletes_were_tracked_still_decode() -> None:
    old = {"hw": at(0).isoformat(), "seen": [[3, at(0).isoformat()]]}
    text = "lm1:" + base64.urlsafe_b64encode(zlib.compress(orjson.dumps(old), 9)).decode()
    assert ModifiedCursor.decode(text) == ModifiedCursor(at(0), frozenset({(3, stamp_text(at(0)))}))


def test_cursors_are_written_as_they_always_were() -> None:
    """The text an earlier release wrote for the same state (``sorted([id, stamp])``), so
    an upgraded source does not even rewrite its cursors."""
    seen = {(9, stamp_text(at(1))), (3, stamp_text(at(2))), (3, stamp_text(at(1)))}
    cursor = ModifiedCursor(at(2), frozenset(seen), known=frozenset({3, 9}), scanned_at=at(2))
    earlier = {
        "hw": at(2).isoformat(),
        "seen": sorted([rid, ts] for rid, ts in seen),
        "ids": id_runs(frozenset({3, 9})),
        "scan": at(2).isoformat(),
    }
    packed = zlib.compress(orjson.dumps(earlier), 9)
    assert cursor.encode() == "lm1:" + base64.urlsafe_b64encode(packed).decode()


@pytest.mark.parametrize("text", ["scan1:abc", "lm1:not-base64!", "lm1:" + "A" * 8])
def test_unreadable_cursors_stop_the_stream(text: str) -> None:
    with pytest.raises(ConnectorError) as error:
        ModifiedCursor.decode(text, "memory")
    assert error.value.kind is ErrorKind.FATAL
    assert error.value.system == "memory"


def test_delete_scans_run_when_due_and_forget_ids_when_off() -> None:
    tracked = ModifiedCursor(known=frozenset({1, 2}), scanned_at=at(0))
    cursor, due = track_published(tracked, [3], MINUTE, at(30))
    assert (cursor.known, due) == (frozenset({1, 2, 3}), False)
    assert track_published(tracked, [], MINUTE, at(60))[1]
    off, due = track_published(tracked, [3], None, at(600))
    assert (off.known, off.scanned_at, due) == (None, None, False)


def test_compare_ids_reports_the_gone_and_keeps_the_rest() -> None:
    cursor = ModifiedCursor(known=frozenset({1, 2, 3}), scanned_at=at(0))
    gone, after = compare_ids(cursor, frozenset({1, 3, 9}), [], at(60))
    assert gone == [2]
    assert (after.known, after.scanned_at) == (frozenset({1, 3}), at(60))
    # Never tracked before: what was deleted is unknowable, start from what exists.
    gone, after = compare_ids(ModifiedCursor(), frozenset({1, 3}), [5], at(60))
    assert gone == []
    assert after.known == frozenset({1, 3, 5})


async def test_a_stream_polls_pages_batches_and_finds_deletes() -> None:
    table = Table()
    for rid in range(1, 8):
        table.write(rid, at(rid), name=f"thing {rid}")
    now = [at(100)]
    stream = MemoryStream(
        table, overlap=MINUTE, page_size=2, batch_size=3, delete_scan=MINUTE, clock=lambda: now[0]
    )
    first = await stream.read(None)
    assert published(first.changes) == [(str(i), Operation.UPDATE) for i in (1, 2, 3, 4)]
    assert first.more  # a full batch: poll again at once
    second = await stream.read(first.cursor)
    assert [c.record_id for c in second.changes] == ["5", "6", "7"]
    assert not second.more
    assert ModifiedCursor.decode(second.cursor).known == frozenset(range(1, 8))

    # Nothing new: the overlap re-read publishes nothing; a late commit inside it is read.
    assert (await stream.read(second.cursor)).changes == []
    table.write(20, at(5), name="late")
    table.delete(3)
    now[0] = at(200)  # a delete scan is due
    third = await stream.read(second.cursor)
    assert published(third.changes) == [("20", Operation.UPDATE), ("3", Operation.DELETE)]
    state = ModifiedCursor.decode(third.cursor)
    assert state.known == frozenset({1, 2, 4, 5, 6, 7, 20})
    assert state.scanned_at == at(200)

    # The scan is not due again within a minute: a delete waits for it.
    table.delete(4)
    now[0] = at(230)
    assert (await stream.read(third.cursor)).changes == []
    now[0] = at(260)
    assert published((await stream.read(third.cursor)).changes) == [("4", Operation.DELETE)]


async def test_a_stream_filtered_by_a_domain_cannot_report_deletes() -> None:
    with pytest.raises(TypeError, match="domain"):

        class _Filtered(MemoryStream):
            filtered = True


class PartStream(MemoryStream):
    """Publishes its owners' records when its own are edited (here: the rows themselves)."""

    reports_deletes = False
    republishes = True


async def test_a_stream_that_republishes_starts_at_its_newest_record() -> None:
    table = Table()
    stream = PartStream(table, overlap=MINUTE, page_size=2)
    for rid in range(1, 8):
        table.write(rid, at(rid * 30), name=f"part {rid}")
    # The owners' own first read publishes them: this one marks its records read, the
    # overlap window before the newest included, and publishes none of them.
    first = await stream.read(None)
    assert first.changes == []
    assert not first.more
    state = ModifiedCursor.decode(first.cursor)
    assert state.high_water == at(210)
    assert state.seen == {(rid, stamp_text(at(rid * 30))) for rid in (5, 6, 7)}
    assert (await stream.read(first.cursor)).changes == []
    # Edits after it are published, a late commit inside the window too.
    table.write(2, at(240), name="edited")
    table.write(9, at(200), name="late")
    assert published((await stream.read(first.cursor)).changes) == [
        ("9", Operation.UPDATE),
        ("2", Operation.UPDATE),
    ]


async def test_a_stream_that_republishes_and_starts_empty_publishes_what_comes() -> None:
    table = Table()
    stream = PartStream(table, overlap=MINUTE, page_size=2)
    nothing_yet = await stream.read(None)
    assert nothing_yet.changes == []
    assert nothing_yet.cursor is not None
    table.write(1, at(10), name="first")
    table.write(2, at(20), name="second")
    assert published((await stream.read(nothing_yet.cursor)).changes) == [
        ("1", Operation.UPDATE),
        ("2", Operation.UPDATE),
    ]
