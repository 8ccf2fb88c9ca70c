"""getDeleted: deleted ids in a window (seconds ignored), earliestDateAvailable from the
recycle bin's retention, latestDateCovered never in the future."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from q2c.localserver.salesforce.values import format_datetime, parse_datetime
from tests.localserver.salesforce.org import Org
from tests.localserver.salesforce.test_records import error_code


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


async def deleted_until_covered(org: Org, start: datetime, record_id: str) -> dict[str, Any]:
    """getDeleted up to a minute ahead until the deletion's minute is covered (deletions in
    the current minute show once that minute is over)."""
    deadline = asyncio.get_running_loop().time() + 90
    while True:
        reply = await org.call(
            "GET",
            "/sobjects/Account/deleted/",
            params={"start": stamp(start), "end": stamp(datetime.now(UTC) + timedelta(minutes=1))},
        )
        assert reply.status == 200, reply.body
        if any(r["id"] == record_id for r in reply.body["deletedRecords"]):
            return dict(reply.body)
        assert asyncio.get_running_loop().time() < deadline, reply.body
        await asyncio.sleep(1)


async def test_deleted_records_in_a_window(org: Org) -> None:
    start = datetime.now(UTC) - timedelta(minutes=5)
    gone = await org.create("Account", Name="Gone")
    await org.create("Account", Name="Kept")
    assert (await org.call("DELETE", f"/sobjects/Account/{gone}")).status == 204
    # The minute of the deletion is covered at once when its deletion is backdated a minute.
    org.server.store.rows[gone].deleted_at = datetime.now(UTC) - timedelta(minutes=1)
    body = await deleted_until_covered(org, start, gone)
    [entry] = body["deletedRecords"]
    assert entry["id"] == gone
    assert parse_datetime(entry["deletedDate"]) < parse_datetime(str(body["latestDateCovered"]))
    assert parse_datetime(str(body["latestDateCovered"])) <= datetime.now(UTC)
    earliest = parse_datetime(str(body["earliestDateAvailable"]))
    assert timedelta(days=14) < datetime.now(UTC) - earliest <= timedelta(days=15, minutes=1)


async def test_retention_moves_earliest_date_available(org: Org) -> None:
    org.server.control.deleted_retention = timedelta(seconds=30)
    now = datetime.now(UTC)
    # A start the purged log no longer reaches: refused, as getDeleted() documents.
    reply = await org.call(
        "GET",
        "/sobjects/Account/deleted/",
        params={"start": stamp(now - timedelta(days=1)), "end": stamp(now)},
    )
    assert (reply.status, error_code(reply.body)) == (400, "INVALID_REPLICATION_DATE")
    assert "earliestDateAvailable" in reply.body[0]["message"]
    reply = await org.call(
        "GET",
        "/sobjects/Account/deleted/",
        params={"start": stamp(now - timedelta(seconds=30)), "end": stamp(now)},
    )
    assert reply.status == 200, reply.body
    earliest = parse_datetime(reply.body["earliestDateAvailable"])
    assert now - earliest <= timedelta(minutes=2)
    assert reply.body["latestDateCovered"] == format_datetime(now.replace(second=0, microsecond=0))


async def test_bad_windows(org: Org) -> None:
    now = datetime.now(UTC)
    reply = await org.call(
        "GET",
        "/sobjects/Account/deleted/",
        params={"start": stamp(now), "end": stamp(now - timedelta(hours=1))},
    )
    assert (reply.status, error_code(reply.body)) == (400, "INVALID_REPLICATION_DATE")
    reply = await org.call("GET", "/sobjects/Account/deleted/", params={"start": stamp(now)})
    assert (reply.status, error_code(reply.body)) == (400, "MISSING_ARGUMENT")


async def test_updated_lists_changed_ids_up_to_the_covered_minute(org: Org) -> None:
    account = await org.create("Account", Name="Changed")
    now = datetime.now(UTC)
    reply = await org.call(
        "GET",
        "/sobjects/Account/updated/",
        params={"start": stamp(now - timedelta(hours=1)), "end": stamp(now + timedelta(hours=1))},
    )
    assert reply.status == 200
    covered = parse_datetime(reply.body["latestDateCovered"])
    assert covered == now.replace(second=0, microsecond=0)
    # The current minute is not covered yet: the new record shows once its minute is over.
    record = await org.call("GET", f"/sobjects/Account/{account}")
    changed = parse_datetime(record.body["SystemModstamp"])
    assert (account in reply.body["ids"]) == (changed < covered)
    reply = await org.call(
        "GET",
        "/sobjects/Account/updated/",
        params={"start": stamp(now - timedelta(hours=2)), "end": stamp(now - timedelta(hours=1))},
    )
    assert reply.body["ids"] == []
