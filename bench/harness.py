"""The whole of q2c on the real peers, outside pytest, for the benchmarks that need it.

:class:`PeerStack` starts a Kafka broker, a Tryton server on a fresh copy of the pristine
database and a BottleCRM server with a new org (the same devstack code as `q2c dev up` and
the test plugins), then the q2c worker and both connectors as processes that can be
SIGKILLed and started again. It also offers the few steps the benchmarks take on the peers:
an item made in Tryton, an account known in both systems, a deal closed won.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any, Self, TypeVar

import aiohttp

from connectors.base.errors import ConnectorError
from connectors.bottlecrm.client import BottleCrmClient
from connectors.bottlecrm.models import AccountInput, DealInput, LineItemInput, Product
from connectors.bottlecrm.provision import WEBHOOK_EVENTS
from connectors.tryton.client import TrytonClient
from q2c.core.settings import Settings
from q2c.devstack import bottlecrm, tryton, tryton_postgres
from q2c.devstack.bottlecrm import OrgAccess
from q2c.devstack.kafka import KafkaBroker, ensure_jars
from q2c.devstack.postgres import PostgresCluster
from q2c.devstack.procs import first_result, free_port, kill_process, stop_process, tail

REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")


class StackFailure(Exception):
    """Something the stack should have done did not happen (with the processes' logs)."""


@dataclass
class Q2cProcess:
    """One q2c process (`q2c worker`, `q2c connector run SYSTEM`) that can be SIGKILLed."""

    name: str
    args: tuple[str, ...]
    env: dict[str, str]
    log: Path
    ready_url: str | None = None
    """An HTTP endpoint answering 200 once the process is ready; else its log says 'running'."""
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)
    _mark: int = field(default=0, init=False)

    def start(self) -> None:
        self._mark = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "q2c", *self.args],
                cwd=REPO,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
            )

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def kill(self) -> None:
        """SIGKILL: no shutdown, no final commit, no flush."""
        kill_process(self.proc)
        self.proc = None

    def stop(self) -> None:
        stop_process(self.proc)
        self.proc = None

    async def wait_ready(self, within: float = 120.0) -> None:
        async with aiohttp.ClientSession() as http:
            deadline = time.monotonic() + within
            while time.monotonic() < deadline:
                if not self.alive:
                    raise StackFailure(f"{self.name} exited:\n{tail(self.log, 40)}")
                if await self._ready(http):
                    return
                await asyncio.sleep(0.2)
        raise StackFailure(f"{self.name} was not ready in {within:.0f}s:\n{tail(self.log, 40)}")

    async def _ready(self, http: aiohttp.ClientSession) -> bool:
        if self.ready_url is None:
            with self.log.open("rb") as handle:
                handle.seek(self._mark)
                return b"running" in handle.read()
        try:
            async with http.get(self.ready_url, timeout=aiohttp.ClientTimeout(total=2)) as reply:
                return reply.status == 200
        except (aiohttp.ClientError, TimeoutError):
            return False


class PeerStack:
    """Broker, Tryton, BottleCRM, the worker and both connectors, in ``workdir``.

    ``webhooks`` registers a BottleCRM webhook to the connector's receiver (as `q2c dev up`
    does), so deal changes arrive within a second instead of at the next scan. ``extra_env``
    is added to the q2c processes' environment (an OTLP endpoint, say).
    """

    def __init__(
        self,
        workdir: Path,
        *,
        partitions: int = 1,
        scan_interval: float = 1.0,
        poll_interval: float = 1.0,
        webhooks: bool = False,
        tryton_db: str | None = None,
        extra_env: Mapping[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.extra_env = dict(extra_env or {})
        # Tryton's database: sqlite, or postgresql (`python -m bench --tryton-db postgresql`).
        self.tryton_db = tryton_db or os.environ.get("Q2C_BENCH_TRYTON_DB", "sqlite")
        self.postgres: PostgresCluster | None = None
        self.partitions = partitions
        self.scan_interval = scan_interval
        self.poll_interval = poll_interval
        self.webhooks = webhooks
        self.settings = Settings()
        self.broker: KafkaBroker | None = None
        self.tryton: tryton.TrytonServer | None = None
        self.bottlecrm: bottlecrm.BottleCrmServer | None = None
        self.records: dict[str, Any] = {}
        self.env: dict[str, str] = {}
        self.processes: dict[str, Q2cProcess] = {}
        self._erp: TrytonClient | None = None
        self._crm: BottleCrmClient | None = None

    # -- start and stop -------------------------------------------------------------------
    async def __aenter__(self) -> Self:
        try:
            await self._start()
        except BaseException:
            await self._stop()
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stop()

    async def _start(self) -> None:
        # The three servers start side by side: each is mostly waiting for its own process.
        broker, erp, crm = await asyncio.gather(
            asyncio.to_thread(self._start_broker),
            asyncio.to_thread(self._start_tryton),
            asyncio.to_thread(self._start_bottlecrm),
        )
        if crm.user_jwt is None:
            raise StackFailure("BottleCRM minted no JWT for the local user")
        org = await bottlecrm.provision_org(crm.url, crm.user_jwt, f"bench-{uuid.uuid4().hex[:8]}")
        self.env = await self._environment(broker, erp, org)
        self.processes = {
            "worker": Q2cProcess(
                "worker",
                ("worker",),
                self.env,
                self.workdir / "worker.log",
                f"http://127.0.0.1:{self.env['Q2C_WORKER__WEB_PORT']}/q2c/ready",
            ),
            **{
                system: Q2cProcess(
                    system,
                    ("connector", "run", system),
                    self.env,
                    self.workdir / f"connector-{system}.log",
                )
                for system in ("tryton", "bottlecrm")
            },
        }
        for process in self.processes.values():
            process.start()
        await asyncio.gather(*(p.wait_ready() for p in self.processes.values()))
        self._erp = TrytonClient(erp.settings())
        await self._erp.login()
        self._crm = BottleCrmClient(org.settings())

    def _start_broker(self) -> KafkaBroker:
        libs = ensure_jars(self.settings.dev.cache_dir, self.settings.dev.kafka_version)
        self.broker = KafkaBroker(libs=libs, data_dir=self.workdir / "kafka")
        self.broker.start()
        return self.broker

    def _start_tryton(self) -> tryton.TrytonServer:
        install = tryton.ensure_install(self.settings.dev.cache_dir)
        store: tryton.DatabaseStore | None = None
        if self.tryton_db == tryton_postgres.KIND:
            pristine = tryton_postgres.ensure_pristine(install)
            self.postgres = tryton_postgres.start_cluster(pristine, self.workdir / "postgres")
            store = tryton_postgres.PostgresStore(self.postgres)
        elif self.tryton_db == "sqlite":
            pristine = tryton.ensure_pristine(install)
        else:
            raise StackFailure(f"Tryton's database is sqlite or postgresql, not {self.tryton_db}")
        server = tryton.TrytonServer(
            install=install,
            data_dir=self.workdir / "tryton",
            password=pristine.password,
            store=store,
        )
        server.restore(pristine)
        self.tryton = server
        self.records = dict(pristine.records)
        server.start()
        return server

    def _start_bottlecrm(self) -> bottlecrm.BottleCrmServer:
        install = bottlecrm.ensure_install(self.settings.dev.cache_dir)
        bottlecrm.ensure_pristine(install)
        self.bottlecrm = bottlecrm.BottleCrmServer(
            install=install, data_dir=self.workdir / "bottlecrm"
        )
        self.bottlecrm.start()
        return self.bottlecrm

    async def _environment(
        self, broker: KafkaBroker, erp: tryton.TrytonServer, org: OrgAccess
    ) -> dict[str, str]:
        run = uuid.uuid4().hex[:8]
        env = {
            **os.environ,
            "Q2C_KAFKA__BOOTSTRAP": broker.bootstrap,
            "Q2C_KAFKA__TOPIC_PREFIX": f"bench{run}",
            "Q2C_KAFKA__PARTITIONS": str(self.partitions),
            "Q2C_DEV__STATE_DIR": str(self.workdir / "state"),
            "Q2C_WORKER__APP_ID": f"q2c-{run}",
            "Q2C_WORKER__DATA_DIR": str(self.workdir / "worker"),
            "Q2C_WORKER__WEB_PORT": str(free_port()),
            "Q2C_TELEMETRY__LOG_FORMAT": "text",
            "Q2C_TRYTON__URL": erp.base_url,
            "Q2C_TRYTON__DATABASE": erp.database,
            "Q2C_TRYTON__USER": erp.user,
            "Q2C_TRYTON__PASSWORD": erp.password.get_secret_value(),
            "Q2C_TRYTON__POLL_INTERVAL": str(self.poll_interval),
            "Q2C_BOTTLECRM__URL": org.url,
            "Q2C_BOTTLECRM__TOKEN": org.token.get_secret_value(),
            "Q2C_BOTTLECRM__JWT": org.jwt.get_secret_value(),
            "Q2C_BOTTLECRM__SCAN_INTERVAL": str(self.scan_interval),
            **self.extra_env,
        }
        if self.webhooks:
            port = free_port()
            async with BottleCrmClient(org.settings()) as crm:
                _, secret = await crm.register_webhook(
                    f"http://127.0.0.1:{port}/bottlecrm/webhook",
                    WEBHOOK_EVENTS,
                    description="q2c connector",
                )
            env["Q2C_BOTTLECRM__WEBHOOK_PORT"] = str(port)
            env["Q2C_BOTTLECRM__WEBHOOK_SECRET"] = secret.get_secret_value()
        return env

    async def _stop(self) -> None:
        for process in self.processes.values():
            await asyncio.to_thread(process.stop)
        if self._erp is not None:
            await self._erp.close()
        if self._crm is not None:
            await self._crm.close()
        for server in (self.bottlecrm, self.tryton, self.broker):
            if server is not None:
                await asyncio.to_thread(server.stop)
        if self.postgres is not None:
            await asyncio.to_thread(tryton_postgres.remove_cluster, self.postgres)

    # -- access ---------------------------------------------------------------------------
    @property
    def erp(self) -> TrytonClient:
        if self._erp is None:
            raise RuntimeError("the stack is not started")
        return self._erp

    @property
    def crm(self) -> BottleCrmClient:
        if self._crm is None:
            raise RuntimeError("the stack is not started")
        return self._crm

    def tryton_busy_answers(self) -> int:
        """How often Tryton answered 503 (its database busy) to q2c's processes: each such
        answer is retried and logged with its status."""
        logs = [p.log for p in self.processes.values() if p.log.exists()]
        return sum(log.read_bytes().count(b"(HTTP 503)") for log in logs)

    def diagnostics(self, lines: int = 30) -> str:
        return "\n".join(f"--- {p.name}\n{tail(p.log, lines)}" for p in self.processes.values())

    async def q2c(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run a `q2c` command against this stack."""
        return await asyncio.to_thread(
            subprocess.run,
            [sys.executable, "-m", "q2c", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )

    async def eventually(
        self, probe: Callable[[], Awaitable[T | None]], what: str, within: float = 120.0
    ) -> T:
        """The first non-None result of ``probe``, polled until ``within`` seconds pass."""
        try:
            return await first_result(probe, within)
        except TimeoutError:
            raise StackFailure(f"never happened: {what}\n{self.diagnostics()}") from None

    # -- steps on the peers ---------------------------------------------------------------
    async def make_item(self, sku: str, price: Decimal) -> Product:
        """A saleable service in Tryton, once q2c has made it a BottleCRM product."""
        await self.erp.create(
            "product.template",
            [
                {
                    "name": f"Item {sku}",
                    "type": "service",
                    "salable": True,
                    "list_price": price,
                    "default_uom": self.records["unit"],
                    "sale_uom": self.records["unit"],
                    "account_category": self.records["account_category"],
                    "products": [("create", [{"suffix_code": sku}])],
                }
            ],
        )

        async def product() -> Product | None:
            return await self.crm.find_product_by_sku(sku)

        return await self.eventually(product, f"product {sku} in BottleCRM")

    async def account_in_both(self, name: str) -> str:
        """A new BottleCRM account, once q2c has made it a Tryton party."""
        account = await self.crm.create_account(AccountInput(name=name, email="ap@example.test"))

        async def party() -> int | None:
            rows = await self.erp.search("party.party", [("identifiers.code", "=", account)])
            return int(rows[0]) if rows else None

        await self.eventually(party, f"account {name} as a Tryton party")
        return account

    async def won_deal(
        self, account: str, product: Product, quantity: Decimal, price: Decimal, name: str
    ) -> str:
        """A deal with one line, moved to Closed Won; returns once the move is answered."""
        deal = await self._create_deal(
            DealInput(name=name, account=account, currency="USD", amount=quantity * price)
        )
        line = LineItemInput(product_id=product.id, quantity=quantity, unit_price=price)
        try:
            await self.crm.add_line_item(deal, line)
        except ConnectorError as exc:
            if not exc.retriable:
                raise
            if not await self.crm.line_items(deal):  # the first try never arrived
                await self.crm.add_line_item(deal, line)
        await self.crm.close_won(deal, dt.date.today())
        return deal

    async def _create_deal(self, deal: DealInput) -> str:
        """Creates are sent once by the client; when the connection dropped (gunicorn
        closes idle keep-alive connections after 2 s, aiohttp may reuse one just then),
        the deal is looked for by its name before it is created again."""
        try:
            return await self.crm.create_deal(deal)
        except ConnectorError as exc:
            if not exc.retriable:
                raise
            async for found in self.crm.deals():
                if found.name == deal.name:
                    return found.id
            return await self.crm.create_deal(deal)

    async def sales_of(self, deal: str) -> list[dict[str, Any]]:
        """Every Tryton sale whose reference is ``deal`` (one, when all is well)."""
        return await self.erp.search_read(
            "sale.sale", [("reference", "=", deal)], ["state", "total_amount", "number"]
        )


@contextlib.contextmanager
def scratch(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A folder for one run's servers and logs, removed afterwards unless ``keep``."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        if keep:
            print(f"   logs and data kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
