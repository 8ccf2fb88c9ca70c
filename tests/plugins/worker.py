"""The q2c stream worker as a real process on the test broker (it can be SIGKILLed)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from q2c.core.topics import Topics
from q2c.devstack.procs import free_port, kill_process, stop_process, tail
from tests.plugins.kafka import SYSTEMS, create_q2c_topics

REPO = Path(__file__).resolve().parents[2]


@dataclass
class WorkerProcess:
    env: dict[str, str]
    log: Path
    topics: Topics
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.env['Q2C_WORKER__WEB_PORT']}"

    def start(self, wait_ready: bool = True) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "q2c", "worker"],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if wait_ready:
            self.wait_ready()

    def wait_ready(self, timeout: float = 300.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is None or self.proc.poll() is not None:
                raise AssertionError(f"the worker exited:\n{tail(self.log, 60)}")
            try:
                with urllib.request.urlopen(self.url + "/q2c/ready", timeout=2) as reply:  # noqa: S310
                    if reply.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise AssertionError(f"the worker was not ready:\n{tail(self.log, 60)}")

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final commit."""
        kill_process(self.proc)
        self.proc = None

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None


@pytest.fixture
async def sync_worker(kafka_bootstrap: str, tmp_path: Path) -> AsyncIterator[WorkerProcess]:
    """A worker with its own topic prefix, consumer group, state and web port; its topics
    exist before it starts, so tests can produce first."""
    run = uuid.uuid4().hex[:8]
    prefix = f"test{run}"
    await create_q2c_topics(kafka_bootstrap, Topics(prefix), *SYSTEMS)
    env = {
        **os.environ,
        "Q2C_KAFKA__BOOTSTRAP": kafka_bootstrap,
        "Q2C_KAFKA__TOPIC_PREFIX": prefix,
        "Q2C_KAFKA__PARTITIONS": "1",
        "Q2C_WORKER__APP_ID": f"q2c-{run}",
        "Q2C_WORKER__DATA_DIR": str(tmp_path / "state"),
        "Q2C_WORKER__WEB_PORT": str(free_port()),
        "Q2C_TELEMETRY__LOG_FORMAT": "text",
    }
    worker = WorkerProcess(env, tmp_path / "worker.log", Topics(prefix))
    yield worker
    worker.stop()
