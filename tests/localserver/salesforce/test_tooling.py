"""Tooling API custom fields: created fields exist in describe, SOQL and writes, survive a
restart, and tooling/query lists them."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from q2c.localserver.salesforce.server import running
from tests.localserver.salesforce.org import Org, jwt_login
from tests.localserver.salesforce.test_records import error_code


async def create_field(org: Org, full_name: str, metadata: dict[str, object]) -> str:
    reply = await org.call(
        "POST", "/tooling/sobjects/CustomField", {"FullName": full_name, "Metadata": metadata}
    )
    assert reply.status == 201, reply.body
    assert reply.body["success"] is True
    return str(reply.body["id"])


async def test_custom_fields_appear_in_describe_soql_and_writes(org: Org) -> None:
    field_id = await create_field(
        org,
        "Opportunity.Q2C_Order_Number__c",
        {"type": "Text", "label": "Order number", "length": 40},
    )
    assert field_id.startswith("00N")
    await create_field(
        org,
        "Account.Q2C_Balance__c",
        {"type": "Currency", "label": "Balance", "precision": 16, "scale": 2},
    )
    describe = (await org.call("GET", "/sobjects/Opportunity/describe")).body
    [described] = [f for f in describe["fields"] if f["name"] == "Q2C_Order_Number__c"]
    assert (described["type"], described["length"], described["custom"]) == ("string", 40, True)
    account = await org.create("Account", Name="Acme", Q2C_Balance__c=12.5)
    [row] = await org.records("SELECT Q2C_Balance__c FROM Account WHERE Q2C_Balance__c > 10")
    assert row["Q2C_Balance__c"] == 12.5
    reply = await org.call(
        "PATCH", f"/sobjects/Account/{account}", {"Q2C_Balance__c": "not a number"}
    )
    assert error_code(reply.body) == "JSON_PARSER_ERROR"
    reply = await org.call(
        "POST",
        "/tooling/sobjects/CustomField",
        {"FullName": "Account.Q2C_Balance__c", "Metadata": {"type": "Text", "label": "x"}},
    )
    assert (reply.status, error_code(reply.body)) == (400, "DUPLICATE_DEVELOPER_NAME")
    reply = await org.call(
        "GET",
        "/tooling/query",
        params={
            "q": "SELECT Id, DeveloperName, TableEnumOrId FROM CustomField "
            "WHERE TableEnumOrId = 'Opportunity'"
        },
    )
    assert reply.status == 200
    assert [(r["Id"], r["DeveloperName"]) for r in reply.body["records"]] == [
        (field_id, "Q2C_Order_Number")
    ]


async def test_custom_fields_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "org"
    async with aiohttp.ClientSession() as http:
        for attempt in range(2):
            async with running(state) as server:
                login = await jwt_login(http, server.credentials)
                org = Org(http, server, str(login["access_token"]), str(login["instance_url"]))
                if attempt == 0:
                    before = await org.create("Account", Name="Before")
                    await create_field(org, "Account.Kept__c", {"type": "Checkbox", "label": "K"})
                    await org.create("Account", Name="A", Kept__c=True)
                    await org.create("Account", Name="B")
                    reply = await org.call("GET", f"/sobjects/Account/{before}")
                    assert reply.body["Kept__c"] is False
                else:
                    rows = await org.records("SELECT Name FROM Account WHERE Kept__c = true")
                    assert [r["Name"] for r in rows] == ["A"]
                    rows = await org.records(
                        "SELECT Name FROM Account WHERE Kept__c = false ORDER BY Name"
                    )
                    assert [r["Name"] for r in rows] == ["B", "Before"]
