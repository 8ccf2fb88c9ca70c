"""The erasure of a customer: which records are its, what its personal data is, and how a
record that mentions it is erased or redacted.

q2c erases a customer by key: every topic that carries personal data is compacted (and
still deleted by age), and each of its records is keyed by the record it concerns, so a
tombstone for that key makes the log cleaner remove every earlier value of the key. The
customer's records are found by their keys (the customer, its contacts, its deals, its
ledger), by the customer ids they carry (``"customer": {"crm_id": ..}``), and by its
personal values (name, email, phone, ...) in the records of the source systems, whose
shapes q2c does not know. History topics (audit, dead letters) keep their records: a
record of the erased customer is replaced, under its own key, by a redacted copy that
keeps ids, reasons and times.

After an erasure the sync remembers each erased key by a hash of it (not the data), and
skips later changes of such a record with an audit record instead of importing them again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from schemas import AuditKind, AuditRecord, DeadLetter
from schemas.changes import SystemRole
from schemas.entities import EntityKind, ExternalIds
from schemas.keys import contact_key, customer_key, ledger_key

REDACTED = "[erased]"
"""What replaces a personal value, and the payload of a redacted dead letter."""
VALUES_ERASED = " (values erased)"
"""The end of the reason of an audit record whose recorded values were erased."""
MIN_NEEDLE = 4
"""Personal values shorter than this are not searched for (too many false matches)."""
PERSONAL_FIELDS = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "email",
        "phone",
        "mobile",
        "tax_id",
        "website",
        "street",
        "street2",
        "line1",
        "line2",
    }
)
"""Fields of customers and contacts whose values identify them (and their street lines): the
values searched for in records of unknown shape. A city, postal code or job title is shared
by many customers, so a record is not taken for this customer's because it holds one; those
fields are anonymised in the peers and dropped with the customer's own records."""


class ErasurePolicy(BaseModel):
    """``[sync.erasure]`` in the config file: whether an erasure also anonymises the customer
    and its contacts in the CRM and in the ERP (off: only q2c's own copies are erased)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    anonymise_crm: bool = Field(default=False, description="Anonymise it in the CRM too.")
    anonymise_erp: bool = Field(default=False, description="Anonymise it in the ERP too.")

    def roles(self, crm: bool | None = None, erp: bool | None = None) -> list[SystemRole]:
        """The systems to anonymise in: the policy's, unless overridden per call."""
        wanted = {
            SystemRole.CRM: self.anonymise_crm if crm is None else crm,
            SystemRole.ERP: self.anonymise_erp if erp is None else erp,
        }
        return [role for role, on in wanted.items() if on]


class ErasedMarker(BaseModel):
    """What the sync keeps of an erased record: when, and nothing else."""

    model_config = ConfigDict(frozen=True)

    erased_at: datetime


def erased_key(key: str) -> str:
    """The table key remembering that the record at sync key ``key`` was erased."""
    return "erased:" + hashlib.sha256(key.encode()).hexdigest()


def customer_keys(ids: ExternalIds) -> set[str]:
    """The sync keys of the customer itself and of its ledger."""
    keys = set()
    if ids.crm_id:
        keys.add(customer_key(ExternalIds(crm_id=ids.crm_id)))
    if ids.erp_id:
        keys.add(customer_key(ExternalIds(erp_id=ids.erp_id)))
        keys.add(ledger_key(ids.erp_id))
    return keys


def reference_keys(ids: ExternalIds) -> set[str]:
    """The keys of the customer on the reference topic (its CRM id, or ``erp:<id>``)."""
    keys = set()
    if ids.crm_id:
        keys.add(ids.crm_id)
    if ids.erp_id:
        keys.add(f"erp:{ids.erp_id}")
    return keys


def same_customer(value: JsonValue, ids: ExternalIds) -> bool:
    """Whether ``value`` (an ``ExternalIds`` as JSON) names the customer ``ids``."""
    if not isinstance(value, dict):
        return False
    crm, erp = value.get("crm_id"), value.get("erp_id")
    return bool((ids.crm_id and crm == ids.crm_id) or (ids.erp_id and erp == ids.erp_id))


def mentions_customer(value: JsonValue, ids: ExternalIds) -> bool:
    """Whether a decoded message refers to the customer by its ids: a member ``customer``
    (a contact's, a quote's, an invoice's; also inside a golden record's field states)."""
    if isinstance(value, dict):
        for name, member in value.items():
            if name == "customer" and _names_customer(member, ids):
                return True
            if mentions_customer(member, ids):
                return True
    elif isinstance(value, list):
        return any(mentions_customer(member, ids) for member in value)
    return False


def _names_customer(member: JsonValue, ids: ExternalIds) -> bool:
    """A member ``customer``: its ids, or a golden record's field state holding them."""
    if not isinstance(member, dict):
        return False
    return same_customer(member, ids) or same_customer(member.get("value"), ids)


def personal_values(record: JsonValue) -> set[str]:
    """The personal values of a customer or contact as JSON (its :data:`PERSONAL_FIELDS`,
    also inside addresses and golden field states), lower-cased, long enough to search."""
    found: set[str] = set()

    def walk(value: JsonValue, name: str | None) -> None:
        if isinstance(value, dict):
            if name in PERSONAL_FIELDS and "value" in value and "owner" in value:
                walk(value["value"], name)  # a golden record's field state
                return
            for member, inner in value.items():
                walk(inner, member)
        elif isinstance(value, list):
            for inner in value:
                walk(inner, name)
        elif isinstance(value, str) and name in PERSONAL_FIELDS:
            text = value.strip().lower()
            if len(text) >= MIN_NEEDLE:
                found.add(text)

    walk(record, None)
    return found


@dataclass
class Target:
    """What identifies one customer's data: its ids, the sync keys of its records, and the
    personal values to look for in records of unknown shape."""

    ids: ExternalIds
    keys: set[str] = field(default_factory=set)
    needles: set[str] = field(default_factory=set)

    def contains_personal(self, raw: bytes) -> bool:
        if not self.needles:
            return False
        text = raw.decode("utf-8", errors="replace").lower()
        return any(needle in text for needle in self.needles)

    def scrub(self, text: str) -> str:
        """``text`` with every personal value of the customer replaced."""
        lowered = text.lower()
        for needle in sorted(self.needles, key=len, reverse=True):
            start = lowered.find(needle)
            while start >= 0:
                text = text[:start] + REDACTED + text[start + len(needle) :]
                lowered = text.lower()
                start = lowered.find(needle, start + len(REDACTED))
        return text


def learn(target: Target, key: str | None, message: dict[str, Any]) -> None:
    """Take in a message (decoded JSON: a reference record, a canonical change, a table
    entry) read while looking for the customer's records. The customer itself completes
    its ids and adds its personal values; a contact of it adds its key and personal
    values; a deal or ledger of it (a quote, an order state, an invoice) adds its key."""
    entity = message.get("entity") or message.get("schema")
    inner = message.get("data")
    data: dict[str, Any] = inner if isinstance(inner, dict) else message
    ids = message.get("ids")
    if entity == EntityKind.CUSTOMER.value:
        if isinstance(ids, dict) and same_customer(ids, target.ids):
            target.ids = ExternalIds(
                crm_id=target.ids.crm_id or ids.get("crm_id"),
                erp_id=target.ids.erp_id or ids.get("erp_id"),
            )
            target.needles |= personal_values(data)
        return
    if not mentions_customer(message, target.ids):
        return
    if entity == EntityKind.CONTACT.value and isinstance(ids, dict):
        target.needles |= personal_values(data)
        contact = ExternalIds(crm_id=ids.get("crm_id"), erp_id=ids.get("erp_id"))
        target.keys.add(contact_key(contact))
    if key is not None and key.split(":", 1)[0] in {"contact", "deal", "ledger"}:
        target.keys.add(key)


def redacted_letter(letter: DeadLetter, target: Target, now: datetime) -> DeadLetter:
    """``letter`` with its payload replaced by :data:`REDACTED` and the customer's personal
    values taken out of its reason and key: its origin, stage, error and times stay."""
    return letter.model_copy(
        update={
            "payload_text": REDACTED,
            "payload_base64": None,
            "payload_size": None,
            "payload_sha256": None,
            "payload_truncated": False,
            "key_text": None if letter.key_text is None else target.scrub(letter.key_text),
            "reason": target.scrub(letter.reason),
            "field_path": target.scrub(letter.field_path),
            "last_failure_at": max(letter.last_failure_at, letter.first_failure_at),
        }
    )


def redacted_audit(audit: AuditRecord, target: Target) -> AuditRecord:
    """``audit`` without the values it recorded (which may be personal data)."""
    return audit.model_copy(
        update={
            "attempted": None,
            "kept": None,
            "reason": target.scrub(audit.reason) + VALUES_ERASED,
            "rule": None if audit.rule is None else target.scrub(audit.rule),
        }
    )


def erased_audit(
    key: str,
    customer: ExternalIds,
    record: ExternalIds,
    entity: EntityKind,
    what: Iterable[str],
    actor: str,
    now: datetime,
) -> AuditRecord:
    """The audit record of one erased record: what was erased, never the data."""
    return AuditRecord(
        kind=AuditKind.ERASED,
        entity=entity,
        record=record,
        rule="erasure of a customer",
        reason=(
            f"{key} of customer {_ids_text(customer)} erased: "
            + (", ".join(what) or "nothing held")
        ),
        actor=actor,
        at=now,
    )


def skipped_audit(entity: EntityKind, record: ExternalIds, by: str, now: datetime) -> AuditRecord:
    """The audit record of a change of an erased record, skipped."""
    return AuditRecord(
        kind=AuditKind.ERASED,
        entity=entity,
        record=record,
        rule="erased records are not imported again",
        reason=f"a change from {by} of an erased {entity} was skipped",
        at=now,
    )


def _ids_text(ids: ExternalIds) -> str:
    parts = [f"CRM {ids.crm_id}" if ids.crm_id else "", f"ERP {ids.erp_id}" if ids.erp_id else ""]
    return " / ".join(p for p in parts if p)


def entity_of_key(key: str) -> EntityKind:
    """The entity a sync key names (a ledger is the customer's)."""
    prefix = key.split(":", 1)[0]
    return {
        "contact": EntityKind.CONTACT,
        "deal": EntityKind.QUOTE,
    }.get(prefix, EntityKind.CUSTOMER)
