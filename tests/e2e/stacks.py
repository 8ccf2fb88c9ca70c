"""What every end-to-end stack has, whatever its CRM and ERP: the worker and the connectors
as real processes, their environment, and the ways a test waits on them and reads them."""

from __future__ import annotations

import asyncio
import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, TypeVar

from q2c.devstack.procs import first_result, free_port, kill_process, stop_process, tail
from tests.plugins.worker import REPO, WorkerProcess

T = TypeVar("T")


@dataclass
class ConnectorProcess:
    system: str
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "q2c", "connector", "run", self.system],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    def kill(self) -> None:
        kill_process(self.proc)
        self.proc = None

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


class StackBase:
    """The processes of a stack and what a test does with them; each stack class adds its
    peers' clients as fields of its own."""

    worker: WorkerProcess
    connectors: dict[str, ConnectorProcess]
    env: dict[str, str]
    patience: ClassVar[float] = 180.0
    """How long ``eventually`` waits unless told."""

    def q2c(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a `q2c` command against this stack."""
        return subprocess.run(
            [sys.executable, "-m", "q2c", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def diagnostics(self) -> str:
        parts = [f"--- worker\n{tail(self.worker.log, 40)}"]
        parts += [f"--- {name}\n{tail(c.log, 40)}" for name, c in self.connectors.items()]
        return "\n".join(parts)

    async def eventually(
        self, probe: Callable[[], Awaitable[T | None]], what: str, within: float | None = None
    ) -> T:
        """The first non-None result of ``probe``, polled until ``within`` seconds pass."""
        try:
            return await first_result(probe, self.patience if within is None else within)
        except TimeoutError:
            raise AssertionError(f"never happened: {what}\n{self.diagnostics()}") from None


POLL_INTERVAL = "2"
"""Seconds between a stack's Tryton polls and BottleCRM scans: each poll or scan reads every
stream, and while a stack runs its peers spend most of their CPU answering them."""


def base_env(bootstrap: str, tmp_path: Path, prefix: str = "e2e") -> dict[str, str]:
    """The environment every stack's q2c processes share: their own topics, consumer
    group, state and web port on the test broker."""
    run = uuid.uuid4().hex[:8]
    return {
        **os.environ,
        "Q2C_KAFKA__BOOTSTRAP": bootstrap,
        "Q2C_KAFKA__TOPIC_PREFIX": f"{prefix}{run}",
        "Q2C_KAFKA__PARTITIONS": "1",
        "Q2C_DEV__STATE_DIR": str(tmp_path / "state"),
        "Q2C_WORKER__APP_ID": f"q2c-{run}",
        "Q2C_WORKER__DATA_DIR": str(tmp_path / "worker"),
        "Q2C_WORKER__WEB_PORT": str(free_port()),
        "Q2C_WORKER__ADMIN_TOKEN": secrets.token_urlsafe(24),
        "Q2C_TELEMETRY__LOG_FORMAT": "text",
    }


def connector_processes(
    env: dict[str, str], systems: Iterable[str], logs: Path
) -> dict[str, ConnectorProcess]:
    """One connector process per system, each serving health, readiness and metrics on
    its own port."""
    return {
        system: ConnectorProcess(
            system,
            {**env, "Q2C_CONNECTOR__WEB_PORT": str(free_port())},
            logs / f"connector-{system}.log",
        )
        for system in systems
    }


@asynccontextmanager
async def running(
    worker: WorkerProcess, connectors: dict[str, ConnectorProcess]
) -> AsyncIterator[None]:
    """The worker and the connectors started side by side (each creates the topics it
    needs, so none waits for another), the worker ready on entry. On exit they are killed,
    whatever a test did to them meanwhile: the stack's topics, group and state are its own
    and nothing reads them afterwards, so a graceful stop (seconds of the worker closing its
    tables) would only add time. A test that checks a graceful stop calls ``stop()``."""
    worker.start(wait_ready=False)
    for connector in connectors.values():
        connector.start()
    try:
        await asyncio.to_thread(worker.wait_ready)
        yield
    finally:
        for connector in connectors.values():
            connector.kill()
        worker.kill()
