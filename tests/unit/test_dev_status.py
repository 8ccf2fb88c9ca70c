"""`q2c dev status` on a supervisor running real processes: each supervised component's pid,
restarts, last exit code and last error line (credentials masked); a dead supervisor shows
as down. And the worker's default web port gives way to a free one when another stack holds
it, while a configured one that is taken is a clear error."""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from q2c.cli import cli
from q2c.core.settings import DevSettings, Settings, WorkerSettings
from q2c.devstack import DevStackError, procs
from q2c.devstack.component import StackFiles
from q2c.devstack.supervised import worker_port
from q2c.devstack.supervisor import Backoff, Program, Supervisor

FAILING = """
print("connector tryton starting", flush=True)
raise RuntimeError("cannot log in to Tryton: password=hunter2 refused")
"""


def status(state_dir: Path) -> str:
    shown = CliRunner().invoke(cli, ["dev", "status"], env={"Q2C_DEV__STATE_DIR": str(state_dir)})
    assert shown.exit_code == 0, shown.output
    return shown.output


def record(files: StackFiles, supervisor_pid: int) -> Path:
    log = files.logs / "connector-tryton.log"
    stack: dict[str, dict[str, Any]] = {
        "supervisor": {"pid": supervisor_pid, "log": str(files.logs / "supervisor.log")},
        "connector-tryton": {"system": "tryton", "log": str(log)},
    }
    files.save(stack)
    return log


async def restarted(supervisor: Supervisor, name: str, times: int) -> None:
    async def enough() -> bool | None:
        return True if supervisor.states[name].restarts >= times else None

    await procs.first_result(enough, 60, interval=0.05)


async def test_status_shows_restarts_and_the_last_error_line(tmp_path: Path) -> None:
    files = StackFiles(tmp_path / ".q2c")
    log = record(files, os.getpid())  # the supervisor runs in this process
    program = Program("connector-tryton", [sys.executable, "-c", FAILING], log)
    supervisor = Supervisor([program], files.supervisor_state, Backoff(first=0.05, cap=0.2))
    stop = asyncio.Event()
    task = asyncio.create_task(supervisor.run(stop))
    try:
        await restarted(supervisor, program.name, 2)
        output = status(files.state_dir)
        # Read before the supervisor runs again: what the status was made from.
        saved = orjson.loads(files.supervisor_state.read_bytes())["programs"][program.name]
    finally:
        stop.set()
        await task
    assert "[  up] supervisor" in output
    assert "tryton connector" in output
    assert saved["restarts"] >= 2
    assert f"restarts {saved['restarts']}" in output
    assert "last exit 1" in output
    assert "last error: RuntimeError: cannot log in to Tryton: password=*** refused" in output
    assert "hunter2" not in output


async def test_a_dead_supervisor_shows_as_down_with_what_it_last_knew(tmp_path: Path) -> None:
    files = StackFiles(tmp_path / ".q2c")
    gone = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await gone.wait()
    log = record(files, gone.pid)  # the supervisor of stack.json has exited
    program = Program("connector-tryton", [sys.executable, "-c", FAILING], log)
    supervisor = Supervisor([program], files.supervisor_state, Backoff(first=0.05, cap=0.2))
    stop = asyncio.Event()
    task = asyncio.create_task(supervisor.run(stop))
    await restarted(supervisor, program.name, 1)
    stop.set()
    await task
    output = status(files.state_dir)
    assert "[DOWN] supervisor" in output
    assert "[DOWN] tryton connector" in output
    assert f"pid -  restarts {supervisor.states[program.name].restarts}" in output
    assert "last error: RuntimeError: cannot log in to Tryton" in output


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A port this test holds (the real default may be held, or not, by other stacks)."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def test_the_default_worker_port_gives_way_to_a_free_one(tmp_path: Path, taken_port: int) -> None:
    # As if the taken port were the default: a value not set by any configuration.
    worker = WorkerSettings.model_construct(_fields_set=set(), web_port=taken_port)
    settings = Settings(dev=DevSettings(state_dir=tmp_path), worker=worker)
    assert "web_port" not in settings.worker.model_fields_set
    port = worker_port(settings)
    assert port != taken_port
    assert procs.port_is_free(port)


def test_a_configured_worker_port_that_is_taken_is_a_clear_error(
    tmp_path: Path, taken_port: int
) -> None:
    settings = Settings(
        dev=DevSettings(state_dir=tmp_path), worker=WorkerSettings(web_port=taken_port)
    )
    with pytest.raises(DevStackError, match=f"port {taken_port} .* already in use"):
        worker_port(settings)
