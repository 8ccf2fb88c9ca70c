"""docker-compose.yml and k8s/ cannot run on a machine without a container engine; they are
validated here: Kubernetes resources against the API schemas, every Q2C_* variable against
the settings, every reference against what exists."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from q2c.settings import DevSettings, Settings

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"


def _settings_env_names() -> set[str]:
    names: set[str] = set()
    for section, field in Settings.model_fields.items():
        model = field.annotation
        for sub in getattr(model, "model_fields", {}):
            names.add(f"Q2C_{section.upper()}__{sub.upper()}")
    return names


SETTINGS_ENV = _settings_env_names()


def _kustomization(folder: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((folder / "kustomization.yaml").read_text())
    return data


def _base_resources() -> list[dict[str, Any]]:
    base = K8S / "base"
    docs: list[dict[str, Any]] = []
    for name in _kustomization(base)["resources"]:
        docs.extend(d for d in yaml.safe_load_all((base / name).read_text()) if d)
    return docs


@pytest.mark.parametrize(
    "doc", _base_resources(), ids=lambda d: f"{d['kind']}/{d['metadata']['name']}"
)
def test_every_base_resource_is_valid_for_the_kubernetes_api(doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, "1.30.0", strict=True)


def test_kustomizations_reference_files_that_exist() -> None:
    for folder in (K8S / "base", K8S / "overlays" / "production"):
        for resource in _kustomization(folder)["resources"]:
            assert (folder / resource).exists(), f"{folder}: {resource} is missing"


def test_every_q2c_variable_in_the_manifests_is_a_setting() -> None:
    variables: set[str] = set()
    for doc in _base_resources():
        if doc["kind"] == "ConfigMap":
            variables |= set(doc["data"])
        if doc["kind"] == "StatefulSet":
            for container in doc["spec"]["template"]["spec"]["containers"]:
                variables |= {e["name"] for e in container.get("env", [])}
    overlay = _kustomization(K8S / "overlays" / "production")
    for generator in overlay.get("configMapGenerator", []):
        variables |= {literal.split("=", 1)[0] for literal in generator.get("literals", [])}
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    variables |= set(compose["services"]["worker"]["environment"])
    unknown = {v for v in variables if v.startswith("Q2C_")} - SETTINGS_ENV
    assert not unknown, f"not q2c settings: {sorted(unknown)}"


def test_probes_use_the_workers_endpoints() -> None:
    (statefulset,) = [d for d in _base_resources() if d["kind"] == "StatefulSet"]
    container = statefulset["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/q2c/health"
    assert container["readinessProbe"]["httpGet"]["path"] == "/q2c/ready"
    routes = (REPO / "streams" / "app.py").read_text()
    for path in ("/q2c/health", "/q2c/ready", "/q2c/metrics"):
        assert f'"{path}"' in routes


def test_compose_runs_the_same_kafka_as_the_local_stack() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    assert compose["services"]["kafka"]["image"] == f"apache/kafka:{DevSettings().kafka_version}"
    declared = set(compose["volumes"])
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            assert volume.split(":", 1)[0] in declared
        for port in service.get("ports", []):
            assert port.startswith("127.0.0.1:"), "ports are published on loopback only"
    dockerfile = (REPO / "Dockerfile").read_text()
    for package in ("q2c", "schemas", "connectors", "streams"):
        assert f"COPY {package} {package}" in dockerfile
