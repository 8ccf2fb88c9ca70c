"""Composite sObject collections: per-record results, allOrNone rollback, the 200 limit."""

from __future__ import annotations

from tests.localserver.salesforce.org import Org
from tests.localserver.salesforce.test_records import error_code


def account(name: str | None, **more: object) -> dict[str, object]:
    record: dict[str, object] = {"attributes": {"type": "Account"}, **more}
    if name is not None:
        record["Name"] = name
    return record


async def test_create_without_all_or_none_keeps_the_good_records(org: Org) -> None:
    reply = await org.call(
        "POST",
        "/composite/sobjects",
        {"allOrNone": False, "records": [account("A"), account(None), {"Name": "untyped"}]},
    )
    assert reply.status == 200
    good, missing, untyped = reply.body
    assert good["success"] is True
    assert good["errors"] == []
    assert good["id"].startswith("001")
    assert missing["success"] is False
    assert missing["errors"] == [
        {
            "statusCode": "REQUIRED_FIELD_MISSING",
            "message": "Required fields are missing: [Name]",
            "fields": ["Name"],
        }
    ]
    assert untyped["errors"][0]["statusCode"] == "INVALID_TYPE"
    assert [r["Name"] for r in await org.records("SELECT Name FROM Account")] == ["A"]


async def test_all_or_none_rolls_every_record_back(org: Org) -> None:
    reply = await org.call(
        "POST",
        "/composite/sobjects",
        {"allOrNone": True, "records": [account("A"), account("B", Colour="red")]},
    )
    first, second = reply.body
    assert first["success"] is False
    assert first["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert second["errors"][0]["statusCode"] == "INVALID_FIELD"
    assert await org.records("SELECT Name FROM Account") == []


async def test_update_and_delete_collections(org: Org) -> None:
    first = await org.create("Account", Name="One")
    second = await org.create("Account", Name="Two")
    reply = await org.call(
        "PATCH",
        "/composite/sobjects",
        {
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, "id": first, "Name": "Uno"},
                {"attributes": {"type": "Account"}, "Name": "no id"},
                {"attributes": {"type": "Account"}, "id": second, "Website": "x" * 300},
            ],
        },
    )
    assert [r["success"] for r in reply.body] == [True, False, False]
    assert reply.body[0]["id"] == first
    assert reply.body[1]["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    assert reply.body[2]["errors"][0]["statusCode"] == "STRING_TOO_LONG"
    names = sorted(r["Name"] for r in await org.records("SELECT Name FROM Account"))
    assert names == ["Two", "Uno"]
    reply = await org.call(
        "DELETE", "/composite/sobjects", params={"ids": f"{first},{second}", "allOrNone": "true"}
    )
    assert [r["success"] for r in reply.body] == [True, True]
    assert await org.records("SELECT Name FROM Account") == []


async def test_more_than_200_records_is_refused(org: Org) -> None:
    reply = await org.call(
        "POST", "/composite/sobjects", {"records": [account(f"A{n}") for n in range(201)]}
    )
    assert (reply.status, error_code(reply.body)) == (400, "EXCEEDED_ID_LIMIT")
    assert await org.records("SELECT Name FROM Account") == []


async def test_upsert_collection_by_external_id(org: Org) -> None:
    reply = await org.call(
        "POST",
        "/tooling/sobjects/CustomField",
        {"FullName": "Account.Erp_Id__c", "Metadata": {"type": "Text", "label": "ERP id",
                                                         "length": 20, "externalId": True}},
    )  # fmt: skip
    assert reply.status == 201
    existing = await org.create("Account", Name="Old", Erp_Id__c="E1")
    await org.create("Account", Name="Twin", Erp_Id__c="E9")
    await org.create("Account", Name="Twin", Erp_Id__c="E9")
    reply = await org.call(
        "PATCH",
        "/composite/sobjects/Account/Erp_Id__c",
        {
            "allOrNone": False,
            "records": [
                account("Renamed", Erp_Id__c="E1"),
                account("Fresh", Erp_Id__c="E2"),
                account("Ambiguous", Erp_Id__c="E9"),
                account("No key"),
            ],
        },
    )
    assert reply.status == 200
    renamed, fresh, ambiguous, keyless = reply.body
    assert (renamed["id"], renamed["success"], renamed["created"]) == (existing, True, False)
    assert (fresh["success"], fresh["created"]) == (True, True)
    assert ambiguous["errors"][0]["statusCode"] == "DUPLICATE_EXTERNAL_ID"
    assert keyless["errors"][0]["statusCode"] == "MISSING_ARGUMENT"
    names = sorted(r["Name"] for r in await org.records("SELECT Name FROM Account"))
    assert names == ["Fresh", "Renamed", "Twin", "Twin"]
