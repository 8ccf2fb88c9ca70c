"""Running a docker-compose.yml service of the q2c image as a local process.

As for the Kubernetes manifests (tests.deploy.rehearsal): the service's entrypoint and
command, its environment with Compose's ``${VAR:-default}`` interpolation, its named volumes
as shared temporary folders; then service host names become the local addresses, and every
port a service listens on (its ``*_PORT`` settings) a free loopback port. Healthchecks run
here too, against those ports.
"""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from q2c.devstack.procs import free_port, tail
from tests.deploy.manifests import REPO
from tests.deploy.rehearsal import LOOPBACK, Process, Site, base_env, image_entrypoint

Service = dict[str, Any]
_DEFAULT = re.compile(r"\$\{(\w+):-([^}]*)\}")


def load() -> dict[str, Any]:
    import yaml

    data: dict[str, Any] = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return data


def interpolate(value: str, site: Site) -> str:
    """Compose's ``${VAR:-default}`` (the site's .env value, else the default) and ``$$``."""
    value = _DEFAULT.sub(lambda m: site.secrets.get(m.group(1), m.group(2)), value)
    return value.replace("$$", "$")


def q2c_services(compose: dict[str, Any]) -> dict[str, Service]:
    return {
        name: service
        for name, service in compose["services"].items()
        if service.get("image") == "q2c:local"
    }


def listening_ports(service: Service) -> list[int]:
    return sorted(
        int(value)
        for name, value in service.get("environment", {}).items()
        if name.endswith("_PORT") and str(value).isdigit()
    )


def allocate(compose: dict[str, Any], site: Site) -> None:
    """A local port for each port a q2c service listens on; ``service:port`` reaches it."""
    for name, service in q2c_services(compose).items():
        ports = site.ports.setdefault(name, {p: free_port() for p in listening_ports(service)})
        for port, local in ports.items():
            site.hosts[f"http://{name}:{port}"] = f"http://{LOOPBACK}:{local}"
        for published in service.get("ports", []):
            container = int(str(published).rsplit(":", 1)[1])
            assert container in ports, f"{name} publishes {published}, but listens on {ports}"


def _volumes(service: Service, site: Site) -> dict[str, str]:
    mounts: dict[str, str] = {}
    for volume in service.get("volumes", []):
        source, target = str(volume).split(":")[:2]
        folder = site.root / "volumes" / source
        folder.mkdir(parents=True, exist_ok=True)
        mounts[target] = str(folder)
    return mounts


def service_process(name: str, service: Service, site: Site) -> Process:
    ports = site.ports[name]
    mounts = _volumes(service, site)

    def local(value: str) -> str:
        value = site.localise(interpolate(str(value), site))
        if value.isdigit() and int(value) in ports:
            return str(ports[int(value)])
        if value == "0.0.0.0":  # noqa: S104 - what the file says; bound to loopback here
            return LOOPBACK
        for path, folder in sorted(mounts.items(), key=lambda m: -len(m[0])):
            value = value.replace(path, folder)
        return value

    env = {key: local(value) for key, value in service.get("environment", {}).items()}
    command = [local(arg) for arg in service.get("command", [])]
    entrypoint = service.get("entrypoint")
    if entrypoint is None:
        argv = [*image_entrypoint(), *command]
    else:
        assert entrypoint == ["sh", "-c"], entrypoint
        argv = ["sh", "-c", *command]
    base = base_env(site)
    # `q2c` on PATH, as in the image.
    base["PATH"] = f"{Path(sys.executable).parent}:{base.get('PATH', '')}"
    where = site.root / name
    where.mkdir(parents=True, exist_ok=True)
    return Process(name, argv, base | env | site.overrides, ports, where / "output.log")


def wait_healthy(process: Process, service: Service, within: float) -> None:
    """Runs the service's healthcheck until it passes (the process must keep running)."""
    test = list(service["healthcheck"]["test"])
    assert test[0] == "CMD", test
    argv = [sys.executable if test[1] == "python" else test[1], *test[2:]]
    for port, local in process.ports.items():
        argv = [a.replace(f"{LOOPBACK}:{port}/", f"{LOOPBACK}:{local}/") for a in argv]
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if process.proc is not None and process.proc.poll() is not None:
            raise AssertionError(f"{process.name} exited:\n{tail(process.log, 40)}")
        done = subprocess.run(argv, capture_output=True, check=False, timeout=30)
        if done.returncode == 0:
            return
        time.sleep(0.5)
    raise AssertionError(f"{process.name} never healthy:\n{tail(process.log, 40)}")
