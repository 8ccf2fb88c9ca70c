"""Sforce-Limit-Info, REQUEST_LIMIT_EXCEEDED, and the control endpoints' faults."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.localserver.salesforce.org import Org
from tests.localserver.salesforce.test_records import error_code


def usage(header: str) -> tuple[int, int]:
    name, _, value = header.partition("=")
    assert name == "api-usage"
    used, _, allowance = value.partition("/")
    return int(used), int(allowance)


async def test_every_response_carries_api_usage(org: Org) -> None:
    first = await org.call("GET", "/limits")
    used, allowance = usage(first.headers["Sforce-Limit-Info"])
    assert first.body["DailyApiRequests"] == {"Max": allowance, "Remaining": allowance - used}
    error = await org.call("GET", "/sobjects/Account/001bad")
    assert usage(error.headers["Sforce-Limit-Info"]) == (used + 1, allowance)


async def test_spent_allowance_gives_request_limit_exceeded(org: Org) -> None:
    org.server.control.set_remaining(1)
    assert (await org.call("GET", "/limits")).status == 200
    reply = await org.call("GET", "/limits")
    assert (reply.status, error_code(reply.body)) == (403, "REQUEST_LIMIT_EXCEEDED")
    assert reply.body[0]["message"] == "TotalRequests Limit exceeded."
    used, allowance = usage(reply.headers["Sforce-Limit-Info"])
    assert used == allowance


async def control_post(
    org: Org, path: str, body: object = None, token: str | None = None
) -> tuple[int, Any]:
    token = token if token is not None else org.server.credentials["control_token"]
    async with org.http.post(
        f"{org.instance_url}/_local/{path}",
        json=body,
        headers={"Authorization": f"Bearer {token}"},
    ) as reply:
        return reply.status, await reply.json()


async def test_control_endpoints_over_http(org: Org) -> None:
    status, _ = await control_post(org, "faults", {"count": 1, "status": 503}, token="wrong")
    assert status == 401
    status, _ = await control_post(org, "faults", {"count": 2, "status": 503})
    assert status == 200
    for _ in range(2):
        failed = await org.call("GET", "/limits")
        assert (failed.status, error_code(failed.body)) == (503, "SERVER_UNAVAILABLE")
    assert (await org.call("GET", "/limits")).status == 200
    org.server.control.fail_next(1, 500)
    reply = await org.call("POST", "/sobjects/Account", {"Name": "Not written"})
    assert (reply.status, error_code(reply.body)) == (500, "UNKNOWN_EXCEPTION")
    assert await org.records("SELECT Id FROM Account") == []
    status, _ = await control_post(org, "delays", {"count": 1, "seconds": 0.5})
    assert status == 200
    started = time.monotonic()
    assert (await org.call("GET", "/limits")).status == 200
    assert time.monotonic() - started >= 0.5
    status, body = await control_post(org, "limits", {"remaining": 0})
    assert (status, body) == (200, {"remaining": 0})
    assert (await org.call("GET", "/limits")).status == 403
    status, _ = await control_post(org, "sessions/expire")
    assert status == 200
    assert (await org.call("GET", "/limits")).status == 401
    status, body = await control_post(org, "nothing-here", {})
    assert status == 404


async def test_a_delayed_request_times_out_at_the_client(org: Org) -> None:
    org.server.control.delay_next(1, 2)
    try:
        await asyncio.wait_for(org.call("GET", "/limits"), timeout=0.3)
    except TimeoutError:
        pass
    else:
        raise AssertionError("the delayed request answered before its delay")


async def test_duplicate_rules_on_demand(org: Org) -> None:
    await org.create("Account", Name="Acme")
    org.server.control.detect_duplicates("Account")
    reply = await org.call("POST", "/sobjects/Account", {"Name": "ACME"})
    assert (reply.status, error_code(reply.body)) == (400, "DUPLICATES_DETECTED")
    org.server.control.detect_duplicates("Account", enabled=False)
    assert (await org.call("POST", "/sobjects/Account", {"Name": "ACME"})).status == 201
