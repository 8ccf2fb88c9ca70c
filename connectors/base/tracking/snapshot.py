"""Strategy (b): full scans compared by fingerprint.

For a system that cannot list what changed since a time, each scan reads every record of
its object and compares fingerprints with the previous scan, kept in the cursor: new ids
are creates, changed fingerprints updates, ids no longer listed deletes, after the
system confirms the record is gone (:meth:`FullScanStream.exists`), so a record that moved
between pages mid-scan is not mistaken for a deletion.

The cursor (format ``scan1:``) maps each id to a prefix of its fingerprint, zlib-packed:
ten thousand records stay well under Kafka's default 1 MB message.

What a system implements: :meth:`FullScanStream.records` (every record, any order),
:meth:`~FullScanStream.change` (a record as a raw change, fingerprint included) and
:meth:`~FullScanStream.exists` (a read by id).
"""

from __future__ import annotations

import base64
import zlib
from abc import abstractmethod
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from connectors.base.errors import ConnectorError, ErrorKind
from connectors.base.source import Batch, Stream
from schemas import Operation, RawChange

PREFIX = "scan1:"
FINGERPRINT_CHARS = 20
"""Characters of the hex digest kept per record: collisions within one record's history are
what would hide a change, and 80 bits make that negligible."""


def short(fingerprint: str) -> str:
    """The part of a fingerprint the cursor keeps."""
    return fingerprint.removeprefix("sha256:")[:FINGERPRINT_CHARS]


def encode_snapshot(fingerprints: Mapping[str, str]) -> str:
    """The cursor of a scan: each record id with (a prefix of) its fingerprint."""
    kept = {rid: short(fp) for rid, fp in fingerprints.items()}
    packed = zlib.compress(orjson.dumps(kept, option=orjson.OPT_SORT_KEYS), 9)
    return PREFIX + base64.urlsafe_b64encode(packed).decode()


def decode_snapshot(cursor: str | None, system: str = "") -> dict[str, str]:
    """The fingerprints of :func:`encode_snapshot` (None or empty: no scan yet); another
    format is FATAL: a guess would publish every record again or, worse, miss deletes."""
    if not cursor:
        return {}
    if not cursor.startswith(PREFIX):
        raise ConnectorError(
            ErrorKind.FATAL,
            f"unknown {system or 'snapshot'} cursor format {cursor[:10]!r}",
            system=system,
        )
    try:
        data = orjson.loads(zlib.decompress(base64.urlsafe_b64decode(cursor[len(PREFIX) :])))
    except (ValueError, zlib.error) as exc:
        raise ConnectorError(
            ErrorKind.FATAL, f"unreadable {PREFIX} cursor: {exc}", system=system
        ) from None
    if not isinstance(data, dict):
        raise ConnectorError(ErrorKind.FATAL, f"unreadable {PREFIX} cursor", system=system)
    return {str(rid): str(fp) for rid, fp in data.items()}


@dataclass
class ScanComparison:
    """One scan against the previous one. Pure: the caller feeds it what it lists."""

    previous: Mapping[str, str]
    current: dict[str, str] = field(default_factory=dict)

    def listed(self, record_id: str, fingerprint: str) -> Operation | None:
        """What a listed record is: CREATE, UPDATE, or None when unchanged or listed
        twice in this scan (records moving between pages)."""
        if record_id in self.current:
            return None
        self.current[record_id] = short(fingerprint)
        if self.previous.get(record_id) == self.current[record_id]:
            return None
        return Operation.UPDATE if record_id in self.previous else Operation.CREATE

    def missing(self) -> list[str]:
        """Ids of the previous scan this one did not list: deleted, or missed."""
        return sorted(set(self.previous) - set(self.current))

    def still_there(self, record_id: str) -> None:
        """A missing record that exists after all: kept as it was; the next scan sees it."""
        self.current[record_id] = self.previous[record_id]


class FullScanStream(Stream):
    """All records of one object, compared with the previous scan."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.clock = clock

    @abstractmethod
    def records(self) -> AsyncIterator[tuple[str, Mapping[str, Any]]]:
        """Every record of the object, as (id, record)."""

    @abstractmethod
    def change(
        self, record_id: str, operation: Operation, record: Mapping[str, Any], at: datetime
    ) -> RawChange:
        """``record`` as a raw change seen by the scan at ``at`` (empty for a delete)."""

    @abstractmethod
    async def exists(self, record_id: str) -> bool:
        """Whether the system still has ``record_id`` (read by id)."""

    async def read(self, cursor: str | None) -> Batch:
        scan = ScanComparison(decode_snapshot(cursor, self.system))
        now = self.clock()
        changes: list[RawChange] = []
        async for record_id, record in self.records():
            if record_id in scan.current:
                continue
            change = self.change(record_id, Operation.UPDATE, record, now)
            operation = scan.listed(record_id, change.fingerprint)
            if operation is not None:  # the fingerprint is the record's, whatever the operation
                changes.append(change.model_copy(update={"operation": operation}))
        for record_id in scan.missing():
            if await self.exists(record_id):
                scan.still_there(record_id)
                continue
            changes.append(self.change(record_id, Operation.DELETE, {}, now))
        return Batch(changes, encode_snapshot(scan.current))
