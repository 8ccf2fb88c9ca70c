"""Start BottleCRM for docker-compose.yml: migrate (minutes, the first time), serve, and
make q2c's org, personal access token and JWT once, as a person would through the API
(the same calls as q2c's local stack). They are written as q2c's config file section
``bottlecrm`` to /run/q2c/peers/bottlecrm.json, which the q2c services read (Q2C_CONFIG).
"""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

LOCAL = "http://127.0.0.1:8000"
PEERS = Path("/run/q2c/peers/bottlecrm.json")


def _call(path: str, body: dict[str, Any], bearer: str) -> Any:
    request = urllib.request.Request(  # noqa: S310 - a loopback URL
        LOCAL + path,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {bearer}"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:  # noqa: S310 - loopback
        return json.loads(reply.read())


def _wait_healthy(server: subprocess.Popen[bytes]) -> None:
    while server.poll() is None:
        try:
            with urllib.request.urlopen(LOCAL + "/healthz/", timeout=2):  # noqa: S310
                return
        except OSError:
            time.sleep(1)
    raise SystemExit(f"gunicorn exited with {server.returncode}")


def _provision() -> None:
    login = subprocess.run(
        ["django-admin", "devlogin", "q2c@example.com", "--create"],
        capture_output=True,
        text=True,
        check=True,
    )
    user = next(
        line.partition(":")[2].strip()
        for line in login.stdout.splitlines()
        if line.partition(":")[0].strip() == "access_token"
    )
    org = str(_call("/api/org/", {"name": "q2c"}, user)["org"]["id"])
    jwt = str(_call("/api/auth/switch-org/", {"org_id": org}, user)["access_token"])
    token = str(_call("/api/profile/tokens/", {"name": "q2c"}, jwt)["token"])
    section = {"bottlecrm": {"url": "http://bottlecrm:8000", "token": token, "jwt": jwt}}
    PEERS.with_suffix(".tmp").write_text(json.dumps(section))
    PEERS.with_suffix(".tmp").replace(PEERS)


def main() -> None:
    subprocess.run(["django-admin", "migrate", "--noinput"], check=True)
    server = subprocess.Popen(
        [
            "gunicorn",
            "crm.wsgi:application",
            "--bind",
            "0.0.0.0:8000",
            "--workers",
            "1",
            "--threads",
            "8",
            "--timeout",
            "120",
            "--access-logfile",
            "-",
        ]
    )
    _wait_healthy(server)
    if not PEERS.exists():
        _provision()
    raise SystemExit(server.wait())


if __name__ == "__main__":
    main()
