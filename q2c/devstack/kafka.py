"""A real Apache Kafka broker from Maven Central, single node (KRaft, broker+controller).

It never creates a topic on first use (``auto.create.topics.enable=false``): q2c creates its
topics with their configs (``q2c topics ensure``), so a misspelt name is an error. With
:class:`BrokerSecurity` its only client listener is SASL_SSL (SCRAM-SHA-512) with a
certificate from :mod:`q2c.devstack.tls`; its SCRAM users are created when its storage is
formatted.
"""

from __future__ import annotations

import asyncio
import base64
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from q2c.core.settings import KafkaSettings
from q2c.devstack import procs
from q2c.devstack.errors import DevStackError
from q2c.devstack.tls import BrokerTls, make_broker_tls

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


SCRAM = "SCRAM-SHA-512"
_BROKER_USER = "q2c-broker"
_SCRAM_SAFE = re.compile(r"[A-Za-z0-9._~-]+")


@dataclass(frozen=True)
class BrokerSecurity:
    """A SASL_SSL listener instead of PLAINTEXT, and the SCRAM user clients log in as."""

    username: str = "q2c"
    password: SecretStr = field(default_factory=lambda: SecretStr(secrets.token_urlsafe(24)))


def _secret_file(path: Path) -> str:
    """A random secret kept in ``path`` (made once, so a restart matches formatted storage)."""
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(24))
    return path.read_text().strip()


@dataclass
class KafkaBroker:
    """One broker process; ``start`` formats storage and waits until it serves requests."""

    libs: Path
    data_dir: Path
    port: int = 0
    heap: str = "512m"
    security: BrokerSecurity | None = None
    controller_port: int = field(default=0, init=False)
    pid: int | None = field(default=None, init=False)
    tls: BrokerTls | None = field(default=None, init=False)

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def listener(self) -> str:
        return "PLAINTEXT" if self.security is None else "SASL_SSL"

    def kafka_settings(self) -> KafkaSettings:
        """How q2c reaches this broker."""
        if self.security is None:
            return KafkaSettings(bootstrap=self.bootstrap)
        assert self.tls is not None, "start() makes the certificates"
        return KafkaSettings(
            bootstrap=self.bootstrap,
            security_protocol="SASL_SSL",
            sasl_mechanism=SCRAM,
            sasl_username=self.security.username,
            sasl_password=self.security.password,
            ssl_cafile=self.tls.ca_file,
        )

    def client_env(self) -> dict[str, str]:
        """``Q2C_KAFKA__*`` variables for a q2c process using this broker."""
        kafka = self.kafka_settings()
        env = {
            "Q2C_KAFKA__BOOTSTRAP": kafka.bootstrap,
            "Q2C_KAFKA__SECURITY_PROTOCOL": kafka.security_protocol,
        }
        if self.security is not None and self.tls is not None:
            env |= {
                "Q2C_KAFKA__SASL_MECHANISM": SCRAM,
                "Q2C_KAFKA__SASL_USERNAME": self.security.username,
                "Q2C_KAFKA__SASL_PASSWORD": self.security.password.get_secret_value(),
                "Q2C_KAFKA__SSL_CAFILE": str(self.tls.ca_file),
            }
        return env

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

    def _security_props(self) -> dict[str, str]:
        if self.security is None:
            return {}
        self.tls = make_broker_tls(self.data_dir / "tls")
        password = _secret_file(self.data_dir / "broker-user.secret")
        jaas = (
            "org.apache.kafka.common.security.scram.ScramLoginModule required "
            f'username="{_BROKER_USER}" password="{password}";'
        )
        return {
            "sasl.enabled.mechanisms": SCRAM,
            "sasl.mechanism.inter.broker.protocol": SCRAM,
            f"listener.name.sasl_ssl.{SCRAM.lower()}.sasl.jaas.config": jaas,
            "ssl.keystore.type": "PEM",
            "ssl.keystore.location": str(self.tls.keystore_file),
            "ssl.truststore.type": "PEM",
            "ssl.truststore.location": str(self.tls.ca_file),
        }

    def _scram_users(self) -> list[str]:
        """StorageTool arguments creating the SCRAM users (only when storage is formatted).

        The passwords are on StorageTool's command line while it runs, on this machine
        only; the broker keeps salted SCRAM hashes of them."""
        if self.security is None:
            return []
        users = {
            _BROKER_USER: _secret_file(self.data_dir / "broker-user.secret"),
            self.security.username: self.security.password.get_secret_value(),
        }
        for name, password in users.items():
            # StorageTool's "[name=..,password=..]" syntax has no escapes.
            if not _SCRAM_SAFE.fullmatch(name) or not _SCRAM_SAFE.fullmatch(password):
                raise DevStackError(
                    f"the SCRAM user {name!r} and its password may only hold letters, digits "
                    "and . _ ~ -"
                )
        return [
            arg
            for name, password in users.items()
            for arg in ("--add-scram", f"{SCRAM}=[name={name},password={password}]")
        ]

    def _write_config(self) -> Path:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "log4j.properties").write_text(_LOG4J)
        listener = self.listener
        props = {
            "process.roles": "broker,controller",
            "node.id": "1",
            "controller.quorum.voters": f"1@127.0.0.1:{self.controller_port}",
            "listeners": (
                f"{listener}://127.0.0.1:{self.port},CONTROLLER://127.0.0.1:{self.controller_port}"
            ),
            "advertised.listeners": f"{listener}://127.0.0.1:{self.port}",
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": listener,
            "listener.security.protocol.map": f"{listener}:{listener},CONTROLLER:PLAINTEXT",
            "log.dirs": str(self.data_dir / "logs"),
            "num.partitions": "1",
            "offsets.topic.replication.factor": "1",
            "offsets.topic.num.partitions": "5",
            "transaction.state.log.replication.factor": "1",
            "transaction.state.log.min.isr": "1",
            "transaction.state.log.num.partitions": "5",
            "group.initial.rebalance.delay.ms": "0",
            # A topic is created with its configs by q2c, never by a first produce or fetch.
            "auto.create.topics.enable": "false",
            "log.cleaner.backoff.ms": "1000",
            **self._security_props(),
        }
        path = self.data_dir / "server.properties"
        if not path.exists():
            path.touch(mode=0o600)  # it may hold the broker user's password
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
                *self._scram_users(),
            ),
            capture_output=True,
            text=True,
            check=False,
        )
        if fmt.returncode != 0:
            output = fmt.stdout + fmt.stderr
            for arg in self._scram_users():
                output = output.replace(arg, "--add-scram ***")
            raise DevStackError(f"formatting Kafka storage failed:\n{output}")
        proc = procs.spawn(self._java("kafka.Kafka", str(config)), self.log_file)
        self.pid = proc.pid
        try:
            wait_until_ready(
                self.bootstrap,
                timeout,
                lambda: proc.poll() is None,
                self.kafka_settings().client_kwargs(),
            )
        except DevStackError as exc:
            self.stop()
            raise DevStackError(f"{exc}\n--- broker log ---\n{procs.tail(self.log_file)}") from exc

    def stop(self) -> None:
        if self.pid is not None:
            procs.stop_pid(self.pid)
            self.pid = None


async def broker_answers(
    bootstrap: str, wait: float = 5.0, client_kwargs: Mapping[str, Any] | None = None
) -> bool:
    """True when a metadata request to ``bootstrap`` succeeds."""
    from aiokafka.admin import AIOKafkaAdminClient

    kwargs = {**(client_kwargs or {}), "bootstrap_servers": bootstrap}
    admin = AIOKafkaAdminClient(**kwargs, request_timeout_ms=int(wait * 1000))
    try:
        await asyncio.wait_for(admin.start(), wait)
        await asyncio.wait_for(admin.list_topics(), wait)
    except Exception:
        return False
    finally:
        await admin.close()
    return True


def wait_until_ready(
    bootstrap: str,
    timeout: float,
    alive: Callable[[], bool],
    client_kwargs: Mapping[str, Any] | None = None,
) -> None:
    host, _, port = bootstrap.rpartition(":")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise DevStackError("the Kafka broker exited during start-up")
        if procs.port_answers(int(port), host) and asyncio.run(
            broker_answers(bootstrap, client_kwargs=client_kwargs)
        ):
            return
        time.sleep(0.3)
    raise DevStackError(f"the Kafka broker did not answer on {bootstrap} within {timeout:.0f}s")
