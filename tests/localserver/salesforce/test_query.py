"""query and queryAll: filters, ordering, relationships, paging with nextRecordsUrl, and the
documented errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.localserver.salesforce.org import Org
from tests.localserver.salesforce.test_records import error_code


async def test_pages_follow_next_records_url(org: Org) -> None:
    records = [{"attributes": {"type": "Account"}, "Name": f"A{n:04d}"} for n in range(200)]
    for _ in range(3):
        reply = await org.call("POST", "/composite/sobjects", {"records": records})
        assert reply.status == 200
        assert all(r["success"] for r in reply.body)
    reply = await org.call(
        "GET",
        "/query",
        params={"q": "SELECT Id, Name FROM Account ORDER BY Name, Id"},
        headers={"Sforce-Query-Options": "batchSize=250"},
    )
    assert (reply.body["totalSize"], reply.body["done"], len(reply.body["records"])) == (
        600,
        False,
        250,
    )
    seen = [r["Id"] for r in reply.body["records"]]
    while not reply.body["done"]:
        assert reply.body["nextRecordsUrl"].startswith(f"{org.base}/query/01g")
        reply = await org.call("GET", reply.body["nextRecordsUrl"])
        assert reply.status == 200
        seen += [r["Id"] for r in reply.body["records"]]
    assert len(seen) == len(set(seen)) == 600
    reply = await org.call("GET", f"{org.base}/query/01g5g0000000999AAA-250")
    assert (reply.status, error_code(reply.body)) == (400, "INVALID_QUERY_LOCATOR")


async def test_filters_order_and_relationships(org: Org) -> None:
    acme = await org.create("Account", Name="Acme", Type="Customer - Direct")
    await org.create("Account", Name="Beta")
    await org.create("Contact", LastName="Zed", AccountId=acme, Email="z@acme.example")
    await org.create("Contact", LastName="Abe", AccountId=acme)
    [row] = await org.records(
        "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account "
        "WHERE Type = 'customer - direct'"
    )
    assert [c["LastName"] for c in row["Contacts"]["records"]] == ["Abe", "Zed"]
    rows = await org.records(
        "SELECT Name, (SELECT Id FROM Contacts) FROM Account WHERE Name = 'Beta'"
    )
    assert rows[0]["Contacts"] is None
    rows = await org.records(
        "SELECT LastName, Account.Name FROM Contact WHERE Account.Name LIKE 'ac%' "
        "ORDER BY Email NULLS LAST"
    )
    assert [(r["LastName"], r["Account"]["Name"]) for r in rows] == [
        ("Zed", "Acme"),
        ("Abe", "Acme"),
    ]
    rows = await org.records(
        "SELECT Name FROM Account WHERE CreatedDate > 2020-01-01T00:00:00Z "
        "AND Name IN ('Beta', 'Gamma')"
    )
    assert [r["Name"] for r in rows] == ["Beta"]
    rows = await org.records(
        "SELECT Name FROM Account WHERE SystemModstamp > 2999-01-01T00:00:00+02:00"
    )
    assert rows == []
    rows = await org.records("SELECT Name FROM Account ORDER BY Name DESC LIMIT 1 OFFSET 1")
    assert [r["Name"] for r in rows] == ["Acme"]


async def test_count(org: Org) -> None:
    for name in ("A", "B", "C"):
        await org.create("Account", Name=name)
    reply = await org.query("SELECT COUNT() FROM Account WHERE Name != 'B'")
    assert (reply.status, reply.body) == (200, {"totalSize": 2, "done": True, "records": []})


async def test_query_all_includes_deleted_records(org: Org) -> None:
    gone = await org.create("Account", Name="Gone")
    await org.create("Account", Name="Kept")
    await org.call("DELETE", f"/sobjects/Account/{gone}")
    assert [r["Name"] for r in await org.records("SELECT Name FROM Account")] == ["Kept"]
    reply = await org.call(
        "GET", "/queryAll", params={"q": "SELECT Name, IsDeleted FROM Account ORDER BY Name"}
    )
    assert [(r["Name"], r["IsDeleted"]) for r in reply.body["records"]] == [
        ("Gone", True),
        ("Kept", False),
    ]


async def test_query_errors(org: Org) -> None:
    cases = {
        "SELECT Id FROM Account WHERE": "MALFORMED_QUERY",
        "SELECT Colour FROM Account": "INVALID_FIELD",
        "SELECT Id FROM Widget__c": "INVALID_TYPE",
        "SELECT Id FROM Account WHERE CreatedDate > '2024-01-01'": "INVALID_FIELD",
        "SELECT Id FROM Account WHERE Name = 5": "INVALID_FIELD",
        "SELECT Id, (SELECT Id FROM Widgets) FROM Account": "INVALID_TYPE",
        "SELECT Id, Boss.Name FROM Contact": "INVALID_FIELD",
    }
    for soql, code in cases.items():
        reply = await org.query(soql)
        assert (reply.status, error_code(reply.body)) == (400, code), soql


async def test_relative_date_literals(org: Org) -> None:
    closed = (datetime.now(UTC) - timedelta(days=60)).date().isoformat()
    await org.create("Opportunity", Name="Now", StageName="Prospecting", CloseDate=closed)
    today = await org.records("SELECT Name FROM Opportunity WHERE CreatedDate = TODAY")
    recent = await org.records("SELECT Name FROM Opportunity WHERE CreatedDate = LAST_N_DAYS:1")
    later = await org.records("SELECT Name FROM Opportunity WHERE CreatedDate > TODAY")
    # A test running across midnight UTC sees the record under YESTERDAY instead of TODAY.
    assert [r["Name"] for r in recent] == ["Now"]
    assert len(today) <= 1
    assert later == []
    past = await org.records("SELECT Name FROM Opportunity WHERE CloseDate < LAST_N_DAYS:30")
    assert [r["Name"] for r in past] == ["Now"]
    reply = await org.query("SELECT Name FROM Opportunity WHERE Name = TODAY")
    assert reply.status == 400


async def test_query_all_pages(org: Org) -> None:
    records = [{"attributes": {"type": "Account"}, "Name": f"D{n:03d}"} for n in range(200)]
    for _ in range(2):
        created = await org.call("POST", "/composite/sobjects", {"records": records})
        ids = ",".join(r["id"] for r in created.body[:100])
        await org.call("DELETE", "/composite/sobjects", params={"ids": ids})
    reply = await org.call(
        "GET",
        "/queryAll",
        params={"q": "SELECT Id, IsDeleted FROM Account"},
        headers={"Sforce-Query-Options": "batchSize=300"},
    )
    assert (reply.body["totalSize"], len(reply.body["records"])) == (400, 300)
    assert reply.body["nextRecordsUrl"].startswith(f"{org.base}/queryAll/")
    rest = await org.call("GET", reply.body["nextRecordsUrl"])
    assert (rest.body["done"], len(rest.body["records"])) == (True, 100)
    deleted = [r for r in reply.body["records"] + rest.body["records"] if r["IsDeleted"]]
    assert len(deleted) == 200
