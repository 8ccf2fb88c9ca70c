"""The raw change event: a source system's own record plus the envelope that says where it
came from.

Source connectors write :class:`RawChange` messages; ``normalize`` maps their ``record`` to
canonical entities. The record is kept exactly as the source returned it, so a mapping bug
can be fixed and the raw topic replayed. The envelope's schema name and version travel at
the top of the message (``schema``/``schema_version``, written by the codec); the trace
context does not travel in the body at all but in the Kafka headers (W3C ``traceparent``).

:func:`fingerprint` is the stable hash of a record used to drop duplicates and echoes: two
records with the same content have the same fingerprint whatever the order of their keys.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

import orjson
from pydantic import Field, JsonValue

from schemas.base import Contract
from schemas.types import NonEmptyStr, UtcDateTime

TRACEPARENT_HEADER = "traceparent"
TRACESTATE_HEADER = "tracestate"

_FINGERPRINT_PATTERN = r"^sha256:[0-9a-f]{64}$"


class Operation(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"


def _canonical_default(value: Any) -> Any:
    if isinstance(value, datetime):
        text = value.isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"cannot fingerprint a {type(value).__name__}")


def canonical_json(record: Mapping[str, Any], *, ignore: Iterable[str] = ()) -> bytes:
    """``record`` as canonical JSON: sorted keys, no spaces, decimals in fixed point."""
    skip = frozenset(ignore)
    data = {k: v for k, v in record.items() if k not in skip} if skip else dict(record)
    try:
        return orjson.dumps(
            data,
            default=_canonical_default,
            option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z,
        )
    except orjson.JSONEncodeError as exc:
        if "64-bit" not in str(exc):
            raise
    # orjson stops at 64-bit integers; a source may send wider ones. The standard library
    # gives the same canonical form for everything else, so only such records take this path.
    return json.dumps(
        data,
        default=_canonical_default,
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def fingerprint(record: Mapping[str, Any], *, ignore: Iterable[str] = ()) -> str:
    """The stable hash of ``record`` (``sha256:<hex>``).

    ``ignore`` names top-level keys that change without the record changing (a source's
    ``write_date`` or revision counter), so they do not defeat de-duplication.
    """
    return "sha256:" + hashlib.sha256(canonical_json(record, ignore=ignore)).hexdigest()


class RawChange(Contract):
    """One change of one record in a source system, as the source reported it."""

    schema_subject: ClassVar[str] = "raw_change"
    schema_version: ClassVar[int] = 1

    system: NonEmptyStr = Field(description="Source system, e.g. 'tryton' or 'bottlecrm'.")
    object: NonEmptyStr = Field(description="Source object type, e.g. 'party.party'.")
    record_id: NonEmptyStr = Field(description="The record's id in the source system.")
    operation: Operation
    source_ts: UtcDateTime = Field(description="When the source says the change happened.")
    cursor: str = Field(
        description="Where the source connector resumes after this change (opaque to others)."
    )
    fingerprint: str = Field(pattern=_FINGERPRINT_PATTERN)
    record: dict[str, JsonValue] = Field(
        description="The source's own record, unchanged; empty for a delete."
    )
    observed_at: UtcDateTime = Field(description="When q2c read the change.")

    @classmethod
    def of(
        cls,
        *,
        system: str,
        object: str,
        record_id: str,
        operation: Operation,
        source_ts: datetime,
        cursor: str,
        record: Mapping[str, JsonValue],
        observed_at: datetime,
        ignore: Iterable[str] = (),
    ) -> RawChange:
        """A change event whose fingerprint is computed from ``record``."""
        return cls(
            system=system,
            object=object,
            record_id=record_id,
            operation=operation,
            source_ts=source_ts,
            cursor=cursor,
            fingerprint=fingerprint(record, ignore=ignore),
            record=dict(record),
            observed_at=observed_at,
        )


__all__ = [
    "TRACEPARENT_HEADER",
    "TRACESTATE_HEADER",
    "Operation",
    "RawChange",
    "canonical_json",
    "fingerprint",
]
