"""The server as a process (``python -m q2c.localserver.netsuite``) and across restarts."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

import aiohttp

from q2c.localserver.netsuite.server import running

from .conftest import TbaClient, record_id


def _credentials(path: Path) -> dict[str, str] | None:
    if not path.exists():
        return None
    written: dict[str, str] = json.loads(path.read_text())
    return written


async def test_data_and_credentials_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "ns"
    async with running(state) as first, aiohttp.ClientSession() as session:
        customer = record_id(
            await TbaClient(first, session).call(
                "POST", "/services/rest/record/v1/customer", {"companyName": "Kept"}
            )
        )
        before = first.credentials
    async with running(state) as second, aiohttp.ClientSession() as session:
        assert second.credentials.consumer_secret == before.consumer_secret
        assert second.credentials.certificate_id == before.certificate_id
        read = await TbaClient(second, session).call(
            "GET", f"/services/rest/record/v1/customer/{customer}"
        )
        assert read.body["companyName"] == "Kept"


async def test_module_runs_the_server_on_loopback(tmp_path: Path) -> None:
    state = tmp_path / "ns"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "q2c.localserver.netsuite", "--state-dir", str(state)
    )
    try:
        deadline = time.monotonic() + 60
        while (written := _credentials(state / "credentials.json")) is None or written[
            "base_url"
        ].endswith(":0"):
            assert process.returncode is None
            assert time.monotonic() < deadline
            await asyncio.sleep(0.1)
        assert written["base_url"].startswith("http://127.0.0.1:")
        url = written["base_url"] + "/services/rest/record/v1/customer"
        async with aiohttp.ClientSession() as session, session.get(url) as response:
            assert response.status == 401
    finally:
        process.terminate()
        assert await asyncio.wait_for(process.wait(), 30) == 0
