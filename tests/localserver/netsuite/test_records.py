"""The REST record service: create, read, upsert by external id, update, list, delete."""

from __future__ import annotations

from q2c.localserver.netsuite.server import Running

from .conftest import TbaClient, record_id

CUSTOMERS = "/services/rest/record/v1/customer"


async def test_customer_is_created_read_and_upserted_by_external_id(
    client: TbaClient, netsuite: Running
) -> None:
    created = await client.call(
        "POST",
        CUSTOMERS,
        {"companyName": "Acme", "externalId": "CRM-1", "creditLimit": 5000, "terms": {"id": "2"}},
    )
    assert created.status == 204, created.body
    assert created.headers["Location"].startswith(netsuite.base_url + CUSTOMERS + "/")
    customer_id = record_id(created)

    read = await client.call("GET", f"{CUSTOMERS}/{customer_id}")
    assert read.status == 200
    assert read.body["companyName"] == "Acme"
    assert read.body["creditLimit"] == 5000.0
    assert read.body["terms"]["id"] == "2"
    assert read.body["terms"]["refName"] == "Net 30"
    assert read.body["subsidiary"]["id"] == netsuite.credentials.subsidiary_id
    assert read.body["currency"]["id"] == netsuite.credentials.currency_id
    assert read.body["creditHoldOverride"] == {"id": "AUTO", "refName": "Auto"}
    first_modified = read.body["lastModifiedDate"]

    upserted = await client.call(
        "PUT",
        f"{CUSTOMERS}/eid:CRM-1",
        {"companyName": "Acme Corp", "creditHoldOverride": {"id": "ON"}},
    )
    assert record_id(upserted) == customer_id
    by_eid = await client.call("GET", f"{CUSTOMERS}/eid:CRM-1")
    assert by_eid.body["id"] == customer_id
    assert by_eid.body["companyName"] == "Acme Corp"
    assert by_eid.body["creditHoldOverride"]["id"] == "ON"
    assert by_eid.body["lastModifiedDate"] >= first_modified

    new = await client.call("PUT", f"{CUSTOMERS}/eid:CRM-2", {"companyName": "Beta"})
    assert record_id(new) != customer_id

    listed = await client.call("GET", f"{CUSTOMERS}?limit=1")
    assert listed.body["totalResults"] == 2
    assert listed.body["hasMore"] is True
    assert [item["id"] for item in listed.body["items"]] == [customer_id]
    assert {link["rel"] for link in listed.body["links"]} == {"next", "last", "self"}


async def test_validation_errors_are_the_documented_bodies(client: TbaClient) -> None:
    missing = await client.call("POST", CUSTOMERS, {"email": "a@example.com"})
    assert missing.status == 400
    detail = missing.body["o:errorDetails"][0]
    assert detail["o:errorCode"] == "USER_ERROR"
    assert detail["o:errorPath"] == "companyName"
    assert missing.body["status"] == 400
    assert missing.body["title"] == "Bad Request"

    bad_ref = await client.call("POST", CUSTOMERS, {"companyName": "X", "terms": {"id": "999"}})
    assert bad_ref.status == 400
    assert bad_ref.body["o:errorDetails"][0]["o:errorCode"] == "INVALID_KEY_OR_REF"
    assert bad_ref.body["o:errorDetails"][0]["o:errorPath"] == "terms"

    absent = await client.call("GET", f"{CUSTOMERS}/424242")
    assert absent.status == 404
    assert absent.body["o:errorDetails"][0]["o:errorCode"] == "NONEXISTENT_ID"

    put_by_id = await client.call("PUT", f"{CUSTOMERS}/1", {"companyName": "X"})
    assert put_by_id.status == 405

    no_route = await client.call("POST", f"{CUSTOMERS}/1/item/2/3")
    assert no_route.status in (404, 405)
    assert "o:errorDetails" in no_route.body


async def test_sales_order_with_lines_and_expanded_sublist(client: TbaClient) -> None:
    customer = record_id(await client.call("POST", CUSTOMERS, {"companyName": "Acme"}))
    item = record_id(
        await client.call(
            "POST",
            "/services/rest/record/v1/inventoryItem",
            {"itemId": "WIDGET", "basePrice": 12.5},
        )
    )
    order = {
        "entity": {"id": customer},
        "externalId": "DEAL-7",
        "item": {
            "items": [
                {"item": {"id": item}, "quantity": 2},
                {"item": {"id": item}, "quantity": 1, "rate": 10},
            ]
        },
    }
    order_id = record_id(
        await client.call("PUT", "/services/rest/record/v1/salesOrder/eid:DEAL-7", order)
    )
    plain = await client.call("GET", f"/services/rest/record/v1/salesOrder/{order_id}")
    assert plain.body["total"] == 35.0
    assert "items" not in plain.body["item"]
    expanded = await client.call(
        "GET", f"/services/rest/record/v1/salesOrder/{order_id}?expandSubResources=true"
    )
    lines = expanded.body["item"]["items"]
    assert [(line["quantity"], line["rate"], line["amount"]) for line in lines] == [
        (2.0, 12.5, 25.0),
        (1.0, 10.0, 10.0),
    ]
    assert expanded.body["entity"]["refName"] == "Acme"
    assert expanded.body["orderStatus"]["id"] == "B"

    again = await client.call(
        "PUT", "/services/rest/record/v1/salesOrder/eid:DEAL-7?replace=item", order
    )
    assert record_id(again) == order_id
    replaced = await client.call(
        "GET", f"/services/rest/record/v1/salesOrder/{order_id}?expandSubResources=true"
    )
    assert replaced.body["item"]["totalResults"] == 2


async def test_contact_at_a_customer_and_item_sales_description(client: TbaClient) -> None:
    customer = record_id(
        await client.call("POST", CUSTOMERS, {"companyName": "Acme", "url": "https://acme.example"})
    )
    contact = record_id(
        await client.call(
            "PUT",
            "/services/rest/record/v1/contact/eid:CRM-C1",
            {"firstName": "Ada", "lastName": "Byron", "company": {"id": customer}},
        )
    )
    read = await client.call("GET", f"/services/rest/record/v1/contact/{contact}")
    assert read.body["entityId"] == "Ada Byron"
    assert read.body["company"]["refName"] == "Acme"
    assert read.body["subsidiary"]["id"] == "1"
    site = await client.call("GET", f"{CUSTOMERS}/{customer}")
    assert site.body["url"] == "https://acme.example"

    item = record_id(
        await client.call(
            "PUT",
            "/services/rest/record/v1/serviceSaleItem/eid:SKU-1",
            {"itemId": "SKU-1", "salesDescription": "Consulting hour"},
        )
    )
    rows = await client.suiteql("SELECT id, itemtype, salesdescription FROM item")
    assert rows.body["items"] == [
        {"links": [], "id": item, "itemtype": "Service", "salesdescription": "Consulting hour"}
    ]
    contacts = await client.suiteql("SELECT firstname, company FROM contact")
    assert contacts.body["items"] == [{"links": [], "firstname": "Ada", "company": customer}]


async def test_item_prices_through_the_pricing_sublist(client: TbaClient) -> None:
    items = "/services/rest/record/v1/inventoryItem"
    item = record_id(
        await client.call(
            "POST",
            items,
            {
                "itemId": "GADGET",
                "price": {
                    "items": [
                        {"priceLevel": {"id": "1"}, "currencyPage": {"id": "1"}, "price": 20},
                        {"priceLevel": {"id": "1"}, "currencyPage": {"id": "2"}, "price": 18.5},
                        {"priceLevel": {"id": "2"}, "price": 19, "quantity": {"value": 0}},
                    ]
                },
            },
        )
    )
    expanded = await client.call("GET", f"{items}/{item}?expandSubResources=true")
    prices = {
        (line["priceLevel"]["refName"], line["currencyPage"]["id"]): line["price"]
        for line in expanded.body["price"]["items"]
    }
    assert prices == {
        ("Base Price", "1"): 20.0,
        ("Alternate Price 1", "1"): 19.0,
        ("Base Price", "2"): 18.5,
    }
    assert expanded.body["basePrice"] == 20.0
    rows = await client.suiteql(
        "SELECT pricelevel, currency, unitprice FROM pricing WHERE pricelevel = 1 ORDER BY currency"
    )
    assert [(r["currency"], r["unitprice"]) for r in rows.body["items"]] == [
        ("1", "20"),
        ("2", "18.5"),
    ]

    await client.call(
        "PATCH",
        f"{items}/{item}",
        {"price": {"items": [{"priceLevel": {"id": "1"}, "price": 22}]}},
    )
    order_line_default = (await client.call("GET", f"{items}/{item}")).body["basePrice"]
    assert order_line_default == 22.0
    bad_level = await client.call(
        "PATCH", f"{items}/{item}", {"price": {"items": [{"priceLevel": {"id": "99"}, "price": 1}]}}
    )
    assert bad_level.status == 400
    assert bad_level.body["o:errorDetails"][0]["o:errorCode"] == "INVALID_KEY_OR_REF"
