"""Effectively once across a broker restart, on the real peers: deals closed won before,
during and after the local broker is stopped (or SIGKILLed) and started again (same port,
same data) each become exactly one confirmed Tryton sale, with the worker and both
connectors run under the local stack's supervisor, so nothing needs a manual restart: the
processes ride out the outage, and those killed during it (they cannot start without the
broker) are started again until they can.

The broker is this test's own: the session's broker is shared by every other test.
"""

from __future__ import annotations

import asyncio
import functools
import os
import signal
import sys
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from connectors.bottlecrm.client import BottleCrmClient
from connectors.tryton.client import TrytonClient
from q2c.core.settings import Settings
from q2c.core.topics import Topics
from q2c.devstack.bottlecrm import OrgAccess
from q2c.devstack.kafka import KafkaBroker, ensure_jars
from q2c.devstack.procs import pid_alive
from q2c.devstack.supervisor import Backoff, Program, Supervisor
from tests.e2e.conftest import ConnectorProcess, Stack, stack_env
from tests.e2e.helpers import (
    account_in_both,
    crm_product,
    make_item,
    one_confirmed_sale_each,
    won_deal,
)
from tests.plugins.tryton import TrytonPeer
from tests.plugins.worker import REPO, WorkerProcess

pytestmark = pytest.mark.integration

BEFORE, DURING, AFTER = 3, 3, 2  # deals closed won around the outage
SYSTEMS = ("tryton", "bottlecrm")
OUTAGE_SIGNS = (b"Unable connect to node", b"NodeNotReadyError", b"KafkaConnectionError")


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[KafkaBroker]:
    settings = Settings()
    libs = ensure_jars(settings.dev.cache_dir, settings.dev.kafka_version)
    broker = KafkaBroker(libs=libs, data_dir=tmp_path / "kafka")
    broker.start()
    try:
        yield broker
    finally:
        broker.stop()


class Supervised:
    """The worker and both connectors under a ``Supervisor``, as `q2c dev up` runs them."""

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.worker_url = f"http://127.0.0.1:{env['Q2C_WORKER__WEB_PORT']}"
        argv = [sys.executable, "-m", "q2c"]
        programs = [Program("worker", [*argv, "worker"], logs / "worker.log", env, REPO)]
        programs += [
            Program(
                f"connector-{system}",
                [*argv, "connector", "run", system],
                logs / f"connector-{system}.log",
                env,
                REPO,
            )
            for system in SYSTEMS
        ]
        # Quick restarts: the broker is back within seconds, and the test waits for it.
        self.supervisor = Supervisor(
            programs, logs / "supervisor.json", Backoff(first=0.5, cap=4.0, reset_after=20.0)
        )
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self.supervisor.run(self._stop))

    async def stop(self) -> None:
        self._stop.set()
        if self._task is not None:
            await self._task

    def worker_ready(self) -> bool:
        try:
            with urllib.request.urlopen(self.worker_url + "/q2c/ready", timeout=2) as reply:  # noqa: S310
                return bool(reply.status == 200)
        except OSError:
            return False

    def all_running(self) -> bool:
        states = self.supervisor.states.values()
        return all(s.status == "running" and s.pid and pid_alive(s.pid) for s in states)

    def log_sizes(self) -> dict[Path, int]:
        return {p.log: p.log.stat().st_size for p in self.supervisor.programs}

    def all_saw_outage(self, since: dict[Path, int]) -> bool:
        """True when every program's log says, after ``since``, it cannot reach the broker."""
        for log, offset in since.items():
            with log.open("rb") as handle:
                handle.seek(offset)
                if not any(sign in handle.read() for sign in OUTAGE_SIGNS):
                    return False
        return True

    def kill(self, name: str) -> None:
        pid = self.supervisor.states[name].pid
        assert pid is not None, f"{name} is not running"
        os.killpg(pid, signal.SIGKILL)

    def failed_without_kafka(self, name: str) -> bool:
        """True once ``name`` was started again after its kill and exited for want of Kafka."""
        state = self.supervisor.states[name]
        # Either the one line q2c ends with when no broker answers, or (while still starting)
        # the client's own error.
        last = state.last_error or ""
        return state.restarts >= 2 and any(
            sign in last for sign in ("check Q2C_KAFKA__BOOTSTRAP", "KafkaConnectionError")
        )

    def restarts(self) -> dict[str, int]:
        return {name: s.restarts for name, s in self.supervisor.states.items()}


@pytest.fixture
async def supervised_stack(
    own_broker: KafkaBroker, tryton_db: TrytonPeer, bottlecrm_org: OrgAccess, tmp_path: Path
) -> AsyncIterator[tuple[Stack, Supervised]]:
    env = stack_env(own_broker.bootstrap, tryton_db, bottlecrm_org, tmp_path)
    topics = Topics(env["Q2C_KAFKA__TOPIC_PREFIX"])
    supervised = Supervised(env, tmp_path)
    supervised.start()
    try:
        async with (
            TrytonClient(tryton_db.settings()) as erp,
            BottleCrmClient(bottlecrm_org.settings()) as crm,
        ):
            # The supervisor runs the processes: these handles only say where the logs are.
            stack = Stack(
                topics,
                own_broker.bootstrap,
                WorkerProcess(env, tmp_path / "worker.log", topics),
                {s: ConnectorProcess(s, env, tmp_path / f"connector-{s}.log") for s in SYSTEMS},
                erp,
                crm,
                tryton_db.records,
                tmp_path,
                env,
            )
            yield stack, supervised
    finally:
        await supervised.stop()


async def _until(stack: Stack, condition: Callable[[], bool], what: str) -> None:
    async def probe() -> bool | None:
        return True if await asyncio.to_thread(condition) else None

    await stack.eventually(probe, what)


def crash(broker: KafkaBroker) -> None:
    """SIGKILL the broker: no controlled shutdown, its logs are recovered at the next start."""
    assert broker.pid is not None
    os.killpg(broker.pid, signal.SIGKILL)
    os.waitpid(broker.pid, 0)
    broker.pid = None


@pytest.mark.parametrize(
    ("halt", "victims"),
    [
        (KafkaBroker.stop, ()),
        # Processes killed while the broker is away cannot start until it is back: the
        # supervisor starts them again until they can.
        (crash, ("worker", "connector-tryton")),
    ],
    ids=["stopped", "killed-with-processes"],
)
async def test_every_won_deal_is_one_sale_across_a_broker_restart(
    supervised_stack: tuple[Stack, Supervised],
    own_broker: KafkaBroker,
    halt: Callable[[KafkaBroker], None],
    victims: tuple[str, ...],
) -> None:
    stack, supervised = supervised_stack
    await _until(stack, supervised.worker_ready, "the supervised worker ready")
    await make_item(stack, "B-1", "100")
    product = await crm_product(stack, "B-1")
    account, party = await account_in_both(stack, "Restart Corp")

    totals: dict[str, int] = {}  # deal: its sale's total

    async def close(n: int) -> None:
        quantity = n % 3 + 1
        deal = await won_deal(stack, account, [(product, str(quantity), "100")], f"Deal {n}")
        totals[deal] = 100 * quantity

    for n in range(1, BEFORE + 1):
        await close(n)
    logs = supervised.log_sizes()
    await asyncio.to_thread(halt, own_broker)
    for n in range(BEFORE + 1, BEFORE + DURING + 1):
        await close(n)
    # Back only once every process has felt the outage, so none slips through it.
    await _until(stack, lambda: supervised.all_saw_outage(logs), "every process losing Kafka")
    for name in victims:
        supervised.kill(name)
    for name in victims:
        failed = functools.partial(supervised.failed_without_kafka, name)
        await _until(stack, failed, f"{name} started again and failing without Kafka")
    port = own_broker.port
    await asyncio.to_thread(own_broker.start)
    assert own_broker.port == port  # the clients know only this address
    for n in range(BEFORE + DURING + 1, BEFORE + DURING + AFTER + 1):
        await close(n)

    assert len(totals) == BEFORE + DURING + AFTER
    await one_confirmed_sale_each(stack, party, totals)

    await _until(stack, supervised.all_running, "every supervised process running")
    await _until(stack, supervised.worker_ready, "the worker ready after the restart")
    assert all(supervised.restarts()[name] >= 2 for name in victims)
    print(f"restarts across the broker restart: {supervised.restarts()}")
