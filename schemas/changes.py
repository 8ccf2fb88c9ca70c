"""A change to a canonical entity, as ``normalize`` emits it from a raw change event.

The stream processors work on these only: which system the change came from, in which role
(the CRM or the ERP), what happened, and the entity in its canonical shape. The raw event's
fingerprint travels along, so a change re-emitted by a restarted source is recognised, and
so is an echo of what q2c itself wrote.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar

from pydantic import Field, ValidationError, model_validator

from schemas.base import Contract
from schemas.entities import (
    Contact,
    CreditMemo,
    Customer,
    EntityKind,
    ExternalIds,
    Invoice,
    Item,
    Payment,
    Quote,
    SalesOrder,
)
from schemas.envelope import Operation
from schemas.types import NonEmptyStr, UtcDateTime

Entity = Customer | Contact | Item | Quote | SalesOrder | Invoice | CreditMemo | Payment

ENTITY_KIND: dict[type[Contract], EntityKind] = {
    Customer: EntityKind.CUSTOMER,
    Contact: EntityKind.CONTACT,
    Item: EntityKind.ITEM,
    Quote: EntityKind.QUOTE,
    SalesOrder: EntityKind.SALES_ORDER,
    Invoice: EntityKind.INVOICE,
    CreditMemo: EntityKind.CREDIT_MEMO,
    Payment: EntityKind.PAYMENT,
}

_MODEL_OF_KIND: dict[str, type[Contract]] = {
    kind.value: model for model, kind in ENTITY_KIND.items()
}


class SystemRole(StrEnum):
    """The part a system plays in the sync; ownership rules speak of roles, not products."""

    CRM = "crm"
    ERP = "erp"


class EntityChange(Contract):
    """One canonical entity as one system now has it (or its deletion)."""

    schema_subject: ClassVar[str] = "entity_change"
    schema_version: ClassVar[int] = 6

    entity: EntityKind
    ids: ExternalIds = Field(description="The entity's ids; the origin's side is always known.")
    origin_system: NonEmptyStr
    origin_role: SystemRole
    operation: Operation
    source_ts: UtcDateTime
    fingerprint: str = Field(description="Fingerprint of the raw record this change came from.")
    data: Entity | None = Field(default=None, description="The entity; None for a delete.")
    held: frozenset[str] | None = Field(
        default=None,
        description=(
            "The entity fields the origin system actually stores (None: all of them); the "
            "others are defaults of the canonical model and say nothing (added in v2)."
        ),
    )

    @model_validator(mode="before")
    @classmethod
    def _data_of_its_kind(cls, values: Any) -> Any:
        """Read ``data`` as the model its ``entity`` names: the union alone would try every
        entity model in turn (most of the cost of decoding a change). Data that is not a
        valid record of its kind is left to the union, which reports it as it always did."""
        if not isinstance(values, dict):
            return values
        data, entity = values.get("data"), values.get("entity")
        model = _MODEL_OF_KIND.get(entity) if isinstance(entity, str) else None
        if model is None or not isinstance(data, dict):
            return values
        try:
            return {**values, "data": model.model_validate(data)}
        except (ValidationError, ValueError, TypeError):
            return values

    @model_validator(mode="after")
    def _consistent(self) -> EntityChange:
        if self.data is None:
            if self.operation is not Operation.DELETE:
                raise ValueError(f"a {self.operation} change needs the entity's data")
            return self
        if ENTITY_KIND[type(self.data)] is not self.entity:
            raise ValueError(f"data is a {type(self.data).__name__}, not a {self.entity}")
        if self.data.ids != self.ids:
            raise ValueError("ids differ from the entity's own ids")
        return self

    @property
    def origin_id(self) -> str:
        """The entity's id in the system the change came from."""
        value = self.ids.crm_id if self.origin_role is SystemRole.CRM else self.ids.erp_id
        if value is None:
            raise ValueError(
                f"a change from the {self.origin_role} lacks the {self.origin_role} id"
            )
        return value
