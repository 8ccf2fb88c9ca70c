"""The whole of q2c on the real peers: a fresh Tryton database and BottleCRM org per test,
the real broker, and the worker and both connectors as real processes."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

import pytest

from connectors.bottlecrm.client import BottleCrmClient
from connectors.tryton.client import TrytonClient
from q2c.core.topics import Topics
from q2c.devstack.bottlecrm import OrgAccess
from q2c.devstack.procs import first_result, free_port, kill_process, stop_process, tail
from tests.plugins.tryton import TrytonPeer
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


@dataclass
class Stack:
    topics: Topics
    bootstrap: str
    worker: WorkerProcess
    connectors: dict[str, ConnectorProcess]
    erp: TrytonClient
    crm: BottleCrmClient
    records: dict[str, int]
    logs: Path
    env: dict[str, str]

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
        for name, connector in self.connectors.items():
            parts.append(f"--- {name}\n{tail(connector.log, 40)}")
        return "\n".join(parts)

    async def eventually(
        self, probe: Callable[[], Awaitable[T | None]], what: str, within: float = 180.0
    ) -> T:
        """The first non-None result of ``probe``, polled until ``within`` seconds pass."""
        try:
            return await first_result(probe, within)
        except TimeoutError:
            raise AssertionError(f"never happened: {what}\n{self.diagnostics()}") from None


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "q2c_env(**vars): extra Q2C_* variables for the stack of an end-to-end test"
    )


def stack_env(
    bootstrap: str, tryton_db: TrytonPeer, bottlecrm_org: OrgAccess, tmp_path: Path
) -> dict[str, str]:
    """The environment of a stack's q2c processes: its own topics, group, state and port."""
    run = uuid.uuid4().hex[:8]
    prefix = f"e2e{run}"
    erp = tryton_db.settings()
    return {
        **os.environ,
        "Q2C_KAFKA__BOOTSTRAP": bootstrap,
        "Q2C_KAFKA__TOPIC_PREFIX": prefix,
        "Q2C_KAFKA__PARTITIONS": "1",
        "Q2C_DEV__STATE_DIR": str(tmp_path / "state"),
        "Q2C_WORKER__APP_ID": f"q2c-{run}",
        "Q2C_WORKER__DATA_DIR": str(tmp_path / "worker"),
        "Q2C_WORKER__WEB_PORT": str(free_port()),
        "Q2C_WORKER__ADMIN_TOKEN": secrets.token_urlsafe(24),
        "Q2C_TELEMETRY__LOG_FORMAT": "text",
        "Q2C_TRYTON__URL": erp.url,
        "Q2C_TRYTON__DATABASE": erp.database,
        "Q2C_TRYTON__USER": erp.user,
        "Q2C_TRYTON__PASSWORD": erp.password.get_secret_value(),
        "Q2C_TRYTON__POLL_INTERVAL": "1",
        "Q2C_BOTTLECRM__URL": bottlecrm_org.url,
        "Q2C_BOTTLECRM__TOKEN": bottlecrm_org.token.get_secret_value(),
        "Q2C_BOTTLECRM__JWT": bottlecrm_org.jwt.get_secret_value(),
        "Q2C_BOTTLECRM__SCAN_INTERVAL": "1",
    }


@pytest.fixture
async def stack(
    request: pytest.FixtureRequest,
    kafka_bootstrap: str,
    tryton_db: TrytonPeer,
    bottlecrm_org: OrgAccess,
    tmp_path: Path,
) -> AsyncIterator[Stack]:
    env = stack_env(kafka_bootstrap, tryton_db, bottlecrm_org, tmp_path)
    prefix = env["Q2C_KAFKA__TOPIC_PREFIX"]
    erp = tryton_db.settings()
    if "otlp_collector" in request.fixturenames:  # the test follows traces: export them
        env["Q2C_TELEMETRY__OTLP_ENDPOINT"] = request.getfixturevalue("otlp_collector").url
    marker = request.node.get_closest_marker("q2c_env")
    if marker is not None:
        env.update({str(k): str(v) for k, v in marker.kwargs.items()})
    worker = WorkerProcess(env, tmp_path / "worker.log", Topics(prefix))
    connectors = {
        system: ConnectorProcess(
            system,
            # Each connector serves health, readiness and metrics on its own port.
            {**env, "Q2C_CONNECTOR__WEB_PORT": str(free_port())},
            tmp_path / f"connector-{system}.log",
        )
        for system in ("tryton", "bottlecrm")
    }
    worker.start()
    for connector in connectors.values():
        connector.start()
    try:
        async with (
            TrytonClient(erp) as erp_client,
            BottleCrmClient(bottlecrm_org.settings()) as crm,
        ):
            yield Stack(
                Topics(prefix),
                kafka_bootstrap,
                worker,
                connectors,
                erp_client,
                crm,
                tryton_db.records,
                tmp_path,
                env,
            )
    finally:
        for connector in connectors.values():
            connector.stop()
        worker.stop()
