"""The account-wide concurrency limit and the fault controls."""

from __future__ import annotations

import asyncio

import aiohttp

from q2c.localserver.netsuite.server import Running

from .conftest import TbaClient, record_id

CUSTOMERS = "/services/rest/record/v1/customer"


async def test_requests_over_the_limit_get_429(client: TbaClient, netsuite: Running) -> None:
    await client.control("concurrency", {"limit": 2})
    await client.control("latency", {"seconds": 0.5})
    replies = await asyncio.gather(*(client.call("GET", CUSTOMERS) for _ in range(5)))
    statuses = sorted(reply.status for reply in replies)
    assert statuses == [200, 200, 429, 429, 429]
    refused = next(reply for reply in replies if reply.status == 429)
    assert refused.body["status"] == 429
    detail = refused.body["o:errorDetails"][0]
    assert detail["o:errorCode"] == "CONCURRENCY_LIMIT_EXCEEDED"
    assert detail["detail"] == "Concurrent request limit exceeded. Request blocked."
    assert netsuite.control.refused == 3
    assert netsuite.control.peak_in_flight == 2


async def test_fail_next_requests(client: TbaClient) -> None:
    await client.control("faults", {"fail_next": 2, "status": 503})
    first = await client.call("GET", CUSTOMERS)
    second = await client.call("GET", CUSTOMERS)
    third = await client.call("GET", CUSTOMERS)
    assert (first.status, second.status, third.status) == (503, 503, 200)
    assert first.body["o:errorDetails"][0]["o:errorCode"] == "UNEXPECTED_ERROR"


async def test_dropped_answer_after_an_applied_write(client: TbaClient, netsuite: Running) -> None:
    await client.control("drop-next-write", {"count": 1})
    body = {"companyName": "Lost Answer Ltd", "externalId": "LOST-1"}
    # POST: aiohttp resends an idempotent method (PUT, DELETE) once when the connection
    # closes, and the resent copy carries a used TBA nonce.
    try:
        lost = await client.call("POST", CUSTOMERS, body)
    except aiohttp.ClientError:
        lost = None
    assert lost is None
    assert netsuite.control.drop_next_writes == 0
    retried = await client.call(
        "PUT", f"{CUSTOMERS}/eid:LOST-1", {"companyName": "Lost Answer Ltd"}
    )
    customer = record_id(retried)
    listed = await client.call("GET", CUSTOMERS)
    assert [item["id"] for item in listed.body["items"]] == [customer]
