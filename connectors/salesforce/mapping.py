"""Salesforce records → canonical entities: an Account is a customer, a Contact a contact,
an Opportunity with its line items a quote, a Product2 (with its standard price book entry)
an item. Pure functions, no I/O.

Where quotes are enabled and an opportunity has a synced quote (``SyncedQuoteId``), the
source nests that quote, with its ``QuoteLineItems``, in the opportunity record as
``SyncedQuote`` (the shape of the parent relationship): the synced quote is what the
customer accepted, so the canonical quote's lines, currency and total come from it, and its
id, number and status ride along in ``attributes`` (``synced_quote_id``,
``synced_quote_number``, ``synced_quote_status``). Without one, the opportunity's own line
items make the lines.

Records are read as the REST API returns them: API field names, ``attributes`` beside the
fields, child relationships as nested query answers (``{"totalSize", "done", "records"}``).
The canonical time of a record is its ``SystemModstamp``. Countries are kept only as ISO
codes (``BillingCountryCode`` where state and country picklists are on, else a two-letter
``BillingCountry``); a full country name is not guessed at.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from connectors.base.mapping import Mapper, MappingError, RecordType
from connectors.salesforce.wire import parse_datetime
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

SYSTEM = "salesforce"
ACCOUNT = "Account"
CONTACT = "Contact"
OPPORTUNITY = "Opportunity"
PRODUCT = "Product2"
PRICE_BOOK = "Pricebook2"
QUOTE = "Quote"
QUOTE_LINE = "QuoteLineItem"
SYNCED_QUOTE = "SyncedQuote"
"""Where the source nests an opportunity's synced quote (its parent relationship's name)."""

HELD_ITEM = frozenset({"sku", "name", "description", "active", "prices"})
"""What a Product2 holds of an item (units, tiers and the like stay in the ERP)."""
HELD_CUSTOMER = frozenset({"name", "phone", "website", "billing_address", "shipping_address"})
"""What an Account holds of a customer: no e-mail, status, approval, terms or tax id (an
Account has no standard field for them), so its silence there is not a change."""

_OPEN_STAGES: Mapping[str, QuoteStatus] = {
    "PROPOSAL/PRICE QUOTE": QuoteStatus.SENT,
    "NEGOTIATION/REVIEW": QuoteStatus.SENT,
}


def _text(record: Mapping[str, Any], key: str) -> str | None:
    value = record.get(key)
    if value is None or isinstance(value, Mapping | list):
        return None
    text = str(value).strip()
    return text or None


def _decimal(value: Any, field: str) -> Decimal:
    number: Decimal | None
    try:
        number = None if isinstance(value, bool | list | dict) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite():
        raise MappingError(f"{str(value)[:80]!r} is not a number", field=field)
    return number


def record_id(record: Mapping[str, Any]) -> str:
    value = record.get("Id")
    if not isinstance(value, str) or len(value) not in (15, 18):
        raise MappingError("the record has no Salesforce id", field="Id")
    return value


def children(record: Mapping[str, Any], relationship: str) -> list[Mapping[str, Any]]:
    """The records of a child relationship (a nested query answer, or null when none)."""
    nested = record.get(relationship)
    if nested is None:
        return []
    rows = nested.get("records") if isinstance(nested, Mapping) else None
    if not isinstance(rows, list) or not all(isinstance(r, Mapping) for r in rows):
        raise MappingError("not a query answer with records", field=relationship)
    return rows


def _country(record: Mapping[str, Any], prefix: str) -> str | None:
    code = _text(record, f"{prefix}CountryCode")
    if code is None:
        name = _text(record, f"{prefix}Country")
        code = name if name and len(name) == 2 and name.isalpha() else None
    return code.upper() if code else None


def _address(record: Mapping[str, Any], prefix: str) -> Address | None:
    address = Address(
        street=_text(record, f"{prefix}Street"),
        city=_text(record, f"{prefix}City"),
        postal_code=_text(record, f"{prefix}PostalCode"),
        region=_text(record, f"{prefix}StateCode") or _text(record, f"{prefix}State"),
        country=_country(record, prefix),
    )
    return address if address != Address() else None


def to_customer(record: Mapping[str, Any], updated_at: dt.datetime) -> Customer:
    name = _text(record, "Name")
    if name is None:
        raise MappingError("an account needs a name", field="Name")
    return Customer(
        ids=ExternalIds(crm_id=record_id(record)),
        name=name,
        status=CustomerStatus.ACTIVE,
        phone=_text(record, "Phone"),
        website=_text(record, "Website"),
        currency=_text(record, "CurrencyIsoCode"),
        billing_address=_address(record, "Billing"),
        shipping_address=_address(record, "Shipping"),
        updated_at=updated_at,
    )


def to_contact(record: Mapping[str, Any], updated_at: dt.datetime) -> Contact:
    last_name = _text(record, "LastName")
    if last_name is None:
        raise MappingError("a contact needs a last name", field="LastName")
    account = _text(record, "AccountId")
    return Contact(
        ids=ExternalIds(crm_id=record_id(record)),
        customer=ExternalIds(crm_id=account) if account else None,
        first_name=_text(record, "FirstName"),
        last_name=last_name,
        title=_text(record, "Title"),
        email=_text(record, "Email"),
        phone=_text(record, "Phone"),
        updated_at=updated_at,
    )


def standard_price(record: Mapping[str, Any], currency: str) -> Money | None:
    """The product's price in the standard price book (its ``PricebookEntries``)."""
    for entry in children(record, "PricebookEntries"):
        if entry.get("UnitPrice") is None:
            continue
        code = _text(entry, "CurrencyIsoCode") or currency
        return Money(
            amount=_decimal(entry["UnitPrice"], "PricebookEntries.UnitPrice"), currency=code
        )
    return None


def to_item(record: Mapping[str, Any], updated_at: dt.datetime, currency: str) -> Item:
    """A Product2 as an item: its ProductCode is the SKU both systems share."""
    sku = _text(record, "ProductCode")
    name = _text(record, "Name")
    if sku is None or name is None:
        raise MappingError(
            "a product needs a name and a product code (the SKU)", field="ProductCode"
        )
    price = standard_price(record, currency)
    return Item(
        ids=ExternalIds(crm_id=record_id(record)),
        sku=sku,
        name=name,
        description=_text(record, "Description"),
        active=record.get("IsActive") is not False,
        prices=(PriceBookPrice(unit_price=price),) if price else (),
        updated_at=updated_at,
    )


def _parent(record: Mapping[str, Any], relationship: str) -> Mapping[str, Any]:
    """A parent relationship's record (``Product2.ProductCode`` reads as ``{"Product2": …}``)."""
    value = record.get(relationship)
    return value if isinstance(value, Mapping) else {}


def _line(line: Mapping[str, Any], n: int, currency: str, relationship: str) -> DocumentLine:
    where = f"{relationship}.{n}"
    quantity = _decimal(line.get("Quantity"), f"{where}.Quantity")
    unit = _decimal(line.get("UnitPrice"), f"{where}.UnitPrice")
    discount = _decimal(line.get("Discount") or 0, f"{where}.Discount")
    total = line.get("TotalPrice")
    amount = (
        _decimal(total, f"{where}.TotalPrice")
        if total is not None
        else (quantity * unit * (100 - discount) / 100).quantize(Decimal("0.01"))
    )
    product = _text(line, "Product2Id")
    product_record = _parent(line, "Product2")
    return DocumentLine(
        line_no=n + 1,
        item=ExternalIds(crm_id=product) if product else None,
        sku=_text(line, "ProductCode") or _text(product_record, "ProductCode"),
        description=(
            _text(line, "Description") or _text(line, "Name") or _text(product_record, "Name")
        ),
        quantity=quantity,
        unit_price=Money(amount=unit, currency=currency),
        discount_percent=discount,
        amount=Money(amount=amount, currency=currency),
    )


def _line_order(line: Mapping[str, Any]) -> tuple[int, str]:
    order = line.get("SortOrder")
    rank = order if isinstance(order, int) and not isinstance(order, bool) else 1 << 31
    return rank, str(line.get("Id", ""))


def quote_status(record: Mapping[str, Any]) -> QuoteStatus:
    if record.get("IsClosed") is True:
        return QuoteStatus.ACCEPTED if record.get("IsWon") is True else QuoteStatus.REJECTED
    stage = (_text(record, "StageName") or "").upper()
    if stage == "CLOSED WON":
        return QuoteStatus.ACCEPTED
    if stage == "CLOSED LOST":
        return QuoteStatus.REJECTED
    return _OPEN_STAGES.get(stage, QuoteStatus.DRAFT)


def _lines(record: Mapping[str, Any], relationship: str, currency: str) -> tuple[DocumentLine, ...]:
    rows = sorted(children(record, relationship), key=_line_order)
    return tuple(_line(line, n, currency, relationship) for n, line in enumerate(rows))


def _total(record: Mapping[str, Any], field: str, lines: tuple[DocumentLine, ...]) -> Decimal:
    value = record.get(field)
    if value is not None:
        return _decimal(value, field)
    return sum((line.amount.amount for line in lines), Decimal(0))


def synced_quote(record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """The synced quote nested in an opportunity record (None: none, or not read)."""
    nested = record.get(SYNCED_QUOTE)
    if nested is None:
        return None
    if not isinstance(nested, Mapping):
        raise MappingError("not a Quote record", field=SYNCED_QUOTE)
    return nested


def quote_attributes(quote: Mapping[str, Any]) -> dict[str, str]:
    """What a synced quote adds to the canonical quote's ``attributes``."""
    values = {
        "synced_quote_id": _text(quote, "Id"),
        "synced_quote_number": _text(quote, "QuoteNumber"),
        "synced_quote_status": _text(quote, "Status"),
    }
    return {key: value for key, value in values.items() if value is not None}


def to_quote(record: Mapping[str, Any], updated_at: dt.datetime, default_currency: str) -> Quote:
    account = _text(record, "AccountId")
    if account is None:
        raise MappingError(
            "an opportunity needs an account before it can become an order", field="AccountId"
        )
    currency = _text(record, "CurrencyIsoCode") or default_currency
    quote = synced_quote(record)
    if quote is not None:
        currency = _text(quote, "CurrencyIsoCode") or currency
        lines = _lines(quote, "QuoteLineItems", currency)
        total = _total(quote, "TotalPrice", lines)
        attributes = quote_attributes(quote)
    else:
        lines = _lines(record, "OpportunityLineItems", currency)
        total = _total(record, "Amount", lines)
        attributes = {}
    close = _text(record, "CloseDate")
    return Quote(
        ids=ExternalIds(crm_id=record_id(record)),
        number=_text(record, "Name"),
        customer=ExternalIds(crm_id=account),
        currency=currency,
        status=quote_status(record),
        stage=_text(record, "StageName"),
        valid_until=dt.date.fromisoformat(close) if close else None,
        lines=lines,
        total=Money(amount=total, currency=currency),
        updated_at=updated_at,
        attributes=attributes,
    )


class SalesforceMapper(Mapper):
    system: ClassVar[str] = SYSTEM
    role: ClassVar[SystemRole] = SystemRole.CRM

    def __init__(self, default_currency: str = "USD") -> None:
        currency = default_currency
        self.default_currency = currency
        self.records = {
            ACCOUNT: RecordType(EntityKind.CUSTOMER, to_customer, held=HELD_CUSTOMER, reports=True),
            CONTACT: RecordType(EntityKind.CONTACT, to_contact),
            OPPORTUNITY: RecordType(
                EntityKind.QUOTE, lambda record, at: to_quote(record, at, currency), reports=True
            ),
            PRODUCT: RecordType(
                EntityKind.ITEM, lambda record, at: to_item(record, at, currency), held=HELD_ITEM
            ),
        }

    def updated_at(self, change: RawChange) -> dt.datetime:
        try:
            return modstamp(change.record) or change.source_ts
        except ValueError:
            return change.source_ts


def modstamp(record: Mapping[str, Any]) -> dt.datetime | None:
    """When the record last changed: its ``SystemModstamp``, or its synced quote's when
    later (a quote's change leaves the opportunity's own stamp as it was)."""
    stamps = [record.get("SystemModstamp")]
    quote = record.get(SYNCED_QUOTE)
    if isinstance(quote, Mapping):
        stamps.append(quote.get("SystemModstamp"))
    times = [parse_datetime(stamp) for stamp in stamps if isinstance(stamp, str) and stamp]
    return max(times) if times else None


# -- canonical entities → Salesforce fields (only what the objects have) ------------------


def account_fields(customer: Customer) -> dict[str, Any]:
    """The Account fields a customer sets (no approval, terms or tax id: Account has no
    standard place for them)."""
    billing = customer.billing_address or Address()
    shipping = customer.shipping_address or Address()
    return {
        "Name": customer.name,
        "Phone": customer.phone,
        "Website": customer.website,
        "BillingStreet": billing.street,
        "BillingCity": billing.city,
        "BillingPostalCode": billing.postal_code,
        "BillingState": billing.region,
        "BillingCountry": billing.country,
        "ShippingStreet": shipping.street,
        "ShippingCity": shipping.city,
        "ShippingPostalCode": shipping.postal_code,
        "ShippingState": shipping.region,
        "ShippingCountry": shipping.country,
    }


def contact_fields(contact: Contact, account_id: str | None) -> dict[str, Any]:
    return {
        "FirstName": contact.first_name,
        "LastName": contact.last_name,
        "Title": contact.title,
        "Email": contact.email,
        "Phone": contact.phone,
        "AccountId": account_id,
    }


def product_fields(item: Item) -> dict[str, Any]:
    return {
        "Name": item.name,
        "ProductCode": item.sku,
        "Description": item.description,
        "IsActive": item.active and item.saleable,
    }
