"""docker-compose.yml, rehearsed without Docker: the q2c services run as local processes
(tests.deploy.compose) against the real broker, Tryton and BottleCRM, which stand in for the
kafka, tryton and bottlecrm services. The one-shot set-up services must succeed in order,
every long-running one must pass its healthcheck, and a won deal must become a sale."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from q2c.devstack.bottlecrm import OrgAccess
from q2c.devstack.procs import tail
from tests.deploy.compose import allocate, load, q2c_services, service_process, wait_healthy
from tests.deploy.deal import won_deal_syncs_through_the_webhook
from tests.deploy.rehearsal import Site
from tests.plugins.tryton import TrytonPeer

pytestmark = pytest.mark.integration


async def test_compose_runs_and_syncs_a_won_deal(
    kafka_bootstrap: str, tryton_db: TrytonPeer, bottlecrm_org: OrgAccess, tmp_path: Path
) -> None:
    compose = load()
    erp = tryton_db.settings()
    run = uuid.uuid4().hex[:8]
    site = Site(
        hosts={"kafka:9092": kafka_bootstrap, "http://tryton:8000": erp.url},
        # The .env values of a laptop (the compose file's ${...} variables).
        secrets={"TRYTON_ADMIN_PASSWORD": erp.password.get_secret_value()},
        overrides={
            "Q2C_KAFKA__TOPIC_PREFIX": f"compose{run}",
            "Q2C_WORKER__APP_ID": f"q2c-compose{run}",
            "Q2C_TRYTON__DATABASE": erp.database,
            "Q2C_TRYTON__USER": erp.user,
            "Q2C_TELEMETRY__LOG_FORMAT": "text",
        },
        root=tmp_path,
    )
    services = q2c_services(compose)
    allocate(compose, site)
    # What the bottlecrm service writes at its first start, for this test's org.
    peers = tmp_path / "volumes" / "peers"
    peers.mkdir(parents=True)
    section = {
        "url": bottlecrm_org.url,
        "token": bottlecrm_org.token.get_secret_value(),
        "jwt": bottlecrm_org.jwt.get_secret_value(),
    }
    (peers / "bottlecrm.json").write_text(json.dumps({"bottlecrm": section}))

    once = [name for name, s in services.items() if s.get("restart") == "no"]
    assert once == ["topics", "setup-tryton", "setup-bottlecrm"]
    for name in once:
        service_process(name, services[name], site).run()
    assert (peers / "webhook-secret").read_text().startswith("whsec_")
    # Safe to run again: `docker compose up` after a stop runs them again.
    assert "present" in service_process("setup-bottlecrm", services["setup-bottlecrm"], site).run()

    running = {
        name: service_process(name, service, site)
        for name, service in services.items()
        if name not in once
    }

    def diagnostics() -> str:
        return "\n".join(f"--- {p.name}\n{tail(p.log, 30)}" for p in running.values())

    try:
        for process in running.values():
            process.start()
        for name, process in running.items():
            await asyncio.to_thread(wait_healthy, process, services[name], 150.0)
        await won_deal_syncs_through_the_webhook(tryton_db, bottlecrm_org, diagnostics)
    finally:
        for process in running.values():
            process.stop()
