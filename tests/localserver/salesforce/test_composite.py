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
