"""The worker's web server on the real broker: it listens on 127.0.0.1 only, serves health,
readiness and metrics to anyone, and everything else (Faust's table views return customers'
golden records) only with the admin token."""

from __future__ import annotations

import secrets
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.plugins.worker import WorkerProcess

pytestmark = pytest.mark.integration

OPEN = ["/q2c/health", "/q2c/ready", "/q2c/metrics"]
GUARDED = ["/table/golden/x/", "/table/", "/table/golden/", "/router/", "/", "/q2c//health"]


def _status(url: str, token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    request = urllib.request.Request(url, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as reply:  # noqa: S310
            return int(reply.status)
    except urllib.error.HTTPError as exc:
        return exc.code


def _listening_addresses(port: int) -> set[str]:
    """Local addresses of the sockets listening on ``port`` (from /proc/net/tcp and tcp6)."""
    found = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            address, _, hex_port = fields[1].partition(":")
            if fields[3] == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


def test_only_probes_are_open_and_the_server_listens_on_loopback(
    sync_worker: WorkerProcess,
) -> None:
    token = secrets.token_urlsafe(24)
    sync_worker.env["Q2C_WORKER__ADMIN_TOKEN"] = token
    sync_worker.start()
    base = sync_worker.url
    for path in OPEN:
        assert _status(base + path) == 200, path
    for path in GUARDED:
        assert _status(base + path) == 401, path
        assert _status(base + path, "not-the-token") == 401, path
        assert _status(base + path, token + "x") == 401, path
    for path in ["/table/golden/x/", "/table/", "/router/"]:
        assert _status(base + path, token) not in (401, 403), path
    port = int(sync_worker.env["Q2C_WORKER__WEB_PORT"])
    # 0100007F is 127.0.0.1 in /proc/net/tcp's little-endian hex.
    assert _listening_addresses(port) == {"0100007F"}


def test_without_a_token_every_route_but_the_probes_is_refused(
    sync_worker: WorkerProcess,
) -> None:
    sync_worker.env.pop("Q2C_WORKER__ADMIN_TOKEN", None)
    sync_worker.start()
    for path in OPEN:
        assert _status(sync_worker.url + path) == 200, path
    for path in GUARDED:
        assert _status(sync_worker.url + path) == 401, path
        assert _status(sync_worker.url + path, "") == 401, path
        assert _status(sync_worker.url + path, "anything") == 401, path
