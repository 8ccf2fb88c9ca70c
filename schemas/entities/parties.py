"""Customers (accounts) and their contacts."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from schemas.base import Contract
from schemas.entities.identity import ExternalIds
from schemas.types import (
    CountryCode,
    CurrencyCode,
    Email,
    Frozen,
    Money,
    NonEmptyStr,
    UtcDateTime,
)


class Address(Frozen):
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    region: str | None = None
    country: CountryCode | None = None


class CustomerStatus(StrEnum):
    PROSPECT = "prospect"
    ACTIVE = "active"
    ON_HOLD = "on_hold"
    INACTIVE = "inactive"


class Customer(Contract):
    """A customer account, as q2c understands it in both systems."""

    schema_subject: ClassVar[str] = "customer"
    schema_version: ClassVar[int] = 3

    ids: ExternalIds
    name: NonEmptyStr
    status: CustomerStatus = CustomerStatus.ACTIVE
    approved: bool = Field(
        default=False, description="Finance has accepted the customer for ordering."
    )
    tax_id: str | None = None
    email: Email | None = None
    phone: str | None = None
    website: str | None = None
    currency: CurrencyCode | None = Field(default=None, description="Preferred currency.")
    payment_terms: str | None = None
    billing_address: Address | None = None
    shipping_address: Address | None = None
    updated_at: UtcDateTime
    credit_limit: Money | None = Field(
        default=None,
        description="The credit finance allows the customer in the ERP; None: none set.",
    )
    credit_used: Money | None = Field(
        default=None,
        description="What the ERP counts against the credit limit (the customer's receivable).",
    )
    price_book: NonEmptyStr | None = Field(
        default=None,
        description=(
            "The ERP price book (price list) the customer's orders are priced from; None: "
            "the standard one."
        ),
    )

    @property
    def available_credit(self) -> Money | None:
        """The credit limit less what is used (negative: over the limit); None: no limit."""
        if self.credit_limit is None:
            return None
        used = self.credit_used.amount if self.credit_used is not None else 0
        return Money(amount=self.credit_limit.amount - used, currency=self.credit_limit.currency)


class Contact(Contract):
    """A person at a customer."""

    schema_subject: ClassVar[str] = "contact"
    schema_version: ClassVar[int] = 1

    ids: ExternalIds
    customer: ExternalIds | None = None
    first_name: str | None = None
    last_name: NonEmptyStr
    title: str | None = None
    email: Email | None = None
    phone: str | None = None
    updated_at: UtcDateTime
