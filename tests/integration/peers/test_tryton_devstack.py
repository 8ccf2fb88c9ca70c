"""`q2c dev up` starts the real Tryton server and records how to reach it."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

import orjson
import pytest

from q2c.core.settings import DevSettings, Settings
from q2c.devstack import procs, stack
from q2c.devstack.errors import DevStackError
from q2c.devstack.tryton import TrytonServer, ensure_install, ensure_pristine
from tests.plugins.tryton import company_name

pytestmark = pytest.mark.integration


def test_dev_up_starts_tryton_with_its_own_password(tmp_path: Path) -> None:
    settings = Settings(dev=DevSettings(state_dir=tmp_path / "state"))
    component = stack.TrytonComponent()
    lines: list[str] = []
    stack.up(settings, lines.append, components=[component])
    try:
        files = stack.StackFiles(settings.dev.state_dir)
        entry = files.load()["tryton"]
        assert stat.S_IMODE(os.stat(files.stack_json).st_mode) == 0o600
        assert entry["url"].startswith("http://127.0.0.1:")
        assert entry["database"] == "q2c"
        assert procs.pid_alive(int(entry["pid"]))
        assert Path(entry["log"]).exists()
        assert any(line.startswith("[  up] Tryton 8.2") for line in lines)

        assert asyncio.run(company_name(entry)) == "Q2C Local Company"

        # The stack's password is its own, not the one of the cached pristine database.
        pristine = ensure_pristine(ensure_install(settings.dev.cache_dir))
        assert pristine.password.get_secret_value() != entry["password"]

        # A second `up` finds it healthy and leaves it alone.
        again: list[str] = []
        stack.up(settings, again.append, components=[component])
        assert "tryton: already running" in again
        assert orjson.loads(files.stack_json.read_bytes())["tryton"]["pid"] == entry["pid"]
    finally:
        stack.down(settings, lines.append)
    assert not procs.pid_alive(int(entry["pid"]))


def test_a_server_that_cannot_open_its_database_fails_with_the_log(tmp_path: Path) -> None:
    install = ensure_install(Settings().dev.cache_dir)
    pristine = ensure_pristine(install)
    server = TrytonServer(install=install, data_dir=tmp_path, password=pristine.password)
    server.database_file.parent.mkdir(parents=True)
    server.database_file.write_bytes(b"this is not an SQLite database" * 100)
    with pytest.raises(DevStackError) as raised:
        server.start(timeout=60)
    message = str(raised.value)
    assert "refused the login" in message
    assert "--- trytond log ---" in message
    assert server.pid is None
    assert pristine.password.get_secret_value() not in message
