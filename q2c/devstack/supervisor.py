"""Keeps the local stack's q2c processes running: a process that exits is started again after
a delay that doubles up to a cap, and the delay starts over once a process has stayed up a
while (a crash loop slows down; a rare crash is repaired at once).

After every change the supervisor writes what it knows of each program (pid, restarts, last
exit code, the last error line of its log) to a state file private to its owner, for
`q2c dev status`. `q2c dev up` runs it as a daemon (``python -m q2c.devstack.supervisor``);
tests run programs under the ``Supervisor`` class directly. Only the local stack needs it:
in Kubernetes the kubelet restarts containers.

Each program runs in a session of its own, so stopping one stops whatever it started too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import orjson

from q2c.core.telemetry import redact

Status = Literal["starting", "running", "backoff", "stopped"]

# The last line of a Python traceback ("KafkaConnectionError: ..."), click's "Error: ...".
_EXCEPTION_LINE = re.compile(
    r"^(?:[A-Za-z_]\w*\.)*\w*(?:Error|Exception|Exit|Interrupt)\b(?::.*)?$"
)
_ERROR_LEVEL = re.compile(r"\b(?:ERROR|CRITICAL|FATAL)\b")
# The one line a q2c command ends with when it gives up (its own, or click's usage error).
_EXIT_LINE = re.compile(r"^(?:q2c|Error): ")
_LOGGING_ERROR = re.compile(r"^--- Logging error ---$.*?^Arguments: .*?$", re.M | re.S)
_LOG_WINDOW = 256 * 1024  # bytes of a run's log searched for its last error
_MAX_LINE = 300

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Program:
    """A command to keep running; ``env`` is added to the supervisor's own environment."""

    name: str
    argv: Sequence[str]
    log: Path
    env: Mapping[str, str] = field(default_factory=dict)
    cwd: Path | None = None


@dataclass(frozen=True)
class Backoff:
    """Seconds before a restart: ``first``, times ``factor`` after each quick exit, at most
    ``cap``; back to ``first`` when the process had been up ``reset_after`` seconds."""

    first: float = 1.0
    factor: float = 2.0
    cap: float = 30.0
    reset_after: float = 60.0

    def delay(self, previous: float | None, uptime: float) -> float:
        """The wait before the next start, after a run of ``uptime`` seconds that followed
        a wait of ``previous`` (None: the first exit)."""
        if previous is None or uptime >= self.reset_after:
            return min(self.first, self.cap)
        return min(previous * self.factor, self.cap)


@dataclass
class ProgramState:
    status: Status = "starting"
    pid: int | None = None
    restarts: int = 0
    last_exit: int | None = None
    last_error: str | None = None
    since: float | None = None  # wall-clock time of the last start
    next_start: float | None = None  # wall-clock time of the pending restart


def error_line(text: str) -> str | None:
    """The last line of ``text`` that reads as an error: the line a q2c command ends with,
    a traceback's final line, a log record at level ERROR or above (a JSON record's
    exception, else its message). What the logging module prints when it fails to write a
    record at interpreter shutdown is left out: it buries the error the process died of."""
    for raw in reversed(_LOGGING_ERROR.sub("", text).splitlines()):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("{"):
            found = _json_error(line)
            if found:
                return _clip(found)
            continue
        if _EXIT_LINE.match(line) or _EXCEPTION_LINE.match(line) or _ERROR_LEVEL.search(line):
            return _clip(line)
    return None


def _json_error(line: str) -> str | None:
    try:
        record = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(record, dict):
        return None
    if str(record.get("level", "")).upper() not in {"ERROR", "CRITICAL"}:
        return None
    exc = str(record.get("exc") or "").strip()
    if exc:
        return exc.splitlines()[-1]
    return f"{record['level']} {record.get('msg', '')}"


def _clip(line: str) -> str:
    line = redact(line)
    return line if len(line) <= _MAX_LINE else line[: _MAX_LINE - 3] + "..."


def last_error_in(log: Path, since: int = 0) -> str | None:
    """The last error line ``log`` gained after byte offset ``since``."""
    try:
        with log.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(since, size - _LOG_WINDOW))
            return error_line(handle.read().decode(errors="replace"))
    except OSError:
        return None


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


class Supervisor:
    """Runs ``programs`` until ``run``'s stop event is set, restarting each when it exits."""

    def __init__(
        self,
        programs: Sequence[Program],
        state_file: Path | None = None,
        backoff: Backoff | None = None,
        grace: float = 30.0,
    ) -> None:
        names = [p.name for p in programs]
        if len(set(names)) != len(names):
            raise ValueError(f"program names must be unique: {names}")
        self.programs = list(programs)
        self.state_file = state_file
        self.backoff = backoff or Backoff()
        self.grace = grace
        self.states = {p.name: ProgramState() for p in programs}

    async def run(self, stop: asyncio.Event) -> None:
        """Start every program, keep them running, and stop them all once ``stop`` is set."""
        self._save()
        async with asyncio.TaskGroup() as group:
            for program in self.programs:
                group.create_task(self._keep_running(program, stop), name=program.name)

    async def _keep_running(self, program: Program, stop: asyncio.Event) -> None:
        state = self.states[program.name]
        delay: float | None = None
        while not stop.is_set():
            offset = _size(program.log)
            started = time.monotonic()
            try:
                proc = await self._spawn(program)
            except OSError as exc:  # a missing program or directory: tried again later
                state.last_exit, state.last_error = None, _clip(f"cannot start: {exc}")
            else:
                state.status, state.pid, state.since = "running", proc.pid, time.time()
                state.next_start = None
                self._save()
                code = await self._wait_or_stop(proc, stop)
                state.pid, state.last_exit = None, code
                state.last_error = last_error_in(program.log, offset) or state.last_error
            if stop.is_set():
                break
            delay = self.backoff.delay(delay, time.monotonic() - started)
            log.warning(
                "%s exited (%s; last error: %s); starting it again in %.1fs",
                program.name,
                state.last_exit,
                state.last_error,
                delay,
            )
            state.status, state.next_start = "backoff", time.time() + delay
            self._save()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), delay)
            if not stop.is_set():
                state.restarts += 1
        state.status, state.next_start = "stopped", None
        self._save()

    async def _spawn(self, program: Program) -> asyncio.subprocess.Process:
        program.log.parent.mkdir(parents=True, exist_ok=True)
        with program.log.open("ab") as log:
            return await asyncio.create_subprocess_exec(
                *program.argv,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **program.env},
                cwd=program.cwd,
                start_new_session=True,
            )

    async def _wait_or_stop(self, proc: asyncio.subprocess.Process, stop: asyncio.Event) -> int:
        exited = asyncio.ensure_future(proc.wait())
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait([exited, stopping], return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not exited.done():
            await self._terminate(proc, exited)
        return await exited

    async def _terminate(
        self, proc: asyncio.subprocess.Process, exited: asyncio.Future[int]
    ) -> None:
        """SIGTERM the program's process group; SIGKILL it after the grace period."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, sig)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(exited), self.grace)
                return

    def snapshot(self) -> dict[str, Any]:
        return {
            "pid": os.getpid(),
            "programs": {name: asdict(state) for name, state in self.states.items()},
        }

    def _save(self) -> None:
        if self.state_file is not None:
            write_private(self.state_file, self.snapshot())


def write_private(path: Path, data: Mapping[str, Any]) -> None:
    """Write ``data`` as JSON, readable by its owner only, replacing the file atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
    tmp.replace(path)


def read_state(path: Path) -> dict[str, Any]:
    """A supervisor's state file; empty when there is none."""
    try:
        data: dict[str, Any] = orjson.loads(path.read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return {}
    return data


# The daemon: `python -m q2c.devstack.supervisor PROGRAMS STATE`.


def programs_from(spec: Mapping[str, Any]) -> tuple[list[Program], Backoff]:
    programs = [
        Program(
            name=str(p["name"]),
            argv=[str(a) for a in p["argv"]],
            log=Path(p["log"]),
            env={str(k): str(v) for k, v in p.get("env", {}).items()},
            cwd=Path(p["cwd"]) if p.get("cwd") else None,
        )
        for p in spec["programs"]
    ]
    return programs, Backoff(**spec.get("backoff", {}))


def spec_of(programs: Sequence[Program], backoff: Backoff) -> dict[str, Any]:
    """The JSON form of ``programs`` the daemon reads (it holds credentials: keep it private)."""
    return {
        "programs": [
            {
                "name": p.name,
                "argv": list(p.argv),
                "log": str(p.log),
                "env": dict(p.env),
                "cwd": str(p.cwd) if p.cwd else None,
            }
            for p in programs
        ],
        "backoff": asdict(backoff),
    }


async def _serve(programs: list[Program], backoff: Backoff, state_file: Path) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, stop.set)
    await Supervisor(programs, state_file, backoff).run(stop)


def main(argv: Iterator[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m q2c.devstack.supervisor",
        description="Run the programs of a JSON spec, restarting each when it exits.",
    )
    parser.add_argument("programs", type=Path, help="the JSON spec of the programs")
    parser.add_argument("state", type=Path, help="where to write the programs' state")
    args = parser.parse_args(list(argv) if argv is not None else None)
    programs, backoff = programs_from(orjson.loads(args.programs.read_bytes()))
    asyncio.run(_serve(programs, backoff, args.state))


if __name__ == "__main__":
    main()
