"""Running a rendered container as a local process, as a kubelet would run it in a pod.

The container's arguments go to the image's entrypoint (read from the Dockerfile); its
environment is assembled from its ConfigMaps, literal values and Secret references; then the
cluster is swapped for this machine: service host names for the local addresses, container
ports for free loopback ports, mounted volumes for temporary folders (ConfigMap volumes
written out), the Secret's values for the local peers' credentials. Nothing else is changed,
so a wrong command, variable, port or path in a manifest fails as it would in a cluster.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from q2c.devstack.procs import free_port, stop_process, tail
from tests.deploy.manifests import REPO, Container, Doc, find

LOOPBACK = "127.0.0.1"


def image_entrypoint() -> list[str]:
    """The q2c image's ENTRYPOINT, as the Dockerfile says, run here from this checkout."""
    match = re.search(r"^ENTRYPOINT\s+(\[.*\])\s*$", (REPO / "Dockerfile").read_text(), re.M)
    assert match, "the Dockerfile has no exec-form ENTRYPOINT"
    entrypoint: list[str] = json.loads(match.group(1))
    assert entrypoint == ["q2c"], entrypoint
    return [sys.executable, "-m", "q2c"]


@dataclass
class Site:
    """What stands in for the cluster."""

    hosts: dict[str, str]
    """Addresses in the manifests (``host:port`` or ``scheme://host:port``) -> local ones."""
    secrets: dict[str, str]
    """The local value of each key of the Secret (its placeholders are not used)."""
    overrides: dict[str, str]
    """Site-specific settings (this test's topic prefix, database name, ...)."""
    root: Path
    ports: dict[str, dict[int, int]] = field(default_factory=dict)
    """Container -> its container ports' local ports (kept when a process is made again)."""

    def localise(self, value: str) -> str:
        for remote, local in self.hosts.items():
            value = value.replace(remote, local)
        return value


def base_env(site: Site) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("Q2C_")}
    # A local stack's stack.json that production commands must not read.
    state = site.root / "dev-state"
    state.mkdir(parents=True, exist_ok=True)
    (state / "stack.json").write_text(json.dumps({"kafka": {"bootstrap": "192.0.2.1:9"}}))
    env["Q2C_DEV__STATE_DIR"] = str(state)
    return env


@dataclass
class Process:
    name: str
    argv: list[str]
    env: dict[str, str]
    ports: dict[int, int]
    """Container port -> local port."""
    log: Path
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.argv, cwd=REPO, env=self.env, stdout=out, stderr=subprocess.STDOUT
            )

    def run(self, timeout: float = 120.0) -> str:
        """Runs to completion (a Job's container); its output. Fails unless it exits 0."""
        done = subprocess.run(
            self.argv,
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        self.log.write_text(done.stdout + done.stderr)
        assert done.returncode == 0, f"{self.name} exited {done.returncode}:\n{tail(self.log)}"
        return done.stdout

    def get(self, port: int, path: str) -> tuple[int, bytes]:
        url = f"http://{LOOPBACK}:{self.ports[port]}{path}"
        try:
            with urllib.request.urlopen(url, timeout=3) as reply:
                return int(reply.status), reply.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
        except OSError:
            return 0, b""

    def wait_for(self, port: int, path: str, within: float) -> bytes:
        """The body of the first 200 answer on ``path``; fails if the process exits first."""
        deadline = time.monotonic() + within
        status = 0
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"{self.name} exited:\n{tail(self.log, 40)}")
            status, body = self.get(port, path)
            if status == 200:
                return body
            time.sleep(0.5)
        raise AssertionError(f"{self.name}: {path} answered {status}:\n{tail(self.log, 40)}")

    def usage(self) -> tuple[float, float]:
        """(peak resident memory in MiB, CPU seconds used so far), from /proc."""
        assert self.proc is not None
        status = Path(f"/proc/{self.proc.pid}/status").read_text()
        peak = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
        assert peak is not None
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        return int(peak.group(1)) / 1024, (int(fields[11]) + int(fields[12])) / ticks

    def stop(self) -> None:
        stop_process(self.proc)


def pod_process(container: Container, docs: list[Doc], site: Site) -> Process:
    """The local process of one rendered container."""
    spec = container.spec
    assert "command" not in spec, f"{container.name} overrides the image's entrypoint"
    where = site.root / container.name.replace("/", "-")
    where.mkdir(parents=True, exist_ok=True)
    ports = site.ports.setdefault(
        container.name, {int(p["containerPort"]): free_port() for p in spec.get("ports", [])}
    )

    mounts: dict[str, str] = {}
    volumes = {v["name"]: v for v in container.pod["spec"].get("volumes", [])}
    for mount in spec.get("volumeMounts", []):
        folder = where / mount["name"]
        folder.mkdir(exist_ok=True)
        volume = volumes.get(mount["name"])
        if volume is not None and "configMap" in volume:
            config = find(docs, "ConfigMap", volume["configMap"]["name"])
            for key, text in config["data"].items():
                (folder / key).write_text(text)
        mounts[mount["mountPath"]] = str(folder)

    env: dict[str, str] = {}
    for source in spec.get("envFrom", []):
        assert "configMapRef" in source, f"{container.name}: only ConfigMaps as envFrom"
        env.update(find(docs, "ConfigMap", source["configMapRef"]["name"])["data"])
    secrets = [d for d in docs if d["kind"] == "Secret"]
    for item in spec.get("env", []):
        ref = item.get("valueFrom", {}).get("secretKeyRef")
        if ref is None:
            env[item["name"]] = str(item["value"])
            continue
        (holder,) = [s for s in secrets if s["metadata"]["name"] == ref["name"]]
        if ref["key"] in holder.get("data", {}):
            env[item["name"]] = site.secrets[ref["key"]]
        else:
            assert ref.get("optional"), f"{container.name}: the Secret has no {ref['key']}"

    def local(value: str) -> str:
        value = site.localise(value)
        if value.isdigit() and int(value) in ports:
            return str(ports[int(value)])
        if value == "0.0.0.0":  # noqa: S104 - what the manifest says; bound to loopback here
            return LOOPBACK
        for path, folder in mounts.items():
            if value == path or value.startswith(path + "/"):
                return folder + value[len(path) :]
        return value

    env = {name: local(value) for name, value in env.items()}
    env.update(site.overrides)
    argv = [*image_entrypoint(), *(local(arg) for arg in spec.get("args", []))]
    return Process(container.name, argv, base_env(site) | env, ports, where / "output.log")
