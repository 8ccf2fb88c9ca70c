"""SuiteQL through the REST query service: paging, result shape, functions, refusals."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from q2c.localserver.netsuite.server import Running

from .conftest import TbaClient, record_id

CUSTOMERS = "/services/rest/record/v1/customer"


async def _customers(client: TbaClient, count: int) -> list[str]:
    return [
        record_id(await client.call("POST", CUSTOMERS, {"companyName": f"C{n}", "isPerson": False}))
        for n in range(count)
    ]


async def test_pages_follow_the_documented_shape(client: TbaClient, netsuite: Running) -> None:
    ids = await _customers(client, 5)
    query = "SELECT id, companyname, isperson FROM customer ORDER BY lastmodifieddate, id"
    first = await client.suiteql(query, limit=2)
    assert first.status == 200, first.body
    body = first.body
    assert (body["count"], body["hasMore"], body["offset"], body["totalResults"]) == (2, True, 0, 5)
    assert body["items"][0] == {"links": [], "id": ids[0], "companyname": "C0", "isperson": "F"}
    links = {link["rel"]: link["href"] for link in body["links"]}
    url = f"{netsuite.base_url}/services/rest/query/v1/suiteql"
    assert links == {
        "next": f"{url}?limit=2&offset=2",
        "last": f"{url}?limit=2&offset=4",
        "self": f"{url}?limit=2&offset=0",
    }
    last = await client.suiteql(query, limit=2, offset=4)
    assert (last.body["count"], last.body["hasMore"]) == (1, False)
    assert {link["rel"] for link in last.body["links"]} == {"previous", "first", "self"}
    assert [item["id"] for item in last.body["items"]] == [ids[4]]


async def test_dates_render_in_the_account_time_zone(client: TbaClient, netsuite: Running) -> None:
    await _customers(client, 1)
    zone = ZoneInfo(netsuite.credentials.time_zone)
    today = dt.datetime.now(zone)
    reply = await client.suiteql(
        "SELECT lastmodifieddate, TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS') AS lm"
        " FROM customer"
    )
    item = reply.body["items"][0]
    assert item["lastmodifieddate"] == f"{today.month}/{today.day}/{today.year}"
    stamp = dt.datetime.strptime(item["lm"], "%Y-%m-%d %H:%M:%S").replace(tzinfo=zone)
    assert abs((dt.datetime.now(dt.UTC) - stamp).total_seconds()) < 120

    since = (today - dt.timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")
    later = (today + dt.timedelta(minutes=5)).strftime("%Y-%m-%d %H:%M:%S")
    fmt = "'YYYY-MM-DD HH24:MI:SS'"
    within = await client.suiteql(
        f"SELECT id FROM customer WHERE lastmodifieddate >= TO_TIMESTAMP('{since}', {fmt})"  # noqa: S608
    )
    after = await client.suiteql(
        f"SELECT id FROM customer WHERE lastmodifieddate >= TO_TIMESTAMP('{later}', {fmt})"  # noqa: S608
    )
    assert (within.body["totalResults"], after.body["totalResults"]) == (1, 0)

    day = since[:10]
    iso = await client.suiteql(
        f"SELECT to_char(lastmodifieddate, 'yyyy-mm-dd\"T\"HH24:MI:SS') AS lm FROM customer WHERE lastmodifieddate >= to_date('{day}', 'YYYY-MM-DD')"  # noqa: E501, S608
    )
    assert iso.status == 200, iso.body
    assert iso.body["items"][0]["lm"] == item["lm"].replace(" ", "T")


async def test_transactions_and_display_names(client: TbaClient) -> None:
    customer = record_id(await client.call("POST", CUSTOMERS, {"companyName": "Acme"}))
    item = record_id(
        await client.call(
            "POST", "/services/rest/record/v1/inventoryItem", {"itemId": "W", "basePrice": "3.5"}
        )
    )
    order = record_id(
        await client.call(
            "POST",
            "/services/rest/record/v1/salesOrder",
            {
                "entity": {"id": customer},
                "item": {"items": [{"item": {"id": item}, "quantity": 4}]},
            },
        )
    )
    reply = await client.suiteql(
        "SELECT t.id, t.type, t.foreigntotal, BUILTIN.DF(t.entity) AS customer,"
        " BUILTIN.DF(t.status) AS status, BUILTIN.DF(t.type) AS kind, tl.quantity, i.itemid"
        " FROM transaction t"
        " JOIN transactionline tl ON tl.transaction = t.id"
        " JOIN item i ON i.id = tl.item WHERE t.type = 'SalesOrd' AND tl.mainline = 'F'"
    )
    assert reply.status == 200, reply.body
    assert reply.body["items"] == [
        {
            "links": [],
            "id": order,
            "type": "SalesOrd",
            "foreigntotal": "14",
            "customer": "Acme",
            "status": "Sales Order : Pending Fulfillment",
            "kind": "Sales Order",
            "quantity": "-4",
            "itemid": "W",
        }
    ]
    main = await client.suiteql(
        "SELECT id, item, foreignamount FROM transactionline WHERE mainline = 'T'"
    )
    assert main.body["items"] == [{"links": [], "id": "0", "foreignamount": "14"}]


async def test_refusals(client: TbaClient, netsuite: Running) -> None:
    unknown = await client.suiteql("SELECT id FROM employee")
    assert unknown.status == 400
    detail = unknown.body["o:errorDetails"][0]
    assert detail["o:errorCode"] == "INVALID_PARAMETER"
    assert "employee" in detail["detail"]

    write = await client.suiteql("DELETE FROM customer")
    assert write.status == 400

    too_many = await client.suiteql("SELECT id FROM customer", limit=1001)
    assert too_many.status == 400
    assert too_many.body["o:errorDetails"][0]["o:errorQueryParam"] == "limit"

    not_a_multiple = await client.suiteql("SELECT id FROM customer", limit=2, offset=3)
    assert not_a_multiple.status == 400
    assert not_a_multiple.body["o:errorDetails"][0]["o:errorQueryParam"] == "offset"


async def test_a_query_yields_at_most_the_row_cap(client: TbaClient) -> None:
    ids = await _customers(client, 5)
    await client.control("max-query-rows", {"rows": 3})
    first = await client.suiteql("SELECT id FROM customer ORDER BY id", limit=2)
    assert first.body["totalResults"] == 3
    assert first.body["hasMore"] is True
    second = await client.suiteql("SELECT id FROM customer ORDER BY id", limit=2, offset=2)
    assert [item["id"] for item in second.body["items"]] == [ids[2]]
    assert second.body["hasMore"] is False
    beyond = await client.suiteql("SELECT id FROM customer ORDER BY id", limit=2, offset=4)
    assert beyond.status == 400


async def test_windowed_key_query_in_the_connector_shape(client: TbaClient) -> None:
    """Keys after (stamp, id) inside [start, end), ordered by the stamp to the second."""
    ids = await _customers(client, 4)
    stamp = "TO_CHAR(lastmodifieddate, 'YYYY-MM-DD HH24:MI:SS')"
    ordered = " ".join(["SELECT id,", stamp, "AS ts FROM customer ORDER BY", stamp, ", id"])
    rows = await client.suiteql(ordered)
    first = rows.body["items"][1]
    fmt = "'YYYY-MM-DD HH24:MI:SS'"
    at = f"'{first['ts']}'"
    query = " ".join(
        [
            "SELECT id,",
            stamp,
            "AS ts FROM customer WHERE",
            f"lastmodifieddate >= TO_TIMESTAMP('2000-01-01 00:00:00', {fmt}) AND",
            f"lastmodifieddate < TO_TIMESTAMP('2999-01-01 00:00:00', {fmt}) AND",
            f"({stamp} > {at} OR ({stamp} = {at} AND id > {int(first['id'])}))",
            f"ORDER BY {stamp}, id",
        ]
    )
    after = await client.suiteql(query, limit=2)
    assert after.status == 200, after.body
    assert [item["id"] for item in after.body["items"]] == ids[2:4]
