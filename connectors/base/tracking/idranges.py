"""Sets of integer ids packed as runs, so a cursor can remember every id a stream published.

Systems hand out integer ids in sequence: the ids that still exist are a few runs, one more
for each gap a deletion left. Each run is two small numbers, its distance from the end of
the previous run and its length, which compress well (a hundred thousand ids with one gap
in ten stay a few kilobytes once zlib has packed them).
"""

from __future__ import annotations

from collections.abc import Sequence


def id_runs(ids: frozenset[int]) -> list[int]:
    """``ids`` packed as ``[distance, length, distance, length, ...]``."""
    packed: list[int] = []
    end = 0  # the last id of the previous run
    start = previous = None
    for rid in sorted(ids):
        if previous is not None and rid == previous + 1:
            previous = rid
            continue
        if start is not None and previous is not None:
            packed += [start - end, previous - start + 1]
            end = previous
        start = previous = rid
    if start is not None and previous is not None:
        packed += [start - end, previous - start + 1]
    return packed


def ids_of(packed: Sequence[int]) -> frozenset[int]:
    """The ids of :func:`id_runs`."""
    ids: set[int] = set()
    end = 0
    for i in range(0, len(packed) - 1, 2):
        start = end + int(packed[i])
        end = start + int(packed[i + 1]) - 1
        ids.update(range(start, end + 1))
    return frozenset(ids)
