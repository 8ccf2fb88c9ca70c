"""Messages people and timers send into the sync: an approval (or refusal) of a deal held
for a discount beyond policy, the nudge that re-examines a parked deal, the nudge that
recomputes a customer's balances as due dates pass, the erasure of a customer, and what an
operator did with a dead letter."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from schemas.base import Contract
from schemas.changes import SystemRole
from schemas.entities import ExternalIds
from schemas.types import NonEmptyStr, UtcDateTime


class DealApproval(Contract):
    """Someone decided on a deal waiting for approval (`q2c approve` / `q2c decline`)."""

    schema_subject: ClassVar[str] = "deal_approval"
    schema_version: ClassVar[int] = 1

    deal_crm_id: NonEmptyStr
    approved: bool
    actor: NonEmptyStr = Field(description="Who decided, as they identified themselves.")
    reason: str = ""
    at: UtcDateTime


class RecheckDeal(Contract):
    """Look at a parked deal again (its customer or items may have arrived meanwhile)."""

    schema_subject: ClassVar[str] = "recheck_deal"
    schema_version: ClassVar[int] = 1

    deal_crm_id: NonEmptyStr
    at: UtcDateTime


class RecheckLedger(Contract):
    """Recompute a customer's outstanding and overdue balances as of now: one of its invoices
    fell due since they were last computed (sent by the worker's ledger timer)."""

    schema_subject: ClassVar[str] = "recheck_ledger"
    schema_version: ClassVar[int] = 1

    customer_erp_id: NonEmptyStr = Field(description="The ERP id of the customer billed.")
    at: UtcDateTime


class EraseRecord(Contract):
    """Erase one record of an erased customer from the sync's state (`q2c erase customer`):
    sent keyed by the record's sync key, so it is handled in the partition holding the
    record's table entries. ``anonymise`` names the systems to anonymise the record in."""

    schema_subject: ClassVar[str] = "erase_record"
    schema_version: ClassVar[int] = 1

    key: NonEmptyStr = Field(description="The record's sync key, e.g. 'customer:<CRM id>'.")
    customer: ExternalIds = Field(description="The erased customer's ids.")
    anonymise: list[SystemRole] = Field(
        default_factory=list, description="The systems to anonymise the record in."
    )
    actor: NonEmptyStr = Field(description="Who asked for the erasure.")
    at: UtcDateTime


class LetterAction(StrEnum):
    RETRIED = "retried"
    RESOLVED = "resolved"


class DeadLetterResolution(Contract):
    """Someone dealt with a dead letter (`q2c dead-letters retry` / `resolve`): it no longer
    counts as open. Kept on a compacted topic keyed by the letter's id."""

    schema_subject: ClassVar[str] = "dead_letter_resolution"
    schema_version: ClassVar[int] = 1

    letter_id: NonEmptyStr = Field(
        description="The dead letter's position on the dead-letter topic: 'partition:offset'."
    )
    action: LetterAction
    actor: NonEmptyStr = Field(description="Who, as they identified themselves.")
    note: str = ""
    at: UtcDateTime
