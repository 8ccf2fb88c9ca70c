"""Dead-letter and audit records.

A message that cannot be processed is never dropped silently: it becomes a
:class:`DeadLetter` carrying the original bytes (as text when they are UTF-8, base64
otherwise), the error class, a readable reason, where it failed and how often. Decisions the
sync makes about data (ownership conflicts, rejections, approvals) become
:class:`AuditRecord` messages.
"""

from __future__ import annotations

import base64
from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import Field, model_validator

from q2c.telemetry import redact
from schemas.base import Contract
from schemas.entities import EntityKind, ExternalIds
from schemas.errors import DecodeError
from schemas.types import Frozen, NonEmptyStr, UtcDateTime

_MAX_REASON = 4000


class MessageOrigin(Frozen):
    """Where a message was read: topic, partition and offset."""

    topic: NonEmptyStr
    partition: int = Field(ge=0)
    offset: int = Field(ge=0)


class DeadLetter(Contract):
    """A message q2c gave up on, with everything needed to understand and replay it."""

    schema_subject: ClassVar[str] = "dead_letter"
    schema_version: ClassVar[int] = 1

    origin: MessageOrigin | None = None
    key_text: str | None = None
    payload_text: str | None = Field(default=None, description="The message, if UTF-8.")
    payload_base64: str | None = Field(default=None, description="The message, otherwise.")
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
    def payload_fields(payload: bytes | None) -> dict[str, str | None]:
        """``payload_text``/``payload_base64`` for raw message bytes."""
        if payload is None:
            return {"payload_text": None, "payload_base64": None}
        try:
            return {"payload_text": payload.decode("utf-8"), "payload_base64": None}
        except UnicodeDecodeError:
            return {"payload_text": None, "payload_base64": base64.b64encode(payload).decode()}

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
    ) -> DeadLetter:
        """A dead letter for ``payload`` that failed with ``error``.

        ``reason`` defaults to the error's text; a :class:`DecodeError` also gives the field
        path. Anything that looks like a credential is masked in the reason (an HTTP error
        may quote a header); the payload is kept as it was, so it can be replayed.
        """
        text = redact(reason if reason is not None else str(error) or type(error).__name__)
        key_text = None if key is None else key.decode("utf-8", errors="replace")
        return cls(
            origin=origin,
            key_text=key_text,
            **cls.payload_fields(payload),
            error_class=type(error).__name__,
            reason=text[:_MAX_REASON],
            field_path=error.path if isinstance(error, DecodeError) else "",
            stage=stage,
            attempts=attempts,
            first_failure_at=first_failure_at or failed_at,
            last_failure_at=failed_at,
        )

    def payload(self) -> bytes | None:
        """The original message bytes."""
        if self.payload_text is not None:
            return self.payload_text.encode("utf-8")
        if self.payload_base64 is not None:
            return base64.b64decode(self.payload_base64)
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


class AuditRecord(Contract):
    """A decision the sync took about a record, kept for people to review."""

    schema_subject: ClassVar[str] = "audit_record"
    schema_version: ClassVar[int] = 1

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
