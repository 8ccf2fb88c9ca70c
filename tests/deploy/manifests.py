"""The rendered deployment: k8s/ through kustomize (built by `make tools`, pinned), and
what the tests need to know of it (containers, their environment, the settings' names)."""

from __future__ import annotations

import functools
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from connectors.bottlecrm.settings import BottleCrmSettings
from connectors.tryton.settings import TrytonSettings
from q2c.core.settings import Settings

REPO = Path(__file__).resolve().parents[2]
K8S = REPO / "k8s"
OVERLAYS = ("base", "overlays/test", "overlays/production")
WORKLOADS = ("Deployment", "StatefulSet", "Job")

Doc = dict[str, Any]


@functools.cache
def kustomize() -> Path:
    """The pinned kustomize, installed from the Go module proxy on first use."""
    subprocess.run(["make", "-s", "tools"], cwd=REPO, check=True, capture_output=True)
    found = subprocess.run(
        ["make", "-s", "kustomize-path"], cwd=REPO, check=True, capture_output=True, text=True
    )
    return Path(found.stdout.strip())


@functools.cache
def _rendered(folder: str) -> str:
    done = subprocess.run(
        [str(kustomize()), "build", str(K8S / folder)],
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout


def render(folder: str) -> list[Doc]:
    """The objects `kustomize build k8s/FOLDER` makes (fresh copies: callers may edit)."""
    return [doc for doc in yaml.safe_load_all(_rendered(folder)) if doc]


def _env_names(prefix: str, model: type[BaseModel]) -> set[str]:
    return {f"{prefix}__{name.upper()}" for name in model.model_fields}


def setting_variables() -> set[str]:
    """Every Q2C_* variable q2c reads: the global settings, each connector's section, and
    Q2C_CONFIG (the config file)."""
    names = {"Q2C_CONFIG"}
    for section, field in Settings.model_fields.items():
        model = field.annotation
        assert isinstance(model, type)
        assert issubclass(model, BaseModel)
        names |= _env_names(f"Q2C_{section.upper()}", model)
    names |= _env_names("Q2C_TRYTON", TrytonSettings)
    names |= _env_names("Q2C_BOTTLECRM", BottleCrmSettings)
    return names


@dataclass(frozen=True)
class Container:
    workload: Doc
    spec: Doc
    init: bool

    @property
    def kind(self) -> str:
        return str(self.workload["kind"])

    @property
    def name(self) -> str:
        return f"{self.kind}/{self.workload['metadata']['name']}/{self.spec['name']}"

    @property
    def pod(self) -> Doc:
        pod: Doc = self.workload["spec"]["template"]
        return pod

    def port(self, name_or_number: str | int) -> int:
        """The container port a probe or a Service names."""
        for port in self.spec.get("ports", []):
            if name_or_number in (port.get("name"), port["containerPort"]):
                return int(port["containerPort"])
        raise AssertionError(f"{self.name} has no port {name_or_number!r}")


def containers(docs: list[Doc]) -> Iterator[Container]:
    for doc in docs:
        if doc["kind"] in WORKLOADS:
            pod = doc["spec"]["template"]["spec"]
            for spec in pod.get("initContainers", []):
                yield Container(doc, spec, init=True)
            for spec in pod["containers"]:
                yield Container(doc, spec, init=False)


def find(docs: list[Doc], kind: str, name: str) -> Doc:
    """One object by kind and name (generated names carry a hash suffix)."""
    for doc in docs:
        meta = doc["metadata"]["name"]
        if doc["kind"] == kind and (meta == name or meta.rsplit("-", 1)[0] == name):
            return doc
    raise AssertionError(f"no {kind}/{name} in the rendered manifests")


def selects(selector: dict[str, str], container: Container) -> bool:
    labels = container.pod["metadata"].get("labels", {})
    return all(labels.get(key) == value for key, value in selector.items())
