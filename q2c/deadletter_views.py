"""Dead letters as an operator sees them: which are still open, filtered, as a table, in full.

A dead letter's id is its own position on the dead-letter topic, ``partition:offset``: it
never changes and needs no counter. What operators did with a letter (retried, resolved) is
kept apart, keyed by that id, so the letters themselves stay as they were written.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from schemas import DeadLetter
from schemas.decisions import DeadLetterResolution

_REASON_WIDTH = 80


@dataclass(frozen=True)
class Letter:
    """One message of the dead-letter topic: the record, or why it could not be read."""

    id: str
    written_at: datetime
    record: DeadLetter | None
    unreadable: str = ""
    """Why the message is not a dead letter q2c can read (then ``record`` is None)."""

    @property
    def when(self) -> datetime:
        return self.record.last_failure_at if self.record is not None else self.written_at

    @property
    def stage(self) -> str:
        return self.record.stage if self.record is not None else "?"

    @property
    def error_class(self) -> str:
        return self.record.error_class if self.record is not None else "?"

    @property
    def reason(self) -> str:
        return self.record.reason if self.record is not None else self.unreadable


def letter_id(partition: int, offset: int) -> str:
    return f"{partition}:{offset}"


def parse_id(text: str) -> tuple[int, int]:
    """``partition:offset`` as numbers; ValueError with a readable message otherwise."""
    partition, sep, offset = text.partition(":")
    if not sep or not partition.isdigit() or not offset.isdigit():
        raise ValueError(f"{text!r} is not a dead letter id (partition:offset, e.g. 0:42)")
    return int(partition), int(offset)


@dataclass(frozen=True)
class LetterFilter:
    since: datetime | None = None
    stage: str | None = None
    reason: str | None = None
    include_handled: bool = False

    def admits(self, letter: Letter, handled: DeadLetterResolution | None) -> bool:
        if handled is not None and not self.include_handled:
            return False
        if self.since is not None and letter.when < self.since:
            return False
        if self.stage is not None and not letter.stage.startswith(self.stage):
            return False
        return self.reason is None or self.reason.casefold() in letter.reason.casefold()


def select(
    letters: Iterable[Letter],
    handled: Mapping[str, DeadLetterResolution],
    rule: LetterFilter,
) -> list[Letter]:
    """The letters ``rule`` admits, oldest first."""
    chosen = [letter for letter in letters if rule.admits(letter, handled.get(letter.id))]
    return sorted(chosen, key=lambda letter: (letter.when, letter.id))


def one_line(text: str, width: int = _REASON_WIDTH) -> str:
    """``text``'s first line, cut to ``width`` characters."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    return first if len(first) <= width else first[: width - 1] + "…"


def _state(resolution: DeadLetterResolution | None) -> str:
    return "open" if resolution is None else str(resolution.action)


def table(letters: Sequence[Letter], handled: Mapping[str, DeadLetterResolution]) -> list[str]:
    """One line per letter (id, when, stage, error class, state, reason), under a header."""
    rows = [("ID", "WHEN (UTC)", "STAGE", "ERROR", "STATE", "REASON")]
    for letter in letters:
        rows.append(
            (
                letter.id,
                letter.when.strftime("%Y-%m-%d %H:%M:%S"),
                letter.stage,
                letter.error_class,
                _state(handled.get(letter.id)),
                one_line(letter.reason),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    return [
        "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:5])) + "  " + row[5]
        for row in rows
    ]


def _pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except ValueError:
        return text


def describe(letter: Letter, resolution: DeadLetterResolution | None, topic: str) -> list[str]:
    """Everything about ``letter``: where it came from, why it failed, its payload."""
    lines = [f"id:           {letter.id} on {topic}", f"state:        {_state(resolution)}"]
    if resolution is not None:
        note = f": {resolution.note}" if resolution.note else ""
        lines.append(
            f"              {resolution.action} by {resolution.actor} at "
            f"{resolution.at.isoformat()}{note}"
        )
    record = letter.record
    if record is None:
        lines.append(f"unreadable:   {letter.unreadable}")
        return lines
    origin = (
        f"{record.origin.topic} partition {record.origin.partition} offset {record.origin.offset}"
        if record.origin is not None
        else "unknown (it cannot be retried)"
    )
    lines += [
        f"stage:        {record.stage}",
        f"error:        {record.error_class}",
        f"reason:       {record.reason}",
    ]
    if record.field_path:
        lines.append(f"field:        {record.field_path}")
    lines += [
        f"origin:       {origin}",
        f"key:          {record.key_text if record.key_text is not None else '(none)'}",
        f"attempts:     {record.attempts}",
        f"first failed: {record.first_failure_at.isoformat()}",
        f"last failed:  {record.last_failure_at.isoformat()}",
    ]
    if record.payload_text is not None:
        lines += ["payload:", _pretty(record.payload_text)]
    elif record.payload_base64 is not None:
        lines += ["payload (binary, base64):", record.payload_base64]
    else:
        lines.append("payload:      (none)")
    return lines


def retry_refusal(letter: Letter) -> str | None:
    """Why ``letter`` cannot be sent again, or None when it can."""
    if letter.record is None:
        return f"dead letter {letter.id} is unreadable: {letter.unreadable}"
    if letter.record.origin is None:
        return (
            f"dead letter {letter.id} does not say which topic its message came from "
            "(no origin), so there is nowhere to send it again"
        )
    if letter.record.payload() is None:
        return f"dead letter {letter.id} carries no payload to send again"
    return None


def retryable(letters: Sequence[Letter]) -> tuple[list[Letter], list[tuple[Letter, str]]]:
    """``letters`` split into those that can be sent again and those that cannot (why)."""
    ok: list[Letter] = []
    refused: list[tuple[Letter, str]] = []
    for letter in letters:
        refusal = retry_refusal(letter)
        if refusal is None:
            ok.append(letter)
        else:
            refused.append((letter, refusal))
    return ok, refused
