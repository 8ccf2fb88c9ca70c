"""Upsert by external ID, ``PATCH /sobjects/{type}/{field}/{value}``, on a custom external ID
field made through the Tooling API."""

from __future__ import annotations

from tests.localserver.salesforce.org import Org
from tests.localserver.salesforce.test_records import error_code


async def add_external_id(org: Org, sobject: str = "Account", name: str = "Q2C_Id") -> str:
    reply = await org.call(
        "POST",
        "/tooling/sobjects/CustomField",
        {
            "FullName": f"{sobject}.{name}__c",
            "Metadata": {"type": "Text", "label": name, "length": 64, "externalId": True},
        },
    )
    assert reply.status == 201, reply.body
    return f"{name}__c"


async def test_upsert_creates_then_updates(org: Org) -> None:
    field = await add_external_id(org)
    path = f"/sobjects/Account/{field}/ERP-1"
    reply = await org.call("PATCH", path, {"Name": "Acme"})
    assert reply.status == 201
    assert reply.body == {"id": reply.body["id"], "success": True, "errors": [], "created": True}
    created = reply.body["id"]
    reply = await org.call("PATCH", path, {"Name": "Acme SA"})
    assert (reply.status, reply.body) == (
        200,
        {"id": created, "success": True, "errors": [], "created": False},
    )
    [row] = await org.records(f"SELECT Name, {field} FROM Account")  # noqa: S608
    assert (row["Name"], row[field]) == ("Acme SA", "ERP-1")
    # Before API 46.0 an update by upsert answers 204 without a body.
    reply = await org.call("PATCH", f"/services/data/v45.0{path}", {"Name": "Acme AG"})
    assert (reply.status, reply.body) == (204, None)
    reply = await org.call("GET", path)
    assert (reply.status, reply.body["Id"]) == (200, created)


async def test_upsert_errors_and_several_matches(org: Org) -> None:
    field = await add_external_id(org)
    reply = await org.call("PATCH", f"/sobjects/Account/{field}/E-9", {"Name": "A", field: "E-9"})
    assert (reply.status, error_code(reply.body)) == (400, "INVALID_FIELD")
    reply = await org.call("PATCH", f"/sobjects/Account/{field}/E-9", {"Name": "A", "Id": "x"})
    assert (reply.status, error_code(reply.body)) == (400, "INVALID_FIELD")
    reply = await org.call(
        "PATCH", f"/sobjects/Account/{field}/E-9", {"Name": "A"}, params={"updateOnly": "true"}
    )
    assert (reply.status, error_code(reply.body)) == (404, "NOT_FOUND")
    reply = await org.call("PATCH", "/sobjects/Account/Nonexistent__c/1", {"Name": "A"})
    assert (reply.status, error_code(reply.body)) == (404, "NOT_FOUND")
    first = await org.create("Account", Name="One", **{field: "DUP"})
    second = await org.create("Account", Name="Two", **{field: "dup"})
    reply = await org.call("PATCH", f"/sobjects/Account/{field}/DUP", {"Name": "Three"})
    assert reply.status == 300
    assert sorted(reply.body) == sorted(
        f"{org.base}/sobjects/Account/{record_id}" for record_id in (first, second)
    )
    names = sorted(r["Name"] for r in await org.records("SELECT Name FROM Account"))
    assert names == ["One", "Two"]


async def test_unique_external_ids_refuse_duplicates(org: Org) -> None:
    reply = await org.call(
        "POST",
        "/tooling/sobjects/CustomField",
        {
            "FullName": "Product2.Erp_Code__c",
            "Metadata": {"type": "Text", "label": "ERP code", "length": 20, "externalId": True,
                         "unique": True},
        },
    )  # fmt: skip
    assert reply.status == 201
    first = await org.create("Product2", Name="P1", Erp_Code__c="X-1")
    reply = await org.call("POST", "/sobjects/Product2", {"Name": "P2", "Erp_Code__c": "x-1"})
    assert (reply.status, error_code(reply.body)) == (400, "DUPLICATE_VALUE")
    assert reply.body[0]["fields"] == ["Erp_Code__c"]
    assert first in reply.body[0]["message"]
    reply = await org.call("PATCH", "/sobjects/Product2/Erp_Code__c/X-1", {"Name": "P1b"})
    assert (reply.status, reply.body["created"]) == (200, False)


async def test_upsert_by_id_updates_and_never_creates(org: Org) -> None:
    account = await org.create("Account", Name="By id")
    reply = await org.call("PATCH", f"/sobjects/Account/Id/{account}", {"Name": "Renamed"})
    assert (reply.status, reply.body["id"]) == (200, account)
    reply = await org.call("PATCH", "/sobjects/Account/Id/0015g0000000999AAA", {"Name": "New"})
    assert (reply.status, error_code(reply.body)) == (404, "NOT_FOUND")


async def test_numeric_external_ids_match_by_value(org: Org) -> None:
    reply = await org.call(
        "POST",
        "/tooling/sobjects/CustomField",
        {"FullName": "Account.Erp_Number__c", "Metadata": {"type": "Number", "label": "ERP",
                                                             "precision": 18, "scale": 0,
                                                             "externalId": True}},
    )  # fmt: skip
    assert reply.status == 201
    created = await org.call("PATCH", "/sobjects/Account/Erp_Number__c/42", {"Name": "N"})
    assert created.status == 201
    updated = await org.call("PATCH", "/sobjects/Account/Erp_Number__c/42.0", {"Name": "M"})
    assert (updated.status, updated.body["id"]) == (200, created.body["id"])
    [row] = await org.records("SELECT Name, Erp_Number__c FROM Account WHERE Erp_Number__c = 42")
    assert (row["Name"], row["Erp_Number__c"]) == ("M", 42)


async def test_post_to_the_id_field_creates(org: Org) -> None:
    reply = await org.call("POST", "/sobjects/Account/Id", {"Name": "Posted"})
    assert reply.status == 201
    assert reply.body == {"id": reply.body["id"], "success": True, "errors": []}
    assert [r["Name"] for r in await org.records("SELECT Name FROM Account")] == ["Posted"]
