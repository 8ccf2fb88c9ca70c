"""The cursor of a modified-since stream, as stored in the cursors topic (format ``lm1:``).

``lm1:`` then the URL-safe base64 of zlib-compressed JSON:
``{"hw": high-water mark, "seen": [[id, stamp], ...], "ids": id runs, "scan": time}``.
``ids`` and ``scan`` were added when deletes were tracked, and only ever added: a cursor
written before still decodes (``known`` None: the next scan starts from the ids the system
has). Stored cursors of running installations must keep decoding, so the format only grows
by optional keys.
"""

from __future__ import annotations

import base64
import datetime as dt
import zlib
from dataclasses import dataclass
from typing import Any

import orjson

from connectors.base.errors import ConnectorError, ErrorKind
from connectors.base.tracking.idranges import id_runs, ids_of

RecordId = int | str
"""A record's id as the system hands it out (Tryton's are integers, Salesforce's text)."""

PREFIX = "lm1:"


def stamp_text(value: dt.datetime) -> str:
    """How a modification time is kept in the cursor (and compared): ISO 8601 in UTC."""
    return value.astimezone(dt.UTC).isoformat()


def _order(pair: tuple[RecordId, str]) -> tuple[int, int, str, str]:
    """Integer ids first, in the order cursors were always written (by id, then stamp)."""
    rid, stamp = pair
    return (0, rid, "", stamp) if isinstance(rid, int) else (1, 0, rid, stamp)


@dataclass(frozen=True)
class ModifiedCursor:
    """Where a stream resumes: the high-water mark and what it published near it (``seen``:
    (id, :func:`stamp_text`) pairs within the overlap window); for a stream that reports
    deletions, the ids it published and not seen deleted (``known``, None when not tracked
    yet) and when it last compared them with the system's."""

    high_water: dt.datetime | None = None
    seen: frozenset[tuple[RecordId, str]] = frozenset()
    known: frozenset[int] | None = None
    scanned_at: dt.datetime | None = None

    def encode(self) -> str:
        data: dict[str, Any] = {
            "hw": self.high_water.isoformat() if self.high_water else None,
            "seen": [[rid, ts] for rid, ts in sorted(self.seen, key=_order)],
        }
        if self.known is not None:
            data["ids"] = id_runs(self.known)
        if self.scanned_at is not None:
            data["scan"] = self.scanned_at.isoformat()
        packed = zlib.compress(orjson.dumps(data), 9)
        return PREFIX + base64.urlsafe_b64encode(packed).decode()

    @classmethod
    def decode(cls, text: str | None, system: str = "") -> ModifiedCursor:
        """The cursor ``text`` stands for (None or empty: from the beginning); a text in
        another format is FATAL: resuming from a guess could skip changes."""
        if not text:
            return cls()
        if not text.startswith(PREFIX):
            raise ConnectorError(
                ErrorKind.FATAL,
                f"unknown {system or 'modified-since'} cursor format {text[:10]!r}",
                system=system,
            )
        try:
            data = orjson.loads(zlib.decompress(base64.urlsafe_b64decode(text[len(PREFIX) :])))
            high_water = dt.datetime.fromisoformat(data["hw"]) if data["hw"] else None
            seen = frozenset(
                (rid if isinstance(rid, int | str) else str(rid), str(ts))
                for rid, ts in data["seen"]
            )
            runs = data.get("ids")
            scan = data.get("scan")
        except (ValueError, TypeError, KeyError, zlib.error, orjson.JSONDecodeError) as exc:
            raise ConnectorError(
                ErrorKind.FATAL, f"unreadable {PREFIX} cursor: {exc}", system=system
            ) from None
        return cls(
            high_water,
            seen,
            known=ids_of(runs) if runs is not None else None,
            scanned_at=dt.datetime.fromisoformat(scan) if scan else None,
        )
