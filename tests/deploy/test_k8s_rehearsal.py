"""k8s/overlays/test, rehearsed without a cluster: every container of the rendered manifests
runs as a local process (tests.deploy.rehearsal) against the real broker, Tryton and
BottleCRM. The set-up Job's steps must succeed in order, every long-running container must
answer its probes on the ports and paths the manifests name, and a won deal must become a
confirmed sale, with BottleCRM's webhooks delivered through the receiver's Service port."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest

from q2c.devstack.bottlecrm import OrgAccess
from q2c.devstack.procs import tail
from tests.deploy.deal import won_deal_syncs_through_the_webhook
from tests.deploy.manifests import Container, containers, find, render, selects
from tests.deploy.rehearsal import Process, Site, pod_process
from tests.plugins.tryton import TrytonPeer

pytestmark = pytest.mark.integration

WEBHOOK_HOST = "https://q2c.example.com"


def _probe(container: Container, name: str) -> tuple[int, str]:
    get = container.spec[name]["httpGet"]
    return container.port(get["port"]), str(get["path"])


async def test_the_test_overlay_runs_and_syncs_a_won_deal(
    kafka_bootstrap: str, tryton_db: TrytonPeer, bottlecrm_org: OrgAccess, tmp_path: Path
) -> None:
    docs = render("overlays/test")
    config = find(docs, "ConfigMap", "q2c-config")["data"]
    erp = tryton_db.settings()
    run = uuid.uuid4().hex[:8]
    site = Site(
        hosts={
            config["Q2C_KAFKA__BOOTSTRAP"]: kafka_bootstrap,
            config["Q2C_TRYTON__URL"]: erp.url,
            config["Q2C_BOTTLECRM__URL"]: bottlecrm_org.url,
        },
        secrets={
            "Q2C_TRYTON__PASSWORD": erp.password.get_secret_value(),
            "Q2C_BOTTLECRM__TOKEN": bottlecrm_org.token.get_secret_value(),
            "Q2C_BOTTLECRM__JWT": bottlecrm_org.jwt.get_secret_value(),
            "Q2C_WORKER__ADMIN_TOKEN": uuid.uuid4().hex,
        },
        overrides={
            "Q2C_KAFKA__TOPIC_PREFIX": f"k8s{run}",
            "Q2C_WORKER__APP_ID": f"q2c-k8s{run}",
            "Q2C_TRYTON__DATABASE": erp.database,
            "Q2C_TRYTON__USER": erp.user,
            "Q2C_TELEMETRY__LOG_FORMAT": "text",
        },
        root=tmp_path,
    )
    secret = find(docs, "Secret", "q2c-secrets")
    assert set(secret["data"]) <= set(site.secrets), "a Secret key the rehearsal cannot fill"

    running = [c for c in containers(docs) if c.kind != "Job"]
    assert all(c.workload["spec"]["replicas"] == 1 for c in running)
    processes = {c.name: pod_process(c, docs, site) for c in running}

    # The receiver's address, as the webhook Service reaches it.
    service = find(docs, "Service", "q2c-bottlecrm-webhook")
    (receiver,) = [c for c in running if selects(service["spec"]["selector"], c)]
    port = receiver.port(service["spec"]["ports"][0]["targetPort"])
    site.hosts[WEBHOOK_HOST] = f"http://127.0.0.1:{processes[receiver.name].ports[port]}"

    # First install (README): the webhook is made once, its secret put in the Secret.
    job = [c for c in containers(docs) if c.kind == "Job"]
    first = pod_process(job[-1], docs, site)
    first.argv += ["--secret-file", str(tmp_path / "whsec")]
    assert "webhook" in first.run()
    site.secrets["Q2C_BOTTLECRM__WEBHOOK_SECRET"] = (tmp_path / "whsec").read_text()
    secret["data"]["Q2C_BOTTLECRM__WEBHOOK_SECRET"] = "set"
    processes = {c.name: pod_process(c, docs, site) for c in running}

    # The Job: its init containers in order, then its container; all idempotent.
    outputs = [pod_process(c, docs, site).run() for c in job]
    assert [c.spec["name"] for c in job] == ["topics", "tryton", "bottlecrm"]
    assert "topics:" in outputs[0]
    assert "present" in outputs[2]

    def diagnostics() -> str:
        return "\n".join(f"--- {p.name}\n{tail(p.log, 30)}" for p in processes.values())

    try:
        for process in processes.values():
            process.start()
        for container in running:
            process = processes[container.name]
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                if probe in container.spec:
                    await asyncio.to_thread(process.wait_for, *_probe(container, probe), 150.0)

        await won_deal_syncs_through_the_webhook(tryton_db, bottlecrm_org, diagnostics)

        # The figures behind the manifests' requests and limits (shown with pytest -s).
        for process in processes.values():
            rss, cpu = process.usage()
            print(f"{process.name}: peak RSS {rss:.0f} MiB, CPU {cpu:.1f} s")
        for container in running:
            process = processes[container.name]
            status, metrics = process.get(container.port("http"), "/q2c/metrics")
            assert status == 200
            if container.spec["args"][0] == "connector":
                assert b"q2c_connector_running" in metrics
    finally:
        for process in processes.values():
            process.stop()


def test_a_process_is_what_its_container_says(tmp_path: Path) -> None:
    """The rehearsal itself: the arguments, environment, ports and volumes it derives."""
    docs = render("overlays/test")
    site = Site(
        hosts={"kafka.kafka.svc:9092": "127.0.0.1:1"},
        secrets={key: "x" for key in find(docs, "Secret", "q2c-secrets")["data"]},
        overrides={},
        root=tmp_path,
    )
    (worker,) = [c for c in containers(docs) if c.kind == "StatefulSet"]
    process: Process = pod_process(worker, docs, site)
    assert process.argv[-1] == "worker"
    assert process.env["Q2C_KAFKA__BOOTSTRAP"] == "127.0.0.1:1"
    assert process.env["Q2C_WORKER__WEB_HOST"] == "127.0.0.1"
    assert process.env["Q2C_WORKER__WEB_PORT"] == str(process.ports[6066])
    assert process.env["Q2C_WORKER__DATA_DIR"].startswith(str(tmp_path))
    assert Path(process.env["Q2C_CONFIG"]).read_text().startswith("[sync]")
    assert "Q2C_KAFKA__SASL_PASSWORD" not in process.env  # optional, and not in the Secret
