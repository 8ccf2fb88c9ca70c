"""Asynchronous requests with idempotency keys, as documented."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from .conftest import Reply, TbaClient

CUSTOMERS = "/services/rest/record/v1/customer"


async def _until_completed(client: TbaClient, location: str) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        job = await client.call("GET", location)
        assert job.status == 200, job.body
        if job.body["completed"]:
            body: dict[str, Any] = job.body
            return body
        assert time.monotonic() < deadline, job.body
        await asyncio.sleep(0.05)


async def _async_put(client: TbaClient, key: str, body: dict[str, Any]) -> Reply:
    return await client.call(
        "PUT",
        f"{CUSTOMERS}/eid:ASYNC-1",
        body,
        headers={"Prefer": "respond-async", "X-NetSuite-Idempotency-Key": key},
    )


async def test_async_write_job_task_and_result(client: TbaClient) -> None:
    key = str(uuid.uuid4())
    accepted = await _async_put(client, key, {"companyName": "Async Co"})
    assert accepted.status == 202
    assert accepted.headers["Preference-Applied"] == "respond-async"
    location = accepted.headers["Location"]
    assert location.startswith("/services/rest/async/v1/job/")

    job = await _until_completed(client, location)
    assert job["progress"] == "succeeded"
    tasks = await client.call("GET", f"{location}/task")
    assert tasks.body["count"] == 1
    task_href = tasks.body["items"][0]["links"][0]["href"]
    task = await client.call("GET", task_href.removeprefix(client.server.base_url))
    assert task.body["completed"] is True
    assert task.body["progress"] == "succeeded"
    result_href = next(link["href"] for link in task.body["links"] if link["rel"] == "related")
    result = await client.call("GET", result_href.removeprefix(client.server.base_url))
    assert result.status == 204
    assert "/record/v1/customer/" in result.headers["Location"]

    repeated = await _async_put(client, key, {"companyName": "Async Co"})
    assert repeated.status == 400
    assert repeated.headers["Location"] == location
    assert repeated.body["title"] == "Conflict"
    assert repeated.body["o:errorDetails"][0]["o:errorCode"] == "IDEMPOTENCY_ERROR"

    listed = await client.call("GET", CUSTOMERS)
    assert listed.body["totalResults"] == 1


async def test_failed_async_write_keeps_its_error(client: TbaClient) -> None:
    accepted = await _async_put(client, str(uuid.uuid4()), {"email": "no-name@example.com"})
    job = await _until_completed(client, accepted.headers["Location"])
    assert job["progress"] == "failed"
    result = await client.call("GET", f"{accepted.headers['Location']}/task/1/result")
    assert result.status == 400
    assert result.body["o:errorDetails"][0]["o:errorCode"] == "USER_ERROR"


async def test_a_job_is_pending_until_it_has_run(client: TbaClient) -> None:
    await client.control("latency", {"seconds": 1.0})
    accepted = await _async_put(client, str(uuid.uuid4()), {"companyName": "Slow Co"})
    await client.control("latency", {"seconds": 0})
    pending = await client.call("GET", accepted.headers["Location"])
    assert pending.body["completed"] is False
    assert pending.body["progress"] == "pending"
    unfinished = await client.call("GET", f"{accepted.headers['Location']}/task/1/result")
    assert unfinished.status == 404
    job = await _until_completed(client, accepted.headers["Location"])
    assert job["progress"] == "succeeded"
