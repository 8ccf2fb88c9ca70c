"""BottleCRM's records as its API returns them, and the inputs q2c writes.

Records keep every field the API sent (``extra="allow"``): a source publishes the system's
own record, so nothing is lost when BottleCRM adds a field. Money is ``Decimal`` (the API
sends it as strings); the fields q2c reads are typed, the rest ride along.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

CustomFieldTarget = Literal["Account", "Opportunity", "Contact", "Lead", "Case", "Invoice"]
CustomFieldType = Literal["text", "textarea", "number", "dropdown", "date", "checkbox"]


class DealStage(StrEnum):
    PROSPECTING = "PROSPECTING"
    QUALIFICATION = "QUALIFICATION"
    PROPOSAL = "PROPOSAL"
    NEGOTIATION = "NEGOTIATION"
    CLOSED_WON = "CLOSED_WON"
    CLOSED_LOST = "CLOSED_LOST"


class Record(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    id: str


class Ref(Record):
    name: str = ""


class Account(Record):
    name: str
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    industry: str | None = None
    currency: str | None = None
    address_line: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    country: str | None = None
    is_active: bool = True
    created_at: datetime | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)


class Contact(Record):
    first_name: str
    last_name: str
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    account: str | None = None
    is_active: bool = True
    created_at: datetime | None = None
    updated_at: datetime | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)


class Product(Record):
    name: str
    sku: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    description: str | None = None
    category: str | None = None
    is_active: bool = True
    updated_at: datetime | None = None


class LineItem(Record):
    product: Product | None = None
    name: str = ""
    description: str = ""
    quantity: Decimal
    unit_price: Decimal
    discount_type: str = ""
    discount_value: Decimal = Decimal(0)
    discount_amount: Decimal = Decimal(0)
    subtotal: Decimal
    total: Decimal
    order: int = 0


class Deal(Record):
    """A deal (BottleCRM's "opportunity")."""

    name: str
    account: Ref | None = None
    stage: str
    currency: str | None = None
    amount: Decimal | None = None
    probability: int | None = None
    closed_on: date | None = None
    line_items: list[LineItem] = Field(default_factory=list)
    is_active: bool = True
    created_at: datetime | None = None
    custom_fields: dict[str, Any] = Field(default_factory=dict)


class CustomFieldDefinition(Record):
    target_model: str
    key: str
    label: str
    field_type: CustomFieldType
    options: list[dict[str, str]] | None = None
    is_required: bool = False
    is_active: bool = True


class WebhookEndpoint(Record):
    url: str
    events: list[str]
    is_active: bool = True


class Input(BaseModel):
    """A write: only the fields that were set are sent."""

    model_config = ConfigDict(extra="forbid")

    def payload(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude_unset=True)


class AccountInput(Input):
    name: str | None = None
    email: str | None = None
    phone: str | None = None
    website: str | None = None
    industry: str | None = None
    currency: str | None = None
    address_line: str | None = None
    city: str | None = None
    state: str | None = None
    postcode: str | None = None
    country: str | None = None
    description: str | None = None
    is_active: bool | None = None


class ContactInput(Input):
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    title: str | None = None
    account: str | None = None
    description: str | None = None
    is_active: bool | None = None


class DealInput(Input):
    name: str | None = None
    account: str | None = None
    stage: DealStage | None = None
    currency: str | None = None
    amount: Decimal | None = None
    probability: int | None = None
    closed_on: date | None = None
    description: str | None = None


class LineItemInput(Input):
    product_id: str | None = None
    name: str | None = None
    description: str | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    discount_type: Literal["", "PERCENTAGE", "FIXED"] | None = None
    discount_value: Decimal | None = None
    order: int | None = None


class ProductInput(Input):
    name: str | None = None
    sku: str | None = None
    price: Decimal | None = None
    currency: str | None = None
    description: str | None = None
    category: str | None = None
    is_active: bool | None = None


class CustomFieldSpec(BaseModel):
    """A custom field q2c needs on a BottleCRM object."""

    model_config = ConfigDict(frozen=True)

    target_model: CustomFieldTarget
    key: str
    label: str
    field_type: CustomFieldType
    options: tuple[tuple[str, str], ...] = ()

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "target_model": self.target_model,
            "key": self.key,
            "label": self.label,
            "field_type": self.field_type,
        }
        if self.options:
            body["options"] = [{"value": v, "label": label} for v, label in self.options]
        return body
