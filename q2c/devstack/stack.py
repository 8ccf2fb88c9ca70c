"""`q2c dev up` / `q2c dev down`: start and stop the local stack, record it in stack.json.

Each component is started at most once: ``up`` reuses a component whose process is alive
and healthy, so running it twice is safe. ``stack.json`` is rewritten after every component,
so a failed ``up`` can still be taken down.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from q2c.devstack import bottlecrm, kafka, procs, tryton
from q2c.devstack.errors import DevStackError
from q2c.settings import Settings

Entry = dict[str, Any]
Report = Callable[[str], None]


@dataclass(frozen=True)
class StackFiles:
    state_dir: Path

    @property
    def stack_json(self) -> Path:
        return self.state_dir / "stack.json"

    @property
    def logs(self) -> Path:
        return self.state_dir / "logs"

    def load(self) -> dict[str, Entry]:
        try:
            data: dict[str, Entry] = orjson.loads(self.stack_json.read_bytes())
        except FileNotFoundError:
            return {}
        return data

    def save(self, stack: dict[str, Entry]) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.stack_json.with_suffix(".tmp")
        tmp.write_bytes(orjson.dumps(stack, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS))
        os.chmod(tmp, 0o600)  # holds credentials
        tmp.replace(self.stack_json)


class Component:
    """One process of the local stack."""

    name: str = ""

    def start(self, settings: Settings, files: StackFiles, stack: dict[str, Entry]) -> Entry:
        raise NotImplementedError

    def healthy(self, entry: Entry) -> bool:
        raise NotImplementedError

    def describe(self, entry: Entry) -> Iterator[str]:
        yield from ()


class KafkaComponent(Component):
    name = "kafka"

    def start(self, settings: Settings, files: StackFiles, stack: dict[str, Entry]) -> Entry:
        libs = kafka.ensure_jars(settings.dev.cache_dir, settings.dev.kafka_version)
        broker = kafka.KafkaBroker(
            libs=libs, data_dir=files.state_dir / "kafka", port=settings.dev.kafka_port
        )
        broker.start()
        return {
            "bootstrap": broker.bootstrap,
            "pid": broker.pid,
            "version": settings.dev.kafka_version,
            "data_dir": str(broker.data_dir),
            "log": str(broker.log_file),
        }

    def healthy(self, entry: Entry) -> bool:
        import asyncio

        return bool(
            entry.get("pid")
            and procs.pid_alive(int(entry["pid"]))
            and asyncio.run(kafka.broker_answers(str(entry["bootstrap"])))
        )

    def describe(self, entry: Entry) -> Iterator[str]:
        yield f"Kafka {entry['version']}  bootstrap {entry['bootstrap']}  (log: {entry['log']})"


class WorkerComponent(Component):
    """The q2c stream workers, run as `q2c worker` against the local broker."""

    name = "worker"

    def start(self, settings: Settings, files: StackFiles, stack: dict[str, Entry]) -> Entry:
        web_port = procs.claim_port(settings.worker.web_port, "the q2c worker's web endpoint")
        env = dict(os.environ)
        env["Q2C_KAFKA__BOOTSTRAP"] = stack["kafka"]["bootstrap"]
        env["Q2C_WORKER__WEB_PORT"] = str(web_port)
        env["Q2C_WORKER__DATA_DIR"] = str((files.state_dir / "worker").resolve())
        env["Q2C_DEV__STATE_DIR"] = str(files.state_dir)
        log = files.logs / "worker.log"
        proc = procs.spawn([sys.executable, "-m", "q2c", "worker"], log, env=env)
        url = f"http://127.0.0.1:{web_port}"
        entry: Entry = {"pid": proc.pid, "url": url, "log": str(log)}
        _wait_http(f"{url}/q2c/ready", proc, log)
        return entry

    def healthy(self, entry: Entry) -> bool:
        return bool(entry.get("pid") and procs.pid_alive(int(entry["pid"])))

    def describe(self, entry: Entry) -> Iterator[str]:
        yield f"q2c worker  {entry['url']}  health /q2c/health  metrics /q2c/metrics"
        yield f"            (log: {entry['log']})"


class BottleCrmComponent(Component):
    """The BottleCRM CRM server, with an org and a token for q2c (q2c.devstack.bottlecrm)."""

    name = "bottlecrm"

    def start(self, settings: Settings, files: StackFiles, stack: dict[str, Entry]) -> Entry:
        return bottlecrm.start_stack_entry(
            settings.dev.cache_dir, files.state_dir, files.logs / "bottlecrm.log"
        )

    def healthy(self, entry: Entry) -> bool:
        return bottlecrm.healthy(entry)

    def describe(self, entry: Entry) -> Iterator[str]:
        return bottlecrm.describe(entry)


class TrytonComponent(Component):
    """The Tryton ERP server with the company set up (q2c.devstack.tryton)."""

    name = "tryton"

    def start(self, settings: Settings, files: StackFiles, stack: dict[str, Entry]) -> Entry:
        return tryton.start_stack_entry(settings.dev.cache_dir, files.state_dir)

    def healthy(self, entry: Entry) -> bool:
        return tryton.healthy(entry)

    def describe(self, entry: Entry) -> Iterator[str]:
        return tryton.describe(entry)


class ConnectorComponent(Component):
    """`q2c connector run SYSTEM` against the local broker and the local peer."""

    def __init__(self, system: str) -> None:
        self.system = system
        self.name = f"connector-{system}"

    def start(self, settings: Settings, files: StackFiles, stack: dict[str, Entry]) -> Entry:
        import time

        env = dict(os.environ)
        env["Q2C_KAFKA__BOOTSTRAP"] = stack["kafka"]["bootstrap"]
        env["Q2C_DEV__STATE_DIR"] = str(files.state_dir)
        log = files.logs / f"{self.name}.log"
        start = log.stat().st_size if log.exists() else 0
        proc = procs.spawn(
            [sys.executable, "-m", "q2c", "connector", "run", self.system, "--dev"], log, env=env
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise DevStackError(f"the {self.system} connector exited:\n{procs.tail(log)}")
            with log.open("rb") as handle:
                handle.seek(start)
                if b"running" in handle.read():
                    break
            time.sleep(0.3)
        else:
            raise DevStackError(f"the {self.system} connector did not start:\n{procs.tail(log)}")
        return {"pid": proc.pid, "system": self.system, "log": str(log)}

    def healthy(self, entry: Entry) -> bool:
        return bool(entry.get("pid") and procs.pid_alive(int(entry["pid"])))

    def describe(self, entry: Entry) -> Iterator[str]:
        yield f"{self.system} connector  (log: {entry['log']})"


def _wait_http(url: str, proc: Any, log: Path, timeout: float = 120.0) -> None:
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DevStackError(f"the q2c worker exited during start-up:\n{procs.tail(log)}")
        try:
            with urllib.request.urlopen(url, timeout=2) as reply:  # noqa: S310 - loopback URL
                if reply.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise DevStackError(f"the q2c worker was not ready at {url} within {timeout:.0f}s")


COMPONENTS: list[Component] = [
    KafkaComponent(),
    BottleCrmComponent(),
    TrytonComponent(),
    WorkerComponent(),
    ConnectorComponent("tryton"),
    ConnectorComponent("bottlecrm"),
]


def up(settings: Settings, report: Report, components: list[Component] | None = None) -> None:
    files = StackFiles(settings.dev.state_dir)
    stack = files.load()
    for component in components or COMPONENTS:
        entry = stack.get(component.name)
        if entry is not None and component.healthy(entry):
            report(f"{component.name}: already running")
            continue
        if entry is not None and entry.get("pid"):
            procs.stop_pid(int(entry["pid"]))
        report(f"{component.name}: starting")
        stack[component.name] = component.start(settings, files, stack)
        if component.name == "worker":
            stack["console_url"] = stack[component.name]["url"] + "/q2c/console/"
        files.save(stack)
    report(f"stack written to {files.stack_json}")
    for line in describe(settings):
        report(line)


def describe(settings: Settings) -> list[str]:
    stack = StackFiles(settings.dev.state_dir).load()
    lines: list[str] = []
    for component in COMPONENTS:
        entry = stack.get(component.name)
        if entry is None:
            continue
        state = "up" if component.healthy(entry) else "DOWN"
        for i, line in enumerate(component.describe(entry)):
            lines.append(f"[{state:>4}] {line}" if i == 0 else f"       {line}")
    return lines


def down(settings: Settings, report: Report) -> None:
    files = StackFiles(settings.dev.state_dir)
    stack = files.load()
    for component in reversed(COMPONENTS):
        entry = stack.get(component.name)
        if entry is None:
            continue
        if entry.get("pid"):
            report(f"{component.name}: stopping (pid {entry['pid']})")
            procs.stop_pid(int(entry["pid"]))
        del stack[component.name]
        files.save(stack)
    stack.pop("console_url", None)
    files.stack_json.unlink(missing_ok=True)
    report("local stack stopped")
