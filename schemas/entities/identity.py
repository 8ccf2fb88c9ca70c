"""Cross-system identity: the CRM id and the ERP id of one business entity.

Every canonical entity carries an :class:`ExternalIds`; either side may be unknown yet (a
customer created in the CRM has no ERP id until the ERP sink reports one). The xref table is
built from :class:`CrossReference` messages.
"""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field, model_validator

from schemas.base import Contract
from schemas.types import Frozen, NonEmptyStr, UtcDateTime


class EntityKind(StrEnum):
    CUSTOMER = "customer"
    CONTACT = "contact"
    ITEM = "item"
    QUOTE = "quote"
    SALES_ORDER = "sales_order"
    INVOICE = "invoice"
    CREDIT_MEMO = "credit_memo"
    PAYMENT = "payment"


class ExternalIds(Frozen):
    """The ids of one entity in the CRM and in the ERP; at least one is known."""

    crm_id: NonEmptyStr | None = None
    erp_id: NonEmptyStr | None = None

    @model_validator(mode="after")
    def _one_known(self) -> ExternalIds:
        if self.crm_id is None and self.erp_id is None:
            raise ValueError("at least one of crm_id and erp_id is required")
        return self


class CrossReference(Contract):
    """CRM id ⇄ ERP id of one entity, as established by a sink (an xref table entry)."""

    schema_subject: ClassVar[str] = "cross_reference"
    schema_version: ClassVar[int] = 1

    entity: EntityKind
    crm_system: NonEmptyStr
    crm_id: NonEmptyStr
    erp_system: NonEmptyStr
    erp_id: NonEmptyStr
    established_at: UtcDateTime = Field(description="When the link was made or confirmed.")
