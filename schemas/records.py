"""Dead-letter and audit records.

A message that cannot be processed is never dropped silently: it becomes a
:class:`DeadLetter` carrying the original bytes (as text when they are UTF-8, base64
otherwise), the error class, a readable reason, where it was read (topic, partition,
offset), where it failed and how often. A dead letter must itself fit in one Kafka message:
a payload beyond a bound (64 KiB by default) is kept cut, with its whole size and sha256,
and the whole message is read from its origin while the source topic retains it. The key
and the reason are bounded too. Decisions the sync makes about data (ownership conflicts,
rejections, approvals) become :class:`AuditRecord` messages.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field, model_validator

from schemas.base import Contract
from schemas.entities import EntityKind, ExternalIds
from schemas.errors import DecodeError
from schemas.redaction import redact
from schemas.types import Frozen, NonEmptyStr, UtcDateTime

_MAX_REASON = 4000
_MAX_KEY = 1024
DEFAULT_MAX_PAYLOAD_BYTES = 64 * 1024
"""The default bound of the payload a dead letter carries (the broker's limit is 1 MiB)."""


class MessageOrigin(Frozen):
    """Where a message was read: topic, partition and offset."""

    topic: NonEmptyStr
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)

    @classmethod
    def of(cls, record: Any) -> MessageOrigin:
        """The origin of a consumed record (aiokafka's ConsumerRecord, Faust's Message)."""
        return cls(topic=record.topic, partition=record.partition, offset=record.offset)


class DeadLetter(Contract):
    """A message q2c gave up on, with everything needed to understand and replay it."""

    schema_subject: ClassVar[str] = "dead_letter"
    schema_version: ClassVar[int] = 2

    origin: MessageOrigin | None = None
    key_text: str | None = None
    payload_text: str | None = Field(default=None, description="The message, if UTF-8.")
    payload_base64: str | None = Field(default=None, description="The message, otherwise.")
    payload_size: int | None = Field(
        default=None, ge=0, description="The whole message's size in bytes."
    )
    payload_sha256: str | None = Field(
        default=None,
        pattern="^[0-9a-f]{64}$",
        description="The whole message's sha256 (hex), to check it when read from origin.",
    )
    payload_truncated: bool = Field(
        default=False, description="Only the start of the message is kept; see origin."
    )
    error_class: NonEmptyStr
    reason: str = Field(max_length=_MAX_REASON)
    field_path: str = Field(default="", description="Where in the message, when known.")
    stage: NonEmptyStr = Field(description="Where it failed, e.g. 'normalize.tryton'.")
    attempts: int = Field(ge=1)
    first_failure_at: UtcDateTime
    last_failure_at: UtcDateTime

    @model_validator(mode="after")
    def _consistent(self) -> DeadLetter:
        if self.payload_text is not None and self.payload_base64 is not None:
            raise ValueError("payload_text and payload_base64 are exclusive")
        if self.last_failure_at < self.first_failure_at:
            raise ValueError("last_failure_at is before first_failure_at")
        return self

    @staticmethod
    def payload_fields(
        payload: bytes | None, max_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES
    ) -> dict[str, Any]:
        """The payload fields for raw message bytes, at most ``max_bytes`` of them kept."""
        if payload is None:
            return {"payload_text": None, "payload_base64": None}
        kept = payload[:max_bytes]
        fields: dict[str, Any] = {
            "payload_size": len(payload),
            "payload_sha256": hashlib.sha256(payload).hexdigest(),
            "payload_truncated": len(kept) < len(payload),
            "payload_text": None,
            "payload_base64": None,
        }
        text = _utf8(kept, cut=fields["payload_truncated"])
        if text is not None:
            fields["payload_text"] = text
        else:
            fields["payload_base64"] = base64.b64encode(kept).decode()
        return fields

    @classmethod
    def of(
        cls,
        *,
        payload: bytes | None,
        error: BaseException,
        stage: str,
        failed_at: datetime,
        origin: MessageOrigin | None = None,
        key: bytes | None = None,
        attempts: int = 1,
        first_failure_at: datetime | None = None,
        reason: str | None = None,
        max_payload_bytes: int = DEFAULT_MAX_PAYLOAD_BYTES,
    ) -> DeadLetter:
        """A dead letter for ``payload`` that failed with ``error``.

        ``reason`` defaults to the error's text; a :class:`DecodeError` also gives the field
        path. Anything that looks like a credential is masked in the reason (an HTTP error
        may quote a header); the payload is kept as it was, so it can be replayed, unless it
        is larger than ``max_payload_bytes``: then its start is kept, and ``origin`` says
        where the whole of it is.
        """
        text = redact(reason if reason is not None else str(error) or type(error).__name__)
        key_text = None if key is None else key.decode("utf-8", errors="replace")[:_MAX_KEY]
        return cls(
            origin=origin,
            key_text=key_text,
            **cls.payload_fields(payload, max_payload_bytes),
            error_class=type(error).__name__,
            reason=text[:_MAX_REASON],
            field_path=error.path if isinstance(error, DecodeError) else "",
            stage=stage,
            attempts=attempts,
            first_failure_at=first_failure_at or failed_at,
            last_failure_at=failed_at,
        )

    def payload(self) -> bytes | None:
        """The original message bytes (None when only their start is kept: read the
        message at ``origin``)."""
        if self.payload_truncated:
            return None
        if self.payload_text is not None:
            return self.payload_text.encode("utf-8")
        if self.payload_base64 is not None:
            return base64.b64decode(self.payload_base64)
        return None


def _utf8(data: bytes, *, cut: bool) -> str | None:
    """``data`` as text, or None when it is not UTF-8 (a cut may split the last character:
    up to three trailing bytes are dropped then)."""
    for end in range(len(data), max(len(data) - 4, -1) if cut else len(data) - 1, -1):
        try:
            return data[:end].decode("utf-8")
        except UnicodeDecodeError:
            continue
    return None


class FieldValue(Frozen):
    """A value in an audit record: its text form and the system that holds it."""

    system: NonEmptyStr
    value: str | None


class AuditKind(StrEnum):
    OWNERSHIP_CONFLICT = "ownership_conflict"
    OVERWRITTEN = "overwritten"
    REJECTED = "rejected"
    APPROVAL_REQUESTED = "approval_requested"
    APPROVED = "approved"
    DECLINED = "declined"
    DELETED = "deleted"
    """A record was deleted in one system; ``rule`` says what the delete policy did."""
    ERASED = "erased"
    """A customer's personal data was erased from q2c (``reason`` says what was erased), or
    a later change of an erased customer was skipped; never the erased data itself."""


class AuditRecord(Contract):
    """A decision the sync took about a record, kept for people to review."""

    schema_subject: ClassVar[str] = "audit_record"
    schema_version: ClassVar[int] = 3

    kind: AuditKind
    entity: EntityKind
    record: ExternalIds
    field: str | None = Field(default=None, description="The field concerned, if one.")
    attempted: FieldValue | None = Field(
        default=None, description="The value a system tried to set."
    )
    kept: FieldValue | None = Field(default=None, description="The value q2c kept.")
    rule: str | None = Field(default=None, description="The rule that decided.")
    reason: str = ""
    actor: str | None = Field(default=None, description="Who approved or declined.")
    at: UtcDateTime
