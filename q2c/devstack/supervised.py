"""q2c's own processes in the local stack (the worker, the connectors), run under the
supervisor daemon (q2c.devstack.supervisor), which restarts whichever exits.

``supervise`` reuses a running supervisor whose programs are what ``up`` would start now,
so running ``up`` twice is safe; anything else (a changed broker address, say) replaces it.
The worker's admin token is made once per state directory and kept across restarts.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import orjson

from q2c.core.settings import Settings
from q2c.devstack import procs
from q2c.devstack.component import Component, Entry, Report, StackFiles
from q2c.devstack.errors import DevStackError
from q2c.devstack.supervisor import Backoff, Program, read_state, spec_of, write_private

SUPERVISOR = "supervisor"
BACKOFF = Backoff(first=1.0, factor=2.0, cap=30.0, reset_after=60.0)


class SupervisedComponent(Component):
    """A q2c process run under the stack's supervisor, which restarts it when it exits."""

    def prepare(self, settings: Settings, files: StackFiles, stack: dict[str, Entry]) -> Entry:
        """Its stack.json entry, chosen before it starts (its port, say)."""
        raise NotImplementedError

    def program(self, files: StackFiles, stack: dict[str, Entry], entry: Entry) -> Program:
        raise NotImplementedError

    def started(self, entry: Entry, log_offset: int) -> bool:
        """True once the process started since ``log_offset`` of its log serves."""
        raise NotImplementedError

    def start(self, settings: Settings, files: StackFiles, stack: dict[str, Entry]) -> Entry:
        raise DevStackError(f"{self.name} runs under the supervisor; `up` starts it")

    def healthy(self, entry: Entry) -> bool:
        return False  # only the supervisor knows: see status()

    def status(self, entry: Entry, programs: dict[str, Entry]) -> tuple[bool, list[str]]:
        state = programs.get(self.name, {})
        pid = state.get("pid")
        up = state.get("status") == "running" and pid is not None and procs.pid_alive(int(pid))
        facts = [f"pid {pid if up else '-'}", f"restarts {state.get('restarts', 0)}"]
        if state.get("last_exit") is not None:
            facts.append(f"last exit {state['last_exit']}")
        if state.get("status") == "backoff" and state.get("next_start"):
            facts.append(f"restarting in {max(0.0, state['next_start'] - time.time()):.0f}s")
        lines = ["  ".join(facts)]
        if state.get("last_error"):
            lines.append(f"last error: {state['last_error']}")
        return up, lines


def _q2c_env(files: StackFiles, stack: dict[str, Entry]) -> dict[str, str]:
    return {
        "Q2C_KAFKA__BOOTSTRAP": str(stack["kafka"]["bootstrap"]),
        "Q2C_DEV__STATE_DIR": str(files.state_dir),
    }


class WorkerComponent(SupervisedComponent):
    """The q2c stream workers, run as `q2c worker` against the local broker."""

    name = "worker"

    def prepare(self, settings: Settings, files: StackFiles, stack: dict[str, Entry]) -> Entry:
        port = worker_port(settings)
        crm, erp = settings.dev.systems()
        return {
            "url": f"http://127.0.0.1:{port}",
            "log": str(files.logs / "worker.log"),
            "admin_token": admin_token(files),
            "crm": crm,
            "erp": erp,
        }

    def program(self, files: StackFiles, stack: dict[str, Entry], entry: Entry) -> Program:
        env = _q2c_env(files, stack)
        # The sync's CRM and ERP are the systems the stack runs (`q2c dev up --crm/--erp`).
        env["Q2C_SYNC__CRM_SYSTEM"] = str(entry.get("crm", "bottlecrm"))
        env["Q2C_SYNC__ERP_SYSTEM"] = str(entry.get("erp", "tryton"))
        env["Q2C_WORKER__WEB_PORT"] = str(entry["url"]).rsplit(":", 1)[1]
        env["Q2C_WORKER__DATA_DIR"] = str(files.state_dir / "worker")
        env["Q2C_WORKER__ADMIN_TOKEN"] = str(entry["admin_token"])
        return Program(
            self.name, [sys.executable, "-m", "q2c", "worker", "--dev"], Path(entry["log"]), env
        )

    def started(self, entry: Entry, log_offset: int) -> bool:
        return _answers_200(f"{entry['url']}/q2c/ready")

    def describe(self, entry: Entry) -> Iterator[str]:
        yield f"q2c worker  {entry['url']}  health /q2c/health  metrics /q2c/metrics"
        yield f"(log: {entry['log']}; admin token in stack.json)"


class ConnectorComponent(SupervisedComponent):
    """`q2c connector run SYSTEM` against the local broker and the local peer."""

    def __init__(self, system: str) -> None:
        self.system = system
        self.name = f"connector-{system}"

    def wanted(self, settings: Settings) -> bool:
        return self.system in settings.dev.systems()

    def prepare(self, settings: Settings, files: StackFiles, stack: dict[str, Entry]) -> Entry:
        return {"system": self.system, "log": str(files.logs / f"{self.name}.log")}

    def program(self, files: StackFiles, stack: dict[str, Entry], entry: Entry) -> Program:
        argv = [sys.executable, "-m", "q2c", "connector", "run", self.system, "--dev"]
        return Program(self.name, argv, Path(entry["log"]), _q2c_env(files, stack))

    def started(self, entry: Entry, log_offset: int) -> bool:
        with contextlib.suppress(OSError), Path(entry["log"]).open("rb") as handle:
            handle.seek(log_offset)
            return b"running" in handle.read()
        return False

    def describe(self, entry: Entry) -> Iterator[str]:
        yield f"{self.system} connector"
        yield f"(log: {entry['log']})"


def worker_port(settings: Settings) -> int:
    """The configured port; when it is only the default and taken (another checkout's
    stack, say), a free one."""
    port = settings.worker.web_port
    if "web_port" in settings.worker.model_fields_set or procs.port_is_free(port):
        return procs.claim_port(port, "the q2c worker's web endpoint")
    return procs.free_port()


def admin_token(files: StackFiles) -> str:
    """The worker's admin token, made once per state directory."""
    with contextlib.suppress(FileNotFoundError):
        return files.admin_token.read_text().strip()
    token = secrets.token_urlsafe(32)
    files.state_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(files.admin_token, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token)
    return token


def _answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:  # noqa: S310 - loopback URL
            return bool(reply.status == 200)
    except OSError:
        return False


def supervised_programs(files: StackFiles) -> dict[str, Entry]:
    """What the supervisor last said of each program (also after it died: why it died may
    be there)."""
    programs: dict[str, Entry] = read_state(files.supervisor_state).get("programs", {})
    return programs


def stop_supervisor(files: StackFiles, stack: dict[str, Entry], report: Report) -> None:
    """Stop the supervisor (it stops its programs), then any program it left behind."""
    sup = stack.pop(SUPERVISOR, None)
    if sup is not None and procs.pid_alive(int(sup["pid"])):
        report(f"supervisor: stopping (pid {sup['pid']})")
        procs.stop_pid(int(sup["pid"]), grace=60.0)  # it gives each program 30 s
    for name, state in read_state(files.supervisor_state).get("programs", {}).items():
        if state.get("pid") and procs.pid_alive(int(state["pid"])):
            report(f"{name}: stopping (pid {state['pid']})")
            procs.stop_pid(int(state["pid"]))
    files.supervisor_state.unlink(missing_ok=True)
    files.programs.unlink(missing_ok=True)


def supervise(
    settings: Settings,
    files: StackFiles,
    stack: dict[str, Entry],
    components: list[SupervisedComponent],
    report: Report,
) -> None:
    """Run ``components`` under the supervisor daemon: the running one when it runs the
    same programs, else a new one."""
    sup = stack.get(SUPERVISOR)
    if sup is not None and procs.pid_alive(int(sup["pid"])) and files.programs.exists():
        entries = {c.name: stack.get(c.name) for c in components}
        if all(entries.values()):
            programs = [c.program(files, stack, entries[c.name] or {}) for c in components]
            wanted = spec_of(programs, BACKOFF)
            if orjson.loads(files.programs.read_bytes()) == orjson.loads(orjson.dumps(wanted)):
                for component in components:
                    report(f"{component.name}: already running (supervised)")
                return
    stop_supervisor(files, stack, report)
    entries = {}
    for component in components:
        entries[component.name] = component.prepare(settings, files, stack)
    programs = [c.program(files, stack, entries[c.name] or {}) for c in components]
    offsets = {p.name: p.log.stat().st_size if p.log.exists() else 0 for p in programs}
    write_private(files.programs, spec_of(programs, BACKOFF))
    log = files.logs / "supervisor.log"
    argv = [sys.executable, "-m", "q2c.devstack.supervisor"]
    proc = procs.spawn([*argv, str(files.programs), str(files.supervisor_state)], log)
    stack[SUPERVISOR] = {"pid": proc.pid, "log": str(log), "state": str(files.supervisor_state)}
    for component in components:
        report(f"{component.name}: starting (supervised)")
        stack[component.name] = entries[component.name] or {}
    if "worker" in stack:
        stack["console_url"] = stack["worker"]["url"] + "/q2c/console/"
    files.save(stack)
    _wait_started(files, proc, components, stack, offsets)


def _wait_started(
    files: StackFiles,
    supervisor: subprocess.Popen[bytes],
    components: list[SupervisedComponent],
    stack: dict[str, Entry],
    offsets: dict[str, int],
    timeout: float = 120.0,
) -> None:
    """Wait until every component serves; a clear error when one exits during start-up."""
    waiting = list(components)
    deadline = time.monotonic() + timeout
    while waiting and time.monotonic() < deadline:
        if supervisor.poll() is not None:
            log = Path(stack[SUPERVISOR]["log"])
            raise DevStackError(f"the supervisor exited:\n{procs.tail(log)}")
        programs = read_state(files.supervisor_state).get("programs", {})
        for component in list(waiting):
            entry = stack[component.name]
            state = programs.get(component.name, {})
            if state.get("last_exit") is not None or state.get("restarts"):
                raise DevStackError(
                    f"{component.name} exited during start-up (exit {state.get('last_exit')}; "
                    f"the supervisor keeps restarting it, `q2c dev down` stops it):\n"
                    f"{procs.tail(Path(entry['log']))}"
                )
            if state.get("status") == "running" and component.started(
                entry, offsets[component.name]
            ):
                waiting.remove(component)
        time.sleep(0.3)
    if waiting:
        names = ", ".join(c.name for c in waiting)
        raise DevStackError(f"not started within {timeout:.0f}s: {names}")
