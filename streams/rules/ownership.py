"""Which system owns each field of each entity.

Exactly one role owns a field: a change to it from the other side is not propagated; it is
audited and, under the OVERWRITE policy, written back with the owner's value. The defaults
follow how sales and finance split the work: the CRM owns the account's name and contacts,
the deal and its quote; the ERP owns billing address, payment terms, credit, finance
approval, items and prices, orders, invoices and payments.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from schemas.changes import SystemRole
from schemas.entities import EntityKind

CRM = SystemRole.CRM
ERP = SystemRole.ERP


class ConflictPolicy(StrEnum):
    AUDIT = "audit"
    """Keep the owner's value in q2c, leave the non-owner's edit where it was made."""
    OVERWRITE = "overwrite"
    """Also write the owner's value back over the non-owner's edit."""


class EntityOwnership(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    default: SystemRole = Field(description="Owner of every field not listed.")
    fields: dict[str, SystemRole] = Field(default_factory=dict)

    def owner(self, field: str) -> SystemRole:
        return self.fields.get(field, self.default)


def _default_entities() -> dict[EntityKind, EntityOwnership]:
    return {
        EntityKind.CUSTOMER: EntityOwnership(
            default=CRM,
            fields={
                "billing_address": ERP,
                "payment_terms": ERP,
                "approved": ERP,
                "status": ERP,
                "currency": ERP,
                "tax_id": ERP,
                "credit_limit": ERP,
                "credit_used": ERP,
                "price_book": ERP,
            },
        ),
        EntityKind.CONTACT: EntityOwnership(default=CRM),
        EntityKind.ITEM: EntityOwnership(default=ERP),
        EntityKind.QUOTE: EntityOwnership(default=CRM),
        EntityKind.SALES_ORDER: EntityOwnership(default=ERP),
        EntityKind.INVOICE: EntityOwnership(default=ERP),
        EntityKind.CREDIT_MEMO: EntityOwnership(default=ERP),
        EntityKind.PAYMENT: EntityOwnership(default=ERP),
    }


class OwnershipConfig(BaseModel):
    """Configurable as ``[ownership]`` in the config file; unlisted entities keep defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    policy: ConflictPolicy = ConflictPolicy.OVERWRITE
    entities: dict[EntityKind, EntityOwnership] = Field(default_factory=_default_entities)

    def owner(self, entity: EntityKind, field: str) -> SystemRole:
        ownership = self.entities.get(entity) or _default_entities()[entity]
        return ownership.owner(field)

    def owned_by(self, entity: EntityKind, role: SystemRole, fields: list[str]) -> list[str]:
        return [f for f in fields if self.owner(entity, f) is role]


def other(role: SystemRole) -> SystemRole:
    return ERP if role is CRM else CRM
