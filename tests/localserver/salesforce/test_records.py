"""sObject rows: create, read, update, delete, with the documented validation errors and the
standard objects' rules (opportunity stage and amount, price books, line items)."""

from __future__ import annotations

from typing import Any

from tests.localserver.salesforce.org import Org


def error_code(body: Any) -> str:
    assert isinstance(body, list), body
    assert len(body) == 1, body
    assert set(body[0]) == {"message", "errorCode", "fields"}
    return str(body[0]["errorCode"])


async def test_create_read_update_delete(org: Org) -> None:
    account_id = await org.create("Account", Name="Acme", BillingCity="Lyon")
    assert len(account_id) == 18
    assert account_id.startswith("001")
    reply = await org.call("GET", f"/sobjects/Account/{account_id}")
    assert reply.status == 200
    assert reply.body["attributes"] == {
        "type": "Account",
        "url": f"{org.base}/sobjects/Account/{account_id}",
    }
    assert reply.body["Name"] == "Acme"
    assert reply.body["IsDeleted"] is False
    assert reply.body["CreatedDate"].endswith("+0000")
    assert reply.headers["Sforce-Limit-Info"].startswith("api-usage=")
    # A 15-character id reads the same record; ?fields= narrows the reply.
    reply = await org.call(
        "GET", f"/sobjects/Account/{account_id[:15]}", params={"fields": "Name,billingcity"}
    )
    assert {k: v for k, v in reply.body.items() if k != "attributes"} == {
        "Name": "Acme",
        "BillingCity": "Lyon",
    }
    before = reply.headers
    del before
    reply = await org.call("PATCH", f"/sobjects/Account/{account_id}", {"Name": "Acme SA"})
    assert (reply.status, reply.body) == (204, None)
    reply = await org.call("GET", f"/sobjects/Account/{account_id}")
    assert reply.body["Name"] == "Acme SA"
    assert reply.body["SystemModstamp"] > reply.body["CreatedDate"]
    assert (await org.call("DELETE", f"/sobjects/Account/{account_id}")).status == 204
    reply = await org.call("GET", f"/sobjects/Account/{account_id}")
    assert (reply.status, error_code(reply.body)) == (404, "NOT_FOUND")
    reply = await org.call("PATCH", f"/sobjects/Account/{account_id}", {"Name": "x"})
    assert (reply.status, error_code(reply.body)) == (404, "ENTITY_IS_DELETED")


async def test_validation_errors(org: Org) -> None:
    cases: list[tuple[str, str, Any, int, str]] = [
        ("POST", "/sobjects/Account", {"Name": "A", "Colour": "red"}, 400, "INVALID_FIELD"),
        ("POST", "/sobjects/Account", {"Phone": "1"}, 400, "REQUIRED_FIELD_MISSING"),
        ("POST", "/sobjects/Account", {"Name": "A", "Id": "001"}, 400, "INVALID_FIELD"),
        ("POST", "/sobjects/Account", {"Name": "A" * 256}, 400, "STRING_TOO_LONG"),
        ("POST", "/sobjects/Account", {"Name": "A", "ParentId": "xyz"}, 400, "MALFORMED_ID"),
        ("POST", "/sobjects/Opportunity", {"Name": "O", "IsWon": True}, 400,
         "INVALID_FIELD_FOR_INSERT_UPDATE"),
        ("POST", "/sobjects/Opportunity",
         {"Name": "O", "StageName": "Dreaming", "CloseDate": "2026-01-01"}, 400,
         "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"),
        ("POST", "/sobjects/Opportunity",
         {"Name": "O", "StageName": "Prospecting", "CloseDate": "soon"}, 400, "JSON_PARSER_ERROR"),
        ("POST", "/sobjects/Widget__c", {"Name": "W"}, 404, "NOT_FOUND"),
        ("GET", "/sobjects/Account/001bad", None, 400, "MALFORMED_ID"),
        ("GET", "/sobjects/Account/0015g0000000999AAA", None, 404, "NOT_FOUND"),
        ("PATCH", "/sobjects/Account/0035g0000000001AAA", {"Name": "x"}, 400, "MALFORMED_ID"),
    ]  # fmt: skip
    for method, path, body, status, code in cases:
        reply = await org.call(method, path, body)
        assert (reply.status, error_code(reply.body)) == (status, code), (path, body, reply.body)
    reply = await org.call("POST", "/sobjects/Contact", {"FirstName": "Ann"})
    assert reply.body[0]["fields"] == ["LastName"]
    assert reply.body[0]["message"] == "Required fields are missing: [LastName]"


async def test_opportunity_follows_its_stage_and_its_lines(org: Org) -> None:
    standard = org.server.store.standard_pricebook_id
    product = await org.create("Product2", Name="Widget", ProductCode="W-1", IsActive=True)
    entry = await org.create(
        "PricebookEntry", Pricebook2Id=standard, Product2Id=product, UnitPrice=40, IsActive=True
    )
    opportunity = await org.create(
        "Opportunity", Name="Deal", StageName="Prospecting", CloseDate="2026-12-31", Amount=5
    )
    [row] = await org.records(
        f"SELECT IsWon, IsClosed, Probability, Amount FROM Opportunity WHERE Id = '{opportunity}'"  # noqa: S608
    )
    assert (row["IsWon"], row["IsClosed"], row["Probability"], row["Amount"]) == (
        False,
        False,
        10,
        5,
    )
    line = await org.create(
        "OpportunityLineItem", OpportunityId=opportunity, PricebookEntryId=entry, Quantity=3
    )
    await org.create(
        "OpportunityLineItem", OpportunityId=opportunity, PricebookEntryId=entry, Quantity=1,
        UnitPrice=30, Discount=50,
    )  # fmt: skip
    [row] = await org.records(
        "SELECT Amount, Pricebook2Id, HasOpportunityLineItem, (SELECT Quantity, UnitPrice, "
        "ListPrice, TotalPrice, Product2Id, ProductCode FROM OpportunityLineItems ORDER BY "
        "Quantity DESC) FROM Opportunity"
    )
    assert row["Amount"] == 3 * 40 + 15
    assert row["Pricebook2Id"] == standard
    assert row["HasOpportunityLineItem"] is True
    first, second = row["OpportunityLineItems"]["records"]
    assert (first["UnitPrice"], first["ListPrice"], first["TotalPrice"]) == (40, 40, 120)
    assert (first["Product2Id"], first["ProductCode"]) == (product, "W-1")
    assert second["TotalPrice"] == 15
    await org.call("PATCH", f"/sobjects/OpportunityLineItem/{line}", {"Quantity": 1})
    await org.call(
        "PATCH", f"/sobjects/Opportunity/{opportunity}", {"StageName": "Closed Won", "Amount": 1}
    )
    [row] = await org.records(
        "SELECT Amount, IsWon, IsClosed, Probability, ForecastCategoryName FROM Opportunity"
    )
    assert (row["Amount"], row["IsWon"], row["IsClosed"], row["Probability"]) == (
        55,
        True,
        True,
        100,
    )
    assert row["ForecastCategoryName"] == "Closed"
    assert (await org.call("DELETE", f"/sobjects/OpportunityLineItem/{line}")).status == 204
    [row] = await org.records("SELECT Amount FROM Opportunity")
    assert row["Amount"] == 15


async def test_price_books_and_line_items_need_matching_entries(org: Org) -> None:
    standard = org.server.store.standard_pricebook_id
    [book] = await org.records("SELECT Id, Name, IsStandard FROM Pricebook2")
    assert (book["Id"], book["IsStandard"]) == (standard, True)
    product = await org.create("Product2", Name="Gadget", IsActive=True)
    custom = await org.create("Pricebook2", Name="Partners", IsActive=True)
    reply = await org.call(
        "POST", "/sobjects/PricebookEntry",
        {"Pricebook2Id": custom, "Product2Id": product, "UnitPrice": 9, "IsActive": True},
    )  # fmt: skip
    assert (reply.status, error_code(reply.body)) == (400, "STANDARD_PRICE_NOT_DEFINED")
    standard_entry = await org.create(
        "PricebookEntry", Pricebook2Id=standard, Product2Id=product, UnitPrice=10, IsActive=True
    )
    custom_entry = await org.create(
        "PricebookEntry", Pricebook2Id=custom, Product2Id=product, UnitPrice=9, IsActive=True
    )
    reply = await org.call(
        "POST", "/sobjects/PricebookEntry",
        {"Pricebook2Id": custom, "Product2Id": product, "UnitPrice": 8},
    )  # fmt: skip
    assert error_code(reply.body) == "DUPLICATE_VALUE"
    opportunity = await org.create(
        "Opportunity", Name="D", StageName="Qualification", CloseDate="2026-06-30",
        Pricebook2Id=custom,
    )  # fmt: skip
    reply = await org.call(
        "POST", "/sobjects/OpportunityLineItem",
        {"OpportunityId": opportunity, "PricebookEntryId": standard_entry, "Quantity": 1},
    )  # fmt: skip
    assert (reply.status, error_code(reply.body)) == (400, "FIELD_INTEGRITY_EXCEPTION")
    await org.create(
        "OpportunityLineItem", OpportunityId=opportunity, PricebookEntryId=custom_entry, Quantity=2
    )
    [row] = await org.records("SELECT Amount FROM Opportunity")
    assert row["Amount"] == 18
    reply = await org.call("DELETE", f"/sobjects/Pricebook2/{standard}")
    assert error_code(reply.body) == "DELETE_FAILED"


async def test_deleting_an_account_deletes_its_contacts_and_opportunities(org: Org) -> None:
    account = await org.create("Account", Name="Gone")
    contact = await org.create("Contact", LastName="Smith", FirstName="Jo", AccountId=account)
    opportunity = await org.create(
        "Opportunity", Name="O", StageName="Prospecting", CloseDate="2026-01-01", AccountId=account
    )
    [row] = await org.records(f"SELECT Name FROM Contact WHERE Id = '{contact}'")  # noqa: S608
    assert row["Name"] == "Jo Smith"
    assert (await org.call("DELETE", f"/sobjects/Account/{account}")).status == 204
    for sobject, record_id in (("Contact", contact), ("Opportunity", opportunity)):
        assert (await org.call("GET", f"/sobjects/{sobject}/{record_id}")).status == 404
