"""BottleCRM records → canonical entities: accounts are customers, contacts are contacts,
deals with their line items are quotes. Pure functions, no I/O.

BottleCRM's accounts and deals carry no update time; the change's ``source_ts`` (when the
source saw the change) stands in for it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from connectors.base.mapping import Mapper, MappingError, RecordType
from connectors.bottlecrm.models import AccountInput, ContactInput
from schemas import (
    Address,
    Contact,
    Customer,
    CustomerStatus,
    DocumentLine,
    EntityKind,
    ExternalIds,
    Item,
    Money,
    PriceBookPrice,
    Quote,
    QuoteStatus,
    RawChange,
)
from schemas.changes import SystemRole

SYSTEM = "bottlecrm"
ACCOUNT = "account"
CONTACT = "contact"
DEAL = "deal"
PRODUCT = "product"

# What BottleCRM stores of an item, whose canonical model has more (units, tiers, ...).
HELD_ITEM = frozenset({"sku", "name", "description", "active", "prices"})
# What an account holds of a customer: the ERP's finance facts (acceptance, credit, payment
# terms) are only shown on it, in custom fields q2c writes, so an account never speaks for them.
HELD_CUSTOMER = frozenset(
    {"name", "status", "email", "phone", "website", "currency", "billing_address"}
)

_QUOTE_STATUS: Mapping[str, QuoteStatus] = {
    "PROSPECTING": QuoteStatus.DRAFT,
    "QUALIFICATION": QuoteStatus.DRAFT,
    "PROPOSAL": QuoteStatus.SENT,
    "NEGOTIATION": QuoteStatus.SENT,
    "CLOSED_WON": QuoteStatus.ACCEPTED,
    "CLOSED_LOST": QuoteStatus.REJECTED,
}
_HUNDRED = Decimal(100)
_PERCENT_PLACES = Decimal("0.0001")


def _text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _decimal(value: Any, field: str) -> Decimal:
    try:
        number = Decimal(str(value)) if not isinstance(value, bool | list | dict) else None
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite():
        raise MappingError(f"{str(value)[:80]!r} is not a number", field=field)
    return number


def _record_id(record: Mapping[str, Any]) -> str:
    """The record's own id, which every BottleCRM record has."""
    value = record.get("id")
    if isinstance(value, bool) or not isinstance(value, str | int) or not str(value).strip():
        raise MappingError("the record has no id", field="id")
    return str(value)


def _line_items(record: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """A deal's line items in their order; each must be an object."""
    items = record.get("line_items") or []
    if not isinstance(items, list):
        raise MappingError("line items are not a list", field="line_items")
    for n, line in enumerate(items):
        if not isinstance(line, Mapping):
            raise MappingError("a line item is not an object", field=f"line_items.{n}")

    def position(line: Mapping[str, Any]) -> tuple[str, str, str]:
        order = line.get("order", 0)
        # Numbers sort as numbers (zero-padded), anything else after them, as text.
        rank = f"{order:020d}" if isinstance(order, int) and order >= 0 else f"~{order}"
        return rank, type(line.get("id")).__name__, str(line.get("id"))

    return sorted(items, key=position)


def _id(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("id")
    return str(value) if value else None


def to_customer(record: Mapping[str, Any], updated_at: datetime) -> Customer:
    name = _text(record, "name")
    if name is None:
        raise MappingError("an account needs a name", field="name")
    country = _text(record, "country")
    address = Address(
        street=_text(record, "address_line"),
        city=_text(record, "city"),
        postal_code=_text(record, "postcode"),
        region=_text(record, "state"),
        country=country.upper() if country else None,
    )
    custom = record.get("custom_fields")
    code = custom.get("erp_customer_code") if isinstance(custom, Mapping) else None
    return Customer(
        # An account q2c made for an ERP-first customer carries that customer's ERP id.
        ids=ExternalIds(crm_id=_record_id(record), erp_id=str(code) if code else None),
        name=name,
        status=CustomerStatus.ACTIVE if record.get("is_active", True) else CustomerStatus.INACTIVE,
        email=_text(record, "email"),
        phone=_text(record, "phone"),
        website=_text(record, "website"),
        currency=_text(record, "currency"),
        billing_address=address if address != Address() else None,
        updated_at=updated_at,
    )


def to_item(record: Mapping[str, Any], updated_at: datetime, default_currency: str) -> Item:
    """A CRM product as a canonical item (the SKU is the key it shares with the ERP)."""
    sku = _text(record, "sku")
    name = _text(record, "name")
    if sku is None or name is None:
        raise MappingError("a product needs a name and a SKU to match an ERP item", field="sku")
    prices: tuple[PriceBookPrice, ...] = ()
    price = record.get("price")
    if price not in (None, ""):
        amount = _decimal(price, "price")
        currency = _text(record, "currency") or default_currency
        prices = (PriceBookPrice(unit_price=Money(amount=amount, currency=currency)),)
    return Item(
        ids=ExternalIds(crm_id=_record_id(record)),
        sku=sku,
        name=name,
        description=_text(record, "description"),
        active=bool(record.get("is_active", True)),
        prices=prices,
        updated_at=updated_at,
    )


def to_contact(record: Mapping[str, Any], updated_at: datetime) -> Contact:
    account = _id(record.get("account"))
    return Contact(
        ids=ExternalIds(crm_id=_record_id(record)),
        customer=ExternalIds(crm_id=account) if account else None,
        first_name=_text(record, "first_name"),
        last_name=_text(record, "last_name") or "",
        title=_text(record, "title"),
        email=_text(record, "email"),
        phone=_text(record, "phone"),
        updated_at=updated_at,
    )


def _discount_percent(line: Mapping[str, Any], n: int) -> Decimal:
    if line.get("discount_type") == "PERCENTAGE":
        return _decimal(line.get("discount_value", 0), f"line_items.{n}.discount_value")
    # A fixed discount is carried as the share of the gross it took off.
    gross = _decimal(line.get("subtotal", 0), f"line_items.{n}.subtotal")
    off = _decimal(line.get("discount_amount", 0), f"line_items.{n}.discount_amount")
    if gross <= 0 or off <= 0:
        return Decimal(0)
    return (off / gross * _HUNDRED).quantize(_PERCENT_PLACES)


def to_line(line: Mapping[str, Any], n: int, currency: str) -> DocumentLine:
    product = line.get("product") if isinstance(line.get("product"), Mapping) else None
    where = f"line_items.{n}"
    return DocumentLine(
        line_no=n + 1,
        item=ExternalIds(crm_id=str(product["id"])) if product else None,
        sku=_text(product, "sku") if product else None,
        description=_text(line, "name") or _text(line, "description"),
        quantity=_decimal(line.get("quantity"), f"{where}.quantity"),
        unit_price=Money(
            amount=_decimal(line.get("unit_price"), f"{where}.unit_price"), currency=currency
        ),
        discount_percent=_discount_percent(line, n),
        amount=Money(amount=_decimal(line.get("total"), f"{where}.total"), currency=currency),
    )


DEAL_ATTRIBUTES = (
    "name",
    "opportunity_type",
    "lead_source",
    "source_detail",
    "source_ref",
    "probability",
    "closed_on",
    "stage_kind",
)
"""The deal's own attributes a quote carries for the order trigger's ``deal.NAME`` rules."""


def _attributes(record: Mapping[str, Any]) -> dict[str, str]:
    """The deal's scalar attributes of :data:`DEAL_ATTRIBUTES` that are set, as text."""
    found: dict[str, str] = {}
    for name in DEAL_ATTRIBUTES:
        value = record.get(name)
        if isinstance(value, bool):
            found[name] = "true" if value else "false"
        elif isinstance(value, str | int | float | Decimal) and str(value).strip():
            found[name] = str(value).strip()
    return found


def to_quote(record: Mapping[str, Any], updated_at: datetime, default_currency: str) -> Quote:
    account = _id(record.get("account"))
    if account is None:
        raise MappingError("a deal needs an account before it can become an order", field="account")
    currency = _text(record, "currency") or default_currency
    items = _line_items(record)
    lines = tuple(to_line(line, n, currency) for n, line in enumerate(items))
    amount = record.get("amount")
    total = (
        _decimal(amount, "amount")
        if amount is not None
        else sum((line.amount.amount for line in lines), Decimal(0))
    )
    stage = _text(record, "stage")
    return Quote(
        ids=ExternalIds(crm_id=_record_id(record)),
        customer=ExternalIds(crm_id=account),
        currency=currency,
        status=_QUOTE_STATUS.get(stage or "", QuoteStatus.DRAFT),
        stage=stage,
        lines=lines,
        total=Money(amount=total, currency=currency),
        updated_at=updated_at,
        attributes=_attributes(record),
    )


class BottleCrmMapper(Mapper):
    system: ClassVar[str] = SYSTEM
    role: ClassVar[SystemRole] = SystemRole.CRM

    def __init__(self, default_currency: str = "USD") -> None:
        self.default_currency = default_currency
        currency = default_currency
        self.records = {
            ACCOUNT: RecordType(EntityKind.CUSTOMER, to_customer, reports=True, held=HELD_CUSTOMER),
            CONTACT: RecordType(EntityKind.CONTACT, to_contact),
            DEAL: RecordType(
                EntityKind.QUOTE, lambda record, at: to_quote(record, at, currency), reports=True
            ),
            PRODUCT: RecordType(
                EntityKind.ITEM, lambda record, at: to_item(record, at, currency), held=HELD_ITEM
            ),
        }

    def updated_at(self, change: RawChange) -> datetime:
        updated = change.record.get("updated_at")
        return datetime.fromisoformat(updated) if isinstance(updated, str) else change.source_ts


# -- canonical entities → BottleCRM's writes (only the fields BottleCRM has) -------------


def account_input(customer: Customer) -> AccountInput:
    """The account fields a customer sets; fields BottleCRM has no place for are left out
    (approval, payment terms, tax id, shipping address)."""
    address = customer.billing_address or Address()
    return AccountInput(
        name=customer.name,
        email=customer.email,
        phone=customer.phone,
        website=customer.website,
        currency=customer.currency,
        address_line=address.street,
        city=address.city,
        state=address.region,
        postcode=address.postal_code,
        country=address.country,
        is_active=customer.status is not CustomerStatus.INACTIVE,
    )


def contact_input(contact: Contact, account_id: str | None) -> ContactInput:
    fields = {
        "last_name": contact.last_name,
        "email": contact.email,
        "phone": contact.phone,
        "title": contact.title,
        "account": account_id,
    }
    if contact.first_name:  # BottleCRM refuses an empty first name; absent leaves it be
        fields["first_name"] = contact.first_name
    return ContactInput(**fields)
