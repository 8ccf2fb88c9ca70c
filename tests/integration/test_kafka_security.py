"""q2c on a broker that only speaks SASL_SSL (SCRAM-SHA-512, a certificate from a CA of the
project's making): the real worker and the real Tryton connector, as processes, move messages
through it; a wrong password or a wrong CA ends each command with one line naming the setting
to fix, and the password is never printed."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from connectors.tryton import TrytonClient
from q2c.core.topics import Topics
from q2c.devstack.kafka import KafkaBroker
from q2c.devstack.procs import free_port, stop_process, tail
from q2c.devstack.tls import make_broker_tls
from schemas import (
    CODEC,
    CommandResult,
    CreateSalesOrder,
    Customer,
    DocumentLine,
    ExternalIds,
    Money,
    Outcome,
    Quote,
    idempotency_key,
)
from tests.plugins.tryton import TrytonPeer
from tests.plugins.worker import REPO, WorkerProcess

pytestmark = pytest.mark.integration

WRONG_PASSWORD = "not-the-password-7f3a"


def _env(broker: KafkaBroker, tmp_path: Path, **extra: str) -> dict[str, str]:
    run = uuid.uuid4().hex[:8]
    return {
        **os.environ,
        **broker.client_env(),
        "Q2C_KAFKA__TOPIC_PREFIX": f"sec{run}",
        "Q2C_KAFKA__PARTITIONS": "1",
        "Q2C_DEV__STATE_DIR": str(tmp_path / "state"),
        "Q2C_WORKER__APP_ID": f"q2c-{run}",
        "Q2C_WORKER__DATA_DIR": str(tmp_path / "worker"),
        "Q2C_WORKER__WEB_PORT": str(free_port()),
        "Q2C_TELEMETRY__LOG_FORMAT": "text",
        **extra,
    }


def _start_connector(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "q2c", "connector", "run", "tryton"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def test_worker_and_connector_exchange_messages_over_sasl_ssl(
    kafka_sasl_broker: KafkaBroker,
    tryton_db: TrytonPeer,
    tryton_client: TrytonClient,
    tmp_path: Path,
) -> None:
    erp, records = tryton_db.settings(), tryton_db.records
    env = _env(
        kafka_sasl_broker,
        tmp_path,
        Q2C_TRYTON__URL=erp.url,
        Q2C_TRYTON__DATABASE=erp.database,
        Q2C_TRYTON__USER=erp.user,
        Q2C_TRYTON__PASSWORD=erp.password.get_secret_value(),
        Q2C_TRYTON__POLL_INTERVAL="0.5",
    )
    topics = Topics(env["Q2C_KAFKA__TOPIC_PREFIX"])
    kwargs = kafka_sasl_broker.kafka_settings().client_kwargs()
    (party,) = await tryton_client.create(
        "party.party", [{"name": "Secure Ltd", "identifiers": [("create", [{"code": "ACC-7"}])]}]
    )
    await tryton_client.create(
        "product.template",
        [
            {
                "name": "Padlock",
                "type": "service",
                "salable": True,
                "list_price": Decimal("12.00"),
                "default_uom": records["unit"],
                "sale_uom": records["unit"],
                "account_category": records["account_category"],
                "products": [("create", [{"suffix_code": "LOCK-1"}])],
            }
        ],
    )
    worker = WorkerProcess(env, tmp_path / "worker.log", topics)
    connector_log = tmp_path / "connector.log"
    worker.start()
    connector = _start_connector(env, connector_log)
    customers = AIOKafkaConsumer(
        topics.reference("customers"), **kwargs, auto_offset_reset="earliest"
    )
    results = AIOKafkaConsumer(topics.results("tryton"), **kwargs, auto_offset_reset="earliest")
    try:
        await customers.start()
        await results.start()
        # Tryton -> connector (source, raw, normalize) -> changes -> worker -> reference view.
        async with asyncio.timeout(120):
            while True:
                assert connector.poll() is None, tail(connector_log, 40)
                batches = await customers.getmany(timeout_ms=500)
                seen = [
                    CODEC.decode_as(r.value or b"", Customer)
                    for batch in batches.values()
                    for r in batch
                ]
                if any(c.ids.erp_id == str(party) for c in seen):
                    break

        # A command -> the connector's sink -> Tryton -> its result.
        command = CreateSalesOrder(
            idempotency_key=idempotency_key("sec", "DEAL-7"),
            target_system="tryton",
            issued_at=datetime.now(UTC),
            reference="DEAL-7",
            quote=Quote(
                ids=ExternalIds(crm_id="DEAL-7"),
                customer=ExternalIds(crm_id="ACC-7"),
                currency="USD",
                lines=(
                    DocumentLine(
                        line_no=1,
                        sku="LOCK-1",
                        quantity=Decimal(2),
                        unit_price=Money(amount=Decimal("12.00"), currency="USD"),
                        amount=Money(amount=Decimal("24.00"), currency="USD"),
                    ),
                ),
                total=Money(amount=Decimal("24.00"), currency="USD"),
                updated_at=datetime.now(UTC),
            ),
        )
        producer = AIOKafkaProducer(**kwargs, acks="all")
        await producer.start()
        try:
            await producer.send_and_wait(
                topics.commands("tryton"), key=b"deal:DEAL-7", value=CODEC.encode(command)
            )
        finally:
            await producer.stop()
        async with asyncio.timeout(120):
            message = await results.getone()
        result = CODEC.decode_as(message.value or b"", CommandResult)
        assert (result.idempotency_key, result.outcome) == (
            command.idempotency_key,
            Outcome.CREATED,
        )
    finally:
        await customers.stop()
        await results.stop()
        stop_process(connector)
        worker.stop()
    password = kafka_sasl_broker.client_env()["Q2C_KAFKA__SASL_PASSWORD"]
    assert password not in worker.log.read_text()
    assert password not in connector_log.read_text()


COMMANDS = [["worker"], ["connector", "run", "tryton"], ["status"], ["topics", "ensure"]]


def _peer_env(args: list[str], request: pytest.FixtureRequest) -> dict[str, str]:
    """A connector builds its parts (and reaches its peer) before it reaches Kafka: give the
    Tryton connector a real Tryton, so what fails is the broker."""
    if args[:2] != ["connector", "run"]:
        return {}
    erp = request.getfixturevalue("tryton_db").settings()
    return {
        "Q2C_TRYTON__URL": erp.url,
        "Q2C_TRYTON__DATABASE": erp.database,
        "Q2C_TRYTON__USER": erp.user,
        "Q2C_TRYTON__PASSWORD": erp.password.get_secret_value(),
    }


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "q2c", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a) for a in COMMANDS])
def test_a_refused_password_ends_with_one_line_naming_the_settings(
    kafka_sasl_broker: KafkaBroker,
    tmp_path: Path,
    args: list[str],
    request: pytest.FixtureRequest,
) -> None:
    env = _env(
        kafka_sasl_broker,
        tmp_path,
        Q2C_KAFKA__SASL_PASSWORD=WRONG_PASSWORD,
        **_peer_env(args, request),
    )
    done = _run(args, env)
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[-1] == (
        "q2c: Kafka refused the SASL credentials: check Q2C_KAFKA__SASL_USERNAME / "
        "Q2C_KAFKA__SASL_PASSWORD"
    )
    assert "Traceback" not in done.stderr
    assert WRONG_PASSWORD not in done.stdout + done.stderr


@pytest.mark.parametrize("args", COMMANDS, ids=[" ".join(a) for a in COMMANDS])
def test_a_ca_that_did_not_sign_the_broker_ends_with_one_line_naming_it(
    kafka_sasl_broker: KafkaBroker,
    tmp_path: Path,
    args: list[str],
    request: pytest.FixtureRequest,
) -> None:
    other = make_broker_tls(tmp_path / "other-ca")
    env = _env(
        kafka_sasl_broker,
        tmp_path,
        Q2C_KAFKA__SSL_CAFILE=str(other.ca_file),
        **_peer_env(args, request),
    )
    done = _run(args, env)
    assert done.returncode == 1, done.stderr
    assert done.stderr.splitlines()[-1] == (
        f"q2c: the broker's certificate is not signed by Q2C_KAFKA__SSL_CAFILE "
        f"({other.ca_file}): {kafka_sasl_broker.bootstrap}"
    )
    assert "Traceback" not in done.stderr
    assert env["Q2C_KAFKA__SASL_PASSWORD"] not in done.stdout + done.stderr
