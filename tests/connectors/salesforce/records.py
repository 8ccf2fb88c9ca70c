"""Salesforce records shaped as the REST API documentation shows them (API field names,
``attributes``, child relationships as nested query answers), for the pure tests."""

from __future__ import annotations

from typing import Any

ACCOUNT_ID = "001Dn00000A1b2cIAB"
CONTACT_ID = "003Dn00000B1b2cIAB"
OPPORTUNITY_ID = "006Dn00000C1b2cIAB"
PRODUCT_ID = "01tDn00000D1b2cIAB"
PRICEBOOK_ID = "01sDn00000E1b2cIAB"
ENTRY_ID = "01uDn00000F1b2cIAB"
USER_ID = "005Dn00000G1b2cIAB"


def _system(
    obj: str, record_id: str, stamp: str = "2026-11-30T10:15:00.000+0000"
) -> dict[str, Any]:
    return {
        "attributes": {"type": obj, "url": f"/services/data/v62.0/sobjects/{obj}/{record_id}"},
        "Id": record_id,
        "IsDeleted": False,
        "CreatedDate": "2026-11-30T10:00:00.000+0000",
        "CreatedById": USER_ID,
        "LastModifiedDate": stamp,
        "LastModifiedById": USER_ID,
        "SystemModstamp": stamp,
    }


def account(**fields: Any) -> dict[str, Any]:
    return {
        **_system("Account", ACCOUNT_ID),
        "Name": "Acme Corporation",
        "Phone": "+1 415 555 0100",
        "Website": "acme.example",
        "BillingStreet": "1 Market St",
        "BillingCity": "San Francisco",
        "BillingPostalCode": "94105",
        "BillingState": "CA",
        "BillingCountry": "US",
        "ShippingStreet": None,
        "ShippingCity": None,
        "ShippingPostalCode": None,
        "ShippingState": None,
        "ShippingCountry": None,
        "ERP_Customer_Code__c": None,
        "ERP_Outstanding_Balance__c": None,
        **fields,
    }


def contact(**fields: Any) -> dict[str, Any]:
    return {
        **_system("Contact", CONTACT_ID),
        "AccountId": ACCOUNT_ID,
        "FirstName": "Ada",
        "LastName": "Lovelace",
        "Title": "CTO",
        "Email": "ada@acme.example",
        "Phone": None,
        **fields,
    }


def line(n: int, **fields: Any) -> dict[str, Any]:
    line_id = f"00kDn00000H{n}b2cIAB"
    return {
        "attributes": {
            "type": "OpportunityLineItem",
            "url": f"/services/data/v62.0/sobjects/OpportunityLineItem/{line_id}",
        },
        "Id": line_id,
        "Product2Id": PRODUCT_ID,
        "ProductCode": "SUP-1",
        "Name": "Acme Corporation Support",
        "Description": None,
        "Quantity": 2.0,
        "UnitPrice": 1500.0,
        "Discount": 10.0,
        "TotalPrice": 2700.0,
        "SortOrder": n,
        "PricebookEntryId": ENTRY_ID,
        **fields,
    }


def opportunity(lines: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    rows = [line(1)] if lines is None else lines
    return {
        **_system("Opportunity", OPPORTUNITY_ID),
        "Name": "Acme support renewal",
        "AccountId": ACCOUNT_ID,
        "StageName": "Closed Won",
        "Amount": 2700.0,
        "CloseDate": "2026-12-15",
        "IsClosed": True,
        "IsWon": True,
        "Pricebook2Id": PRICEBOOK_ID,
        "OpportunityLineItems": (
            {"totalSize": len(rows), "done": True, "records": rows} if rows else None
        ),
        **fields,
    }


def product(price: float | None = 1500.0, **fields: Any) -> dict[str, Any]:
    entries = (
        [
            {
                "attributes": {
                    "type": "PricebookEntry",
                    "url": "/services/data/v62.0/sobjects/PricebookEntry/" + ENTRY_ID,
                },
                "Id": ENTRY_ID,
                "Product2Id": PRODUCT_ID,
                "Pricebook2Id": PRICEBOOK_ID,
                "UnitPrice": price,
                "IsActive": True,
            }
        ]
        if price is not None
        else []
    )
    return {
        **_system("Product2", PRODUCT_ID),
        "Name": "Support",
        "ProductCode": "SUP-1",
        "Description": "Annual support",
        "IsActive": True,
        "Q2C_SKU__c": "SUP-1",
        "PricebookEntries": {"totalSize": len(entries), "done": True, "records": entries},
        **fields,
    }


QUOTE_ID = "0Q0Dn00000J1b2cIAB"
OTHER_PRODUCT_ID = "01tDn00000K1b2cIAB"


def quote_line(n: int, **fields: Any) -> dict[str, Any]:
    """A QuoteLineItem as the source reads it: no ProductCode field of its own, the
    product's through ``Product2.ProductCode``."""
    line_id = f"0QLDn00000L{n}b2cIAB"
    return {
        "attributes": {
            "type": "QuoteLineItem",
            "url": f"/services/data/v62.0/sobjects/QuoteLineItem/{line_id}",
        },
        "Id": line_id,
        "QuoteId": QUOTE_ID,
        "Product2Id": OTHER_PRODUCT_ID,
        "Product2": {
            "attributes": {
                "type": "Product2",
                "url": f"/services/data/v62.0/sobjects/Product2/{OTHER_PRODUCT_ID}",
            },
            "ProductCode": "TRN-1",
            "Name": "Training day",
        },
        "Description": None,
        "Quantity": 3.0,
        "UnitPrice": 800.0,
        "Discount": None,
        "TotalPrice": 2400.0,
        "SortOrder": n,
        "PricebookEntryId": ENTRY_ID,
        **fields,
    }


def quote(lines: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    rows = [quote_line(1)] if lines is None else lines
    return {
        **_system("Quote", QUOTE_ID),
        "Name": "Acme offer",
        "OpportunityId": OPPORTUNITY_ID,
        "AccountId": ACCOUNT_ID,
        "QuoteNumber": "00000042",
        "Status": "Accepted",
        "IsSyncing": True,
        "ExpirationDate": "2027-01-15",
        "Subtotal": 2400.0,
        "TotalPrice": 2400.0,
        "GrandTotal": 2400.0,
        "QuoteLineItems": (
            {"totalSize": len(rows), "done": True, "records": rows} if rows else None
        ),
        **fields,
    }
