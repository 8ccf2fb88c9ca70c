"""The whole of q2c on the real peers: a fresh Tryton database and BottleCRM org per test,
the real broker, and the worker and both connectors as real processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from connectors.bottlecrm.client import BottleCrmClient
from connectors.tryton.client import TrytonClient
from q2c.core.topics import Topics
from q2c.devstack.bottlecrm import OrgAccess
from tests.e2e.stacks import (
    POLL_INTERVAL,
    ConnectorProcess,
    StackBase,
    base_env,
    connector_processes,
    running,
)
from tests.plugins.tryton import TrytonPeer
from tests.plugins.worker import WorkerProcess

__all__ = ["ConnectorProcess", "Stack", "stack_env"]


@dataclass
class Stack(StackBase):
    topics: Topics
    bootstrap: str
    worker: WorkerProcess
    connectors: dict[str, ConnectorProcess]
    erp: TrytonClient
    crm: BottleCrmClient
    records: dict[str, int]
    logs: Path
    env: dict[str, str]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "q2c_env(**vars): extra Q2C_* variables for the stack of an end-to-end test"
    )


def stack_env(
    bootstrap: str, tryton_db: TrytonPeer, bottlecrm_org: OrgAccess, tmp_path: Path
) -> dict[str, str]:
    """The environment of a stack's q2c processes: its own topics, group, state and port."""
    erp = tryton_db.settings()
    return {
        **base_env(bootstrap, tmp_path),
        "Q2C_TRYTON__URL": erp.url,
        "Q2C_TRYTON__DATABASE": erp.database,
        "Q2C_TRYTON__USER": erp.user,
        "Q2C_TRYTON__PASSWORD": erp.password.get_secret_value(),
        "Q2C_TRYTON__POLL_INTERVAL": POLL_INTERVAL,
        "Q2C_BOTTLECRM__URL": bottlecrm_org.url,
        "Q2C_BOTTLECRM__TOKEN": bottlecrm_org.token.get_secret_value(),
        "Q2C_BOTTLECRM__JWT": bottlecrm_org.jwt.get_secret_value(),
        "Q2C_BOTTLECRM__SCAN_INTERVAL": POLL_INTERVAL,
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
    connectors = connector_processes(env, ("tryton", "bottlecrm"), tmp_path)
    async with (
        running(worker, connectors),
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
