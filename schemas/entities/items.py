"""Items (products) and their price-book prices per currency."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field, model_validator

from schemas.base import Contract
from schemas.entities.identity import ExternalIds
from schemas.types import CurrencyCode, ExactDecimal, Frozen, Money, NonEmptyStr, UtcDateTime


class PriceBookPrice(Frozen):
    """The list price of an item in one price book and currency."""

    price_book: NonEmptyStr = Field(default="standard")
    unit_price: Money
    min_quantity: ExactDecimal | None = Field(
        default=None, description="Tier price: applies from this quantity up."
    )


class Item(Contract):
    """A product or service that can be quoted, ordered and invoiced."""

    schema_subject: ClassVar[str] = "item"
    schema_version: ClassVar[int] = 2

    ids: ExternalIds
    sku: NonEmptyStr = Field(description="The natural key shared by both systems.")
    name: NonEmptyStr
    description: str | None = None
    unit: NonEmptyStr = Field(default="unit", description="Unit of measure.")
    saleable: bool = True
    active: bool = True
    prices: tuple[PriceBookPrice, ...] = Field(
        default=(), description="The list price: what a CRM's product holds of the prices."
    )
    updated_at: UtcDateTime
    book_prices: tuple[PriceBookPrice, ...] = Field(
        default=(),
        description=(
            "The ERP's other prices: per price book (price list), currency (converted by the "
            "ERP at the rate of the day) and tier; the CRM shows them where it keeps price "
            "books, and validation prices a customer's deal from its own book."
        ),
    )

    @model_validator(mode="after")
    def _one_price_per_book_and_currency(self) -> Item:
        seen: set[tuple[str, str, object]] = set()
        for price in (*self.prices, *self.book_prices):
            key = (price.price_book, price.unit_price.currency, price.min_quantity)
            if key in seen:
                raise ValueError(
                    f"two prices for price book {price.price_book!r} in {price.unit_price.currency}"
                )
            seen.add(key)
        return self

    def all_prices(self) -> tuple[PriceBookPrice, ...]:
        """The list price and the ERP's other prices."""
        return (*self.prices, *self.book_prices)

    def price(self, currency: CurrencyCode, price_book: str = "standard") -> Money | None:
        """The base (lowest-tier) price in ``price_book`` and ``currency``, if any."""
        for price in self.all_prices():
            if (
                price.price_book == price_book
                and price.unit_price.currency == currency
                and price.min_quantity is None
            ):
                return price.unit_price
        return None
