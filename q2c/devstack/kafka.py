"""A real Apache Kafka broker from Maven Central, single node (KRaft, broker+controller)."""

from __future__ import annotations

import asyncio
import base64
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from q2c.devstack import procs
from q2c.devstack.errors import DevStackError

JAVA_HINT = "Install a Java 17+ runtime (e.g. `apt-get install openjdk-17-jre-headless`)."
MAVEN_HINT = "Install Apache Maven 3.8+ (e.g. `apt-get install maven`)."

_LOG4J = """\
log4j.rootLogger=INFO, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.org.apache.kafka=INFO
log4j.logger.kafka=INFO
log4j.logger.state.change.logger=WARN
log4j.logger.kafka.request.logger=WARN
"""


def ensure_jars(cache_dir: Path, version: str) -> Path:
    """The folder holding the broker's jars, fetched from Maven Central on first use."""
    libs = cache_dir / f"kafka-{version}" / "libs"
    if (libs / ".complete").exists():
        return libs
    procs.require_tool("java", "run the Kafka broker", JAVA_HINT)
    mvn = procs.require_tool("mvn", "fetch the Kafka broker from Maven Central", MAVEN_HINT)
    libs.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix="libs-", dir=libs.parent))
    pom = resources.files("q2c.devstack").joinpath("kafka-pom.xml")
    with resources.as_file(pom) as pom_path:
        result = subprocess.run(
            [
                mvn,
                "-q",
                "-B",
                "-f",
                str(pom_path),
                f"-Dkafka.version={version}",
                "dependency:copy-dependencies",
                f"-DoutputDirectory={staging}",
                "-DincludeScope=runtime",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    if result.returncode != 0 or not any(staging.glob(f"kafka_2.13-{version}.jar")):
        shutil.rmtree(staging, ignore_errors=True)
        raise DevStackError(
            f"could not fetch org.apache.kafka:kafka_2.13:{version} from Maven Central "
            f"(mvn exit {result.returncode}):\n{(result.stdout + result.stderr)[-2000:]}"
        )
    (staging / ".complete").write_text(version)
    if libs.exists():  # another process finished first
        shutil.rmtree(staging, ignore_errors=True)
    else:
        staging.rename(libs)
    return libs


def _cluster_id(data_dir: Path) -> str:
    """The cluster id of ``data_dir``: made once, kept so a restart reuses formatted storage."""
    path = data_dir / "cluster.id"
    if path.exists():
        return path.read_text().strip()
    cluster = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
    path.write_text(cluster)
    return cluster


@dataclass
class KafkaBroker:
    """One broker process; ``start`` formats storage and waits until it serves requests."""

    libs: Path
    data_dir: Path
    port: int = 0
    heap: str = "512m"
    controller_port: int = field(default=0, init=False)
    pid: int | None = field(default=None, init=False)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "broker.log"

    def _java(self, main: str, *args: str) -> list[str]:
        java = procs.require_tool("java", "run the Kafka broker", JAVA_HINT)
        return [
            java,
            "-Xms128m",
            f"-Xmx{self.heap}",
            "-XX:+UseG1GC",
            "-XX:TieredStopAtLevel=1",
            "-Djava.awt.headless=true",
            f"-Dlog4j.configuration=file:{self.data_dir / 'log4j.properties'}",
            "-cp",
            f"{self.libs}/*",
            main,
            *args,
        ]

    def _write_config(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "log4j.properties").write_text(_LOG4J)
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": (
                f"PLAINTEXT://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"PLAINTEXT://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir / "logs"),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "5",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "5",
            "group.initial.rebalance.delay.ms": "0",
            "auto.create.topics.enable": "true",
            "log.cleaner.backoff.ms": "1000",
        }
        path = self.data_dir / "server.properties"
        path.write_text("".join(f"{k}={v}\n" for k, v in props.items()))
        return path

    def start(self, timeout: float = 90.0) -> None:
        self.port = procs.claim_port(self.port, "the Kafka broker")
        self.controller_port = procs.free_port()
        config = self._write_config()
        fmt = subprocess.run(
            self._java(
                "kafka.tools.StorageTool",
                "format",
                "--ignore-formatted",
                # "=" form: a generated id may start with "-", which would read as an option.
                f"--cluster-id={_cluster_id(self.data_dir)}",
                "-c",
                str(config),
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if fmt.returncode != 0:
            raise DevStackError(f"formatting Kafka storage failed:\n{fmt.stdout}{fmt.stderr}")
        proc = procs.spawn(self._java("kafka.Kafka", str(config)), self.log_file)
        self.pid = proc.pid
        try:
            wait_until_ready(self.bootstrap, timeout, lambda: proc.poll() is None)
        except DevStackError as exc:
            self.stop()
            raise DevStackError(f"{exc}\n--- broker log ---\n{procs.tail(self.log_file)}") from exc

    def stop(self) -> None:
        if self.pid is not None:
            procs.stop_pid(self.pid)
            self.pid = None


async def broker_answers(bootstrap: str, wait: float = 5.0) -> bool:
    """True when a metadata request to ``bootstrap`` succeeds."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=int(wait * 1000))
    try:
        await asyncio.wait_for(admin.start(), wait)
        await asyncio.wait_for(admin.list_topics(), wait)
    except Exception:
        return False
    finally:
        await admin.close()
    return True


def wait_until_ready(bootstrap: str, timeout: float, alive: Callable[[], bool]) -> None:
    host, _, port = bootstrap.rpartition(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise DevStackError("the Kafka broker exited during start-up")
        if procs.port_answers(int(port), host) and asyncio.run(broker_answers(bootstrap)):
            return
        time.sleep(0.3)
    raise DevStackError(f"the Kafka broker did not answer on {bootstrap} within {timeout:.0f}s")
