"""The sinks' results, read off their results topics from a point in time on: what the
overview's error rate and latency are computed from.

Reading starts at the first offset whose broker timestamp is at or after ``since`` (found
with ``offsets_for_times``), so a day's figures never read a topic from its beginning."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from aiokafka import ConsumerRecord

from q2c.deadletters import read_topic
from schemas import CODEC, DecodeError
from schemas.commands import CommandResult


def command_results(records: Iterable[ConsumerRecord[bytes, bytes]]) -> list[CommandResult]:
    """The results among ``records``; anything unreadable is the dead-letter pages' business,
    not a figure's."""
    found: list[CommandResult] = []
    for record in records:
        try:
            found.append(CODEC.decode_as(record.value or b"", CommandResult))
        except DecodeError:
            continue
    return found


async def read_results(
    client_kwargs: dict[str, Any], topics: Iterable[str], since: datetime
) -> list[CommandResult]:
    found: list[CommandResult] = []
    for topic in topics:
        found += command_results(await read_topic(client_kwargs, topic, since))
    return found
