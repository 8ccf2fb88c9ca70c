"""BottleCRM as `q2c dev up` starts it: the stack.json entry, and clear errors."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from pydantic import SecretStr

from connectors.bottlecrm import BottleCrmClient, BottleCrmSettings
from connectors.bottlecrm.fields import Q2C_FIELDS
from connectors.bottlecrm.provision import WEBHOOK_EVENTS
from q2c.core.settings import Settings
from q2c.devstack import bottlecrm as devstack
from q2c.devstack import procs
from q2c.devstack.bottlecrm import BottleCrmServer
from q2c.devstack.errors import DevStackError

pytestmark = pytest.mark.integration


def test_stack_entry_serves_an_org_ready_for_q2c(
    bottlecrm: BottleCrmServer, tmp_path: Path
) -> None:
    log = tmp_path / "logs" / "bottlecrm.log"
    entry = devstack.start_stack_entry(Settings().dev.cache_dir, tmp_path, log)
    try:
        assert set(entry) == {
            "url",
            "org",
            "token",
            "jwt",
            "webhook_url",
            "webhook_port",
            "webhook_secret",
            "pid",
            "log",
            "data_dir",
            "version",
        }
        port = entry["webhook_port"]
        assert entry["webhook_url"] == f"http://127.0.0.1:{port}/bottlecrm/webhook"
        assert entry["webhook_secret"].startswith("whsec_")
        assert entry["url"].startswith("http://127.0.0.1:")
        assert entry["token"].startswith("bcrm_pat_")
        assert devstack.healthy(entry)
        assert entry["org"] in next(iter(devstack.describe(entry)))
        assert log.stat().st_size > 0

        async def org_is_ready() -> None:
            settings = BottleCrmSettings(
                url=entry["url"], token=SecretStr(entry["token"]), jwt=SecretStr(entry["jwt"])
            )
            async with BottleCrmClient(settings) as crm:
                keys = {(d.target_model, d.key) for d in await crm.custom_fields()}
                assert keys == {(f.target_model, f.key) for f in Q2C_FIELDS}
                # The JWT is bound to the org; the connector's webhook is registered there.
                hooks = await crm.webhooks()
                assert [h.url for h in hooks] == [entry["webhook_url"]]
                assert set(hooks[0].events) == set(WEBHOOK_EVENTS)

        # `q2c dev up` is synchronous and runs its own event loop, so this test is too.
        asyncio.run(org_is_ready())
    finally:
        procs.stop_pid(int(entry["pid"]))
    assert not devstack.healthy(entry)


def test_taken_port_is_a_clear_error(bottlecrm: BottleCrmServer, tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        server = BottleCrmServer(install=bottlecrm.install, data_dir=tmp_path, port=port)
        with pytest.raises(DevStackError, match=f"port {port} .* already in use"):
            server.start()
    assert server.pid is None


def test_failed_start_reports_why(bottlecrm: BottleCrmServer, tmp_path: Path) -> None:
    not_a_database = tmp_path / "garbage.sqlite3"
    not_a_database.write_bytes(b"this is not an SQLite file" * 100)
    server = BottleCrmServer(
        install=bottlecrm.install, data_dir=tmp_path / "server", pristine=not_a_database
    )
    with pytest.raises(DevStackError, match="BottleCRM did not start") as failed:
        server.start()
    message = str(failed.value)
    assert "devlogin" in message
    assert "file is not a database" in message
    assert "--- BottleCRM log" in message
    assert server.pid is None


def test_missing_python_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(DevStackError, match=r"no Python 3\.12 interpreter found"):
        devstack.find_python()
