"""Canonical entities: the shape q2c gives every quote-to-cash record, whichever system it
came from. Connectors map to and from these; stream rules work on them only."""

from schemas.entities.documents import (
    CreditMemo,
    DocumentLine,
    Invoice,
    InvoiceState,
    InvoiceStatus,
    Payment,
    PaymentApplication,
    Quote,
    QuoteStatus,
    SalesOrder,
    SalesOrderState,
    Shipment,
    ShipmentLine,
    ShipmentState,
    ShipmentStatus,
    Subscription,
    SubscriptionLine,
    SubscriptionState,
)
from schemas.entities.identity import CrossReference, EntityKind, ExternalIds
from schemas.entities.items import Item, PriceBookPrice
from schemas.entities.parties import Address, Contact, Customer, CustomerStatus

__all__ = [
    "Address",
    "Contact",
    "CreditMemo",
    "CrossReference",
    "Customer",
    "CustomerStatus",
    "DocumentLine",
    "EntityKind",
    "ExternalIds",
    "Invoice",
    "InvoiceState",
    "InvoiceStatus",
    "Item",
    "Payment",
    "PaymentApplication",
    "PriceBookPrice",
    "Quote",
    "QuoteStatus",
    "SalesOrder",
    "SalesOrderState",
    "Shipment",
    "ShipmentLine",
    "ShipmentState",
    "ShipmentStatus",
    "Subscription",
    "SubscriptionLine",
    "SubscriptionState",
]
