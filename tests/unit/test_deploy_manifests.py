"""k8s/ (rendered by kustomize) and docker-compose.yml cannot run on a machine without a
container engine; they are validated here: every object against the Kubernetes API schemas,
every Q2C_* variable against the settings, every reference against what exists. The
containers' commands themselves are rehearsed in tests/deploy."""

from __future__ import annotations

import re
from typing import Any

import kubernetes_validate
import pytest
import yaml

from q2c.core.settings import DevSettings
from tests.deploy.manifests import (
    OVERLAYS,
    REPO,
    Container,
    Doc,
    containers,
    find,
    render,
    selects,
    setting_variables,
)

KUBERNETES = "1.30.0"
CREDENTIAL = re.compile(r"PASSWORD|TOKEN|SECRET|JWT", re.IGNORECASE)
# Custom resources have no schema in the Kubernetes API; their required shape is checked.
CUSTOM = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): ("selector", "endpoints"),
    ("monitoring.coreos.com/v1", "PrometheusRule"): ("groups",),
}


def _every(folder: str) -> list[tuple[str, Doc]]:
    return [(folder, doc) for doc in render(folder)]


ALL = [pair for folder in OVERLAYS for pair in _every(folder)]


@pytest.mark.parametrize(
    ("folder", "doc"), ALL, ids=[f"{f}:{d['kind']}/{d['metadata']['name']}" for f, d in ALL]
)
def test_every_rendered_object_is_valid_for_the_kubernetes_api(folder: str, doc: Doc) -> None:
    required = CUSTOM.get((doc["apiVersion"], doc["kind"]))
    if required is not None:
        assert all(key in doc["spec"] for key in required)
        return
    kubernetes_validate.validate(doc, KUBERNETES, strict=True)


@pytest.mark.parametrize("folder", OVERLAYS)
def test_every_q2c_variable_is_a_setting(folder: str) -> None:
    docs = render(folder)
    variables = {key for doc in docs if doc["kind"] == "ConfigMap" for key in doc["data"]}
    variables |= {e["name"] for c in containers(docs) for e in c.spec.get("env", [])}
    variables |= {key for doc in docs if doc["kind"] == "Secret" for key in doc.get("data", {})}
    unknown = {v for v in variables if v.startswith("Q2C_")} - setting_variables()
    assert not unknown, f"not q2c settings: {sorted(unknown)}"
    assert "Q2C_KAFKA__BOOTSTRAP" in variables


@pytest.mark.parametrize("folder", OVERLAYS)
def test_credentials_come_from_secrets_only(folder: str) -> None:
    docs = render(folder)
    for doc in docs:
        if doc["kind"] == "ConfigMap":
            assert not [k for k in doc["data"] if CREDENTIAL.search(k)], doc["metadata"]
    for container in containers(docs):
        for env in container.spec.get("env", []):
            if CREDENTIAL.search(env["name"]):
                assert "secretKeyRef" in env.get("valueFrom", {}), (container.name, env)
        # A whole Secret as environment would hand every credential to every container.
        assert not [e for e in container.spec.get("envFrom", []) if "secretRef" in e]


@pytest.mark.parametrize("folder", OVERLAYS)
def test_every_container_is_probed_sized_and_locked_down(folder: str) -> None:
    for container in containers(render(folder)):
        spec = container.spec
        if container.kind != "Job":  # a Job's containers run to completion: nothing to probe
            for probe in ("livenessProbe", "readinessProbe"):
                get = spec[probe]["httpGet"]
                container.port(get["port"])
                assert get["path"] in ("/q2c/health", "/q2c/ready"), container.name
        assert {"cpu", "memory"} <= set(spec["resources"]["requests"]), container.name
        assert "memory" in spec["resources"]["limits"], container.name
        security = spec["securityContext"]
        assert security["readOnlyRootFilesystem"] is True, container.name
        assert security["allowPrivilegeEscalation"] is False, container.name
        assert container.pod["spec"]["securityContext"]["runAsNonRoot"] is True
        mounts = {m["mountPath"] for m in spec.get("volumeMounts", [])}
        assert "/tmp" in mounts, f"{container.name}: /tmp must be writable"


def _connector(container: Container) -> tuple[str, str] | None:
    args = container.spec.get("args", [])
    if args[:2] == ["connector", "run"]:
        return args[2], " ".join(args[3:])
    return None


@pytest.mark.parametrize("folder", OVERLAYS)
def test_one_source_per_system_and_scalable_sinks(folder: str) -> None:
    docs = render(folder)
    sources: dict[str, int] = {}
    sinks: dict[str, int] = {}
    for container in containers(docs):
        found = _connector(container)
        if found is None:
            continue
        system, flags = found
        spec = container.workload["spec"]
        assert container.kind == "Deployment"
        if flags == "--no-sink":
            # One active source per system: it owns the stream cursors.
            assert spec["replicas"] == 1
            assert spec["strategy"]["type"] == "Recreate"
            sources[system] = sources.get(system, 0) + 1
        else:
            assert flags == "--no-source", container.name
            sinks[system] = sinks.get(system, 0) + spec["replicas"]
    assert sources == {"tryton": 1, "bottlecrm": 1}
    assert set(sinks) == {"tryton", "bottlecrm"}
    for doc in docs:
        if doc["kind"] == "PodDisruptionBudget":
            selector = doc["spec"]["selector"]["matchLabels"]
            assert [c for c in containers(docs) if selects(selector, c)], doc["metadata"]


@pytest.mark.parametrize("folder", OVERLAYS)
def test_services_reach_a_named_port_of_the_pods_they_select(folder: str) -> None:
    docs = render(folder)
    for service in (d for d in docs if d["kind"] == "Service"):
        chosen = [c for c in containers(docs) if selects(service["spec"]["selector"], c)]
        assert chosen, f"Service {service['metadata']['name']} selects no pod"
        for port in service["spec"]["ports"]:
            for container in chosen:
                container.port(port["targetPort"])
    webhook = find(docs, "Service", "q2c-bottlecrm-webhook")
    assert [p["port"] for p in webhook["spec"]["ports"]] == [8787]


def test_the_test_overlays_secret_has_every_key_a_container_needs() -> None:
    docs = render("overlays/test")
    secret = find(docs, "Secret", "q2c-secrets")
    for container in containers(docs):
        for env in container.spec.get("env", []):
            ref = env.get("valueFrom", {}).get("secretKeyRef")
            if ref and not ref.get("optional"):
                assert ref["name"] == secret["metadata"]["name"]
                assert ref["key"] in secret["data"], (container.name, ref["key"])


def test_production_uses_sasl_ssl_and_three_replicas() -> None:
    docs = render("overlays/production")
    config = find(docs, "ConfigMap", "q2c-config")["data"]
    assert config["Q2C_KAFKA__SECURITY_PROTOCOL"] == "SASL_SSL"
    assert config["Q2C_KAFKA__REPLICATION_FACTOR"] == "3"
    assert find(docs, "StatefulSet", "q2c-worker")["spec"]["replicas"] == 3
    assert find(docs, "ServiceMonitor", "q2c")["spec"]["endpoints"][0]["path"] == "/q2c/metrics"
    ingress = find(docs, "Ingress", "q2c-bottlecrm-webhook")
    backend = ingress["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]
    assert backend["name"] == "q2c-bottlecrm-webhook"


def test_network_policy_covers_every_q2c_pod() -> None:
    docs = render("base")
    (policy,) = [d for d in docs if d["kind"] == "NetworkPolicy"]
    selector = policy["spec"]["podSelector"]["matchLabels"]
    assert all(selects(selector, c) for c in containers(docs))
    egress_ports = {p["port"] for rule in policy["spec"]["egress"] for p in rule["ports"]}
    assert {53, 9092, 4318, 443} <= egress_ports


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return data


def test_compose_runs_the_same_kafka_as_the_local_stack() -> None:
    compose = _compose()
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{DevSettings().kafka_version}"
    declared = set(compose["volumes"])
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":", 1)[0]
            assert source in declared or source.startswith("./"), volume
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), "ports are published on loopback only"
    dockerfile = (REPO / "Dockerfile").read_text()
    for package in ("q2c", "schemas", "connectors", "streams"):
        assert f"COPY {package} {package}" in dockerfile


def test_every_q2c_variable_in_compose_is_a_setting() -> None:
    variables: set[str] = set()
    for service in _compose()["services"].values():
        variables |= set(service.get("environment", {}))
    unknown = {v for v in variables if v.startswith("Q2C_")} - setting_variables()
    assert not unknown, f"not q2c settings: {sorted(unknown)}"
