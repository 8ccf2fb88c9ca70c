"""Stopping the q2c processes that tests and benchmarks start: SIGTERM first, SIGKILL for
one that will not go; either way the child is reaped."""

from __future__ import annotations

import signal
import subprocess
import sys

from q2c.devstack.procs import kill_process, stop_process

SLEEPER = "import sys, time\nprint('up', flush=True)\ntime.sleep(600)\n"
STUBBORN = "import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + SLEEPER


def started(code: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    assert proc.stdout.readline() == b"up\n"  # its handlers are in place
    return proc


def test_stop_terminates_and_reaps() -> None:
    with started(SLEEPER) as proc:
        stop_process(proc)
    assert proc.returncode == -signal.SIGTERM


def test_stop_kills_a_process_that_ignores_sigterm() -> None:
    with started(STUBBORN) as proc:
        stop_process(proc, grace=0.2)
    assert proc.returncode == -signal.SIGKILL


def test_kill_is_sigkill_and_both_leave_an_exited_process_or_none_alone() -> None:
    with started(SLEEPER) as proc:
        kill_process(proc)
        assert proc.returncode == -signal.SIGKILL
        stop_process(proc)
        kill_process(proc)
    stop_process(None)
    kill_process(None)
    assert proc.returncode == -signal.SIGKILL
