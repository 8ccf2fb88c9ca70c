"""Process and port helpers shared by every local-stack component."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from q2c.devstack.errors import DevStackError

T = TypeVar("T")


_LOWEST_PORT = 10_000


def _ephemeral_ports() -> tuple[int, int]:
    """The kernel's range of ports for outgoing connections (Linux; its default elsewhere)."""
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now.

    Picked below the kernel's ephemeral range when there is room: a port the kernel hands out
    (``bind`` to port 0) is also what any outgoing connection may take as its own local port
    between this call and the server's bind, and the server then fails with EADDRINUSE.
    """
    low, _ = _ephemeral_ports()
    if low - _LOWEST_PORT > 1000:
        chooser = random.SystemRandom()
        for _ in range(100):
            port = chooser.randrange(_LOWEST_PORT, low)
            if port_is_free(port):
                return port
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def claim_port(port: int, what: str) -> int:
    """``port`` if it is free (a free one when 0); a clear error when it is taken."""
    if port == 0:
        return free_port()
    if not port_is_free(port):
        raise DevStackError(
            f"port {port} on 127.0.0.1 is already in use, so {what} cannot listen there; "
            "stop whatever holds it or choose another port (0 picks a free one)"
        )
    return port


def port_answers(port: int, host: str = "127.0.0.1", timeout: float = 0.5) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def require_tool(name: str, purpose: str, hint: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise DevStackError(f"`{name}` is not on PATH; it is needed to {purpose}. {hint}")
    return path


def spawn(
    argv: Sequence[str],
    log_file: Path,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.Popen[bytes]:
    """Start a long-running server in its own session, output appended to ``log_file``."""
    log_file.parent.mkdir(parents=True, exist_ok=True)
    with log_file.open("ab") as log:
        return subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie still answers kill(0); look at its state. A process whose main thread has
    # exited shows as a zombie while its other threads still run and hold its sockets
    # (a JVM's, say): it has exited only once one thread is left.
    with contextlib.suppress(OSError, KeyError, ValueError):
        status = dict(
            line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines()
        )
        return status["State"].split()[0] != "Z" or int(status["Threads"]) > 1
    return True


def stop_pid(pid: int, grace: float = 30.0) -> None:
    """SIGTERM the process group of ``pid``, SIGKILL it after ``grace`` seconds."""
    if not pid_alive(pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        if not pid_alive(pid):
            return
        time.sleep(0.1)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


def stop_process(proc: subprocess.Popen[Any] | None, grace: float = 30.0) -> None:
    """SIGTERM a child started here, SIGKILL it after ``grace`` seconds; reaped either way.
    Nothing happens to one that already exited (or to None)."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        kill_process(proc)


def kill_process(proc: subprocess.Popen[Any] | None) -> None:
    """SIGKILL a child started here and reap it: no handler runs, nothing is flushed,
    saved or committed (how tests and benchmarks crash a q2c process on purpose)."""
    if proc is None or proc.poll() is not None:
        return
    proc.kill()
    proc.wait()


def tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


async def first_result(
    probe: Callable[[], Awaitable[T | None]], within: float, interval: float = 0.5
) -> T:
    """The first non-None result of ``probe``, polled every ``interval`` seconds;
    TimeoutError after ``within`` seconds."""
    async with asyncio.timeout(within):
        while True:
            found = await probe()
            if found is not None:
                return found
            await asyncio.sleep(interval)
