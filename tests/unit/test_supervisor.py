"""The local stack's supervisor on real processes: a program that exits is restarted after a
growing delay, its state file (private) says how often, with what exit code and which error;
stopping it stops the programs, also one that ignores SIGTERM; the daemon form restarts a
SIGKILLed program."""

from __future__ import annotations

import asyncio
import os
import signal
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from q2c.devstack.procs import first_result, pid_alive
from q2c.devstack.supervisor import (
    Backoff,
    Program,
    Supervisor,
    error_line,
    read_state,
    spec_of,
)

FAILING = """
import sys, time
with open(sys.argv[1], "a") as runs:
    runs.write("run\\n")
print("starting", flush=True)
raise RuntimeError("boom from run " + str(sum(1 for _ in open(sys.argv[1]))))
"""

SLEEPER = """
import time
print("ready", flush=True)
while True:
    time.sleep(1)
"""
STUBBORN = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + SLEEPER


async def until(condition: Callable[[], bool], within: float = 60.0) -> None:
    async def probe() -> bool | None:
        return True if condition() else None

    await first_result(probe, within, interval=0.05)


def test_backoff_doubles_up_to_its_cap_and_starts_over_after_a_long_run() -> None:
    backoff = Backoff(first=1.0, factor=2.0, cap=5.0, reset_after=60.0)
    delays: list[float] = []
    previous: float | None = None
    for _ in range(5):
        previous = backoff.delay(previous, uptime=0.5)
        delays.append(previous)
    assert delays == [1.0, 2.0, 4.0, 5.0, 5.0]
    assert backoff.delay(5.0, uptime=61.0) == 1.0


def test_the_last_error_line_is_a_tracebacks_last_line_or_an_error_record() -> None:
    traceback = "Traceback (most recent call last):\n  File x\naiokafka.errors.KafkaError: down\n"
    assert error_line("started\n" + traceback + "\n") == "aiokafka.errors.KafkaError: down"
    assert error_line("2026 ERROR q2c cannot reach Tryton\n2026 INFO q2c retrying") == (
        "2026 ERROR q2c cannot reach Tryton"
    )
    record = {"level": "ERROR", "msg": "crashed", "exc": "Traceback\nValueError: bad"}
    info = {"level": "INFO", "msg": "Error: only words"}
    assert error_line(orjson.dumps(record).decode() + "\n" + orjson.dumps(info).decode()) == (
        "ValueError: bad"
    )
    assert error_line('{"level": "CRITICAL", "msg": "gone"}') == "CRITICAL gone"
    assert error_line("all good\nstill fine\n") is None
    gave_up = "2026 ERROR aiokafka Unable connect\nq2c: nothing listens at 127.0.0.1:9: check it\n"
    assert error_line(gave_up) == "q2c: nothing listens at 127.0.0.1:9: check it"
    shutdown_noise = (
        "--- Logging error ---\nTraceback (most recent call last):\n  File x\n"
        "ImportError: sys.meta_path is None, Python is likely shutting down\nCall stack:\n"
        "  File y\nMessage: 'Unclosed client session'\nArguments: ()\n"
    )
    assert error_line(traceback + shutdown_noise) == "aiokafka.errors.KafkaError: down"
    assert error_line("Error: password=hunter2 refused") == "Error: password=*** refused"


async def test_a_program_that_exits_is_restarted_and_its_state_recorded(tmp_path: Path) -> None:
    runs = tmp_path / "runs"
    state_file = tmp_path / "supervisor.json"
    program = Program(
        "crasher", [sys.executable, "-c", FAILING, str(runs)], tmp_path / "crasher.log"
    )
    supervisor = Supervisor(
        [program], state_file, Backoff(first=0.05, factor=2.0, cap=0.4, reset_after=60.0)
    )
    stop = asyncio.Event()
    task = asyncio.create_task(supervisor.run(stop))
    try:
        await until(lambda: supervisor.states["crasher"].restarts >= 4)
        state = read_state(state_file)["programs"]["crasher"]
        assert state["restarts"] >= 3  # written before the latest restart was counted
        assert state["last_exit"] == 1
        assert state["last_error"].startswith("RuntimeError: boom from run ")
        assert stat.S_IMODE(os.stat(state_file).st_mode) == 0o600
        assert read_state(state_file)["pid"] == os.getpid()
    finally:
        stop.set()
        await task
    restarts = supervisor.states["crasher"].restarts
    # Every restart started the program again (the last one may be stopped before it ran).
    assert restarts <= len(runs.read_text().splitlines()) <= restarts + 1
    final = read_state(state_file)["programs"]["crasher"]
    assert final["status"] == "stopped"
    assert final["restarts"] == restarts
    assert final["pid"] is None


async def test_stopping_stops_a_program_that_ignores_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "stubborn.log"
    supervisor = Supervisor([Program("stubborn", [sys.executable, "-c", STUBBORN], log)], grace=0.5)
    stop = asyncio.Event()
    task = asyncio.create_task(supervisor.run(stop))
    await until(lambda: log.exists() and b"ready" in log.read_bytes())
    pid = supervisor.states["stubborn"].pid
    assert pid is not None
    stop.set()
    await task
    assert not pid_alive(pid)
    assert supervisor.states["stubborn"].last_exit == -signal.SIGKILL
    assert supervisor.states["stubborn"].restarts == 0


def test_names_are_unique() -> None:
    program = Program("twice", ["true"], Path("/dev/null"))
    with pytest.raises(ValueError, match="unique"):
        Supervisor([program, program])


async def test_the_daemon_restarts_a_killed_program_and_stops_it_on_sigterm(
    tmp_path: Path,
) -> None:
    spec = tmp_path / "programs.json"
    state_file = tmp_path / "supervisor.json"
    program = Program("sleeper", [sys.executable, "-c", SLEEPER], tmp_path / "sleeper.log")
    spec.write_bytes(orjson.dumps(spec_of([program], Backoff(first=0.1, cap=0.1))))
    daemon = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "q2c.devstack.supervisor",
        str(spec),
        str(state_file),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:

        def sleeper() -> dict[str, object]:
            state: dict[str, object] = read_state(state_file).get("programs", {}).get("sleeper", {})
            return state

        await until(lambda: sleeper().get("status") == "running")
        first = sleeper()["pid"]
        assert isinstance(first, int)
        os.kill(first, signal.SIGKILL)
        await until(lambda: sleeper().get("restarts") == 1 and sleeper().get("pid") is not None)
        second = sleeper()["pid"]
        assert isinstance(second, int)
        assert second != first
        assert sleeper()["last_exit"] == -signal.SIGKILL
        assert sleeper()["status"] == "running"
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = await asyncio.wait_for(daemon.wait(), 60)
    assert code == 0
    assert not pid_alive(second)
    assert sleeper()["status"] == "stopped"
