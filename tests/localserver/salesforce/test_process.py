"""``python -m q2c.localserver.salesforce`` as a process: it writes credentials.json once
listening, serves both hosts on 127.0.0.1, and stops on SIGTERM."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from pathlib import Path

import aiohttp

from tests.localserver.salesforce.org import jwt_login


async def test_runs_as_a_process(tmp_path: Path) -> None:
    state = tmp_path / "org"
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "q2c.localserver.salesforce", "--state-dir", str(state),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        assert process.stdout is not None
        line = await asyncio.wait_for(process.stdout.readline(), timeout=60)
        assert b"Local Salesforce" in line
        credentials = json.loads((state / "credentials.json").read_text())
        assert credentials["login_url"].startswith("http://127.0.0.1:")
        assert credentials["instance_url"].startswith("http://127.0.0.1:")
        assert credentials["org_id"].startswith("00D")
        assert len(credentials["org_id"]) == 18
        async with aiohttp.ClientSession() as http:
            login = await jwt_login(http, credentials)
            headers = {"Authorization": f"Bearer {login['access_token']}"}
            url = f"{login['instance_url']}/services/data/v{credentials['api_version']}/limits"
            async with http.get(url, headers=headers) as reply:
                assert reply.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(process.wait(), timeout=30) == 0
