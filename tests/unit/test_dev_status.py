"""`q2c dev status` on a supervisor running real processes: each supervised component's pid,
restarts, last exit code and last error line (credentials masked); a dead supervisor shows
as down. And the worker's default web port gives way to a free one when another stack holds
it, while a configured one that is taken is a clear error."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from click.testing import CliRunner

from q2c.cli import cli
from q2c.devstack import DevStackError, procs
from q2c.devstack.component import StackFiles
from q2c.devstack.supervised import worker_port
from q2c.devstack.supervisor import Backoff, Program, Supervisor
from q2c.settings import DevSettings, Settings, WorkerSettings

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


async def test_status_shows_restarts_and_the_last_error_line(tmp_path: Path) -> None:
    files = StackFiles(tmp_path / ".q2c")
    log = record(files, os.getpid())  # the supervisor runs in this process
    program = Program("connector-tryton", [sys.executable, "-c", FAILING], log)
    supervisor = Supervisor([program], files.supervisor_state, Backoff(first=0.05, cap=0.2))
    stop = asyncio.Event()
    task = asyncio.create_task(supervisor.run(stop))
    try:

        async def restarted_twice() -> bool | None:
            return True if supervisor.states[program.name].restarts >= 2 else None

        await procs.first_result(restarted_twice, 60, interval=0.05)
        output = status(files.state_dir)
        # Read before the supervisor runs again: what the status was made from.
        saved = orjson.loads(files.supervisor_state.read_bytes())["programs"][program.name]
    finally:
        stop.set()
        await task
    assert "[  up] supervisor" in output
    assert "tryton connector" in output
    assert (
        f"restarts {saved['restarts']}" in output or f"restarts {saved['restarts'] - 1}" in output
    )
    assert "last exit 1" in output
    assert "last error: RuntimeError: cannot log in to Tryton: password=*** refused" in output
    assert "hunter2" not in output


def test_a_dead_supervisor_and_its_programs_show_as_down(tmp_path: Path) -> None:
    files = StackFiles(tmp_path / ".q2c")
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    record(files, int(gone.stdout))
    output = status(files.state_dir)
    assert "[DOWN] supervisor" in output
    assert "[DOWN] tryton connector" in output
    assert "pid -  restarts 0" in output


@pytest.fixture
def default_port_taken() -> Iterator[int]:
    """The worker's default port, held by this test unless something else holds it."""
    default = WorkerSettings().web_port
    with socket.socket() as holder:
        try:
            holder.bind(("127.0.0.1", default))
            holder.listen()
        except OSError:
            pass  # another stack has it: taken either way
        yield default


def test_the_default_worker_port_gives_way_to_a_free_one(
    tmp_path: Path, default_port_taken: int
) -> None:
    settings = Settings(dev=DevSettings(state_dir=tmp_path))
    port = worker_port(settings)
    assert port != default_port_taken
    assert procs.port_is_free(port)


def test_a_configured_worker_port_that_is_taken_is_a_clear_error(
    tmp_path: Path, default_port_taken: int
) -> None:
    settings = Settings(
        dev=DevSettings(state_dir=tmp_path), worker=WorkerSettings(web_port=default_port_taken)
    )
    with pytest.raises(DevStackError, match=f"port {default_port_taken} .* already in use"):
        worker_port(settings)
