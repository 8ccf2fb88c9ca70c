"""Discovery: describeGlobal, describe with key prefixes, fields and child relationships,
the identity URL, and JSON errors for unknown resources."""

from __future__ import annotations

from tests.localserver.salesforce.org import Org, jwt_login
from tests.localserver.salesforce.test_records import error_code

PREFIXES = {
    "Account": "001",
    "Contact": "003",
    "Opportunity": "006",
    "OpportunityLineItem": "00k",
    "Product2": "01t",
    "Pricebook2": "01s",
    "PricebookEntry": "01u",
    "Quote": "0Q0",
    "QuoteLineItem": "0QL",
    "User": "005",
}


async def test_describe_global_and_describe(org: Org) -> None:
    reply = await org.call("GET", "/sobjects")
    assert {o["name"]: o["keyPrefix"] for o in reply.body["sobjects"]} == PREFIXES
    describe = (await org.call("GET", "/sobjects/Opportunity/describe")).body
    fields = {f["name"]: f for f in describe["fields"]}
    system = {"Id", "IsDeleted", "CreatedDate", "CreatedById", "LastModifiedDate"}
    assert system | {"LastModifiedById", "SystemModstamp"} <= set(fields)
    assert fields["StageName"]["nillable"] is False
    assert "Closed Won" in [p["value"] for p in fields["StageName"]["picklistValues"]]
    assert fields["AccountId"]["referenceTo"] == ["Account"]
    assert fields["AccountId"]["relationshipName"] == "Account"
    assert fields["IsWon"]["createable"] is False
    assert describe["childRelationships"] == [
        {
            "childSObject": "OpportunityLineItem",
            "field": "OpportunityId",
            "relationshipName": "OpportunityLineItems",
            "cascadeDelete": True,
        },
        {
            "childSObject": "Quote",
            "field": "OpportunityId",
            "relationshipName": "Quotes",
            "cascadeDelete": True,
        },
    ]


async def test_unknown_resources_and_versions_answer_in_json(org: Org) -> None:
    reply = await org.call("GET", "/no/such/thing")
    assert (reply.status, error_code(reply.body)) == (404, "NOT_FOUND")
    reply = await org.call("GET", "/services/data/v99.0/limits")
    assert (reply.status, error_code(reply.body)) == (404, "NOT_FOUND")
    reply = await org.call("PUT", "/sobjects/Account/0015g0000000001AAA", {})
    assert (reply.status, error_code(reply.body)) == (405, "METHOD_NOT_ALLOWED")
    reply = await org.query("SELECT Id FROM Account LIMIT 10 OFFSET 2001")
    assert (reply.status, error_code(reply.body)) == (400, "NUMBER_OUTSIDE_VALID_RANGE")


async def test_identity_url_names_the_user(org: Org) -> None:
    login = await jwt_login(org.http, org.server.credentials)
    headers = {"Authorization": f"Bearer {login['access_token']}"}
    async with org.http.get(login["id"], headers=headers) as reply:
        assert reply.status == 200
        identity = await reply.json()
    assert identity["username"] == org.server.credentials["username"]
    assert identity["organization_id"] == org.server.credentials["org_id"]
