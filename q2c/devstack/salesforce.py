"""The local Salesforce server for `q2c dev up --crm salesforce`.

``python -m q2c.localserver.salesforce --state-dir DIR`` serves the OAuth login host, the
REST API instance and the Pub/Sub API on loopback ports and writes ``DIR/credentials.json``
(mode 0600) once it listens. The stack records those credentials under the keys the
connector's settings take (``recorded`` in its spec), then sets the org up for q2c through
the connector's own provisioning (the custom fields q2c writes).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson

from q2c.devstack import procs
from q2c.devstack.errors import DevStackError

STARTUP = 60.0
"""Seconds the server has to write its credentials and answer."""

RECORDED = (
    "login_url",
    "instance_url",
    "api_version",
    "org_id",
    "consumer_key",
    "username",
    "private_key_file",
    "client_id",
    "client_secret",
    "refresh_token",
    "pubsub_address",
    "control_token",
)


def credentials_file(state_dir: Path) -> Path:
    return state_dir / "credentials.json"


def read_credentials(state_dir: Path) -> dict[str, Any] | None:
    """What the server wrote on start, or None while it has not yet."""
    try:
        data = orjson.loads(credentials_file(state_dir).read_bytes())
    except (FileNotFoundError, orjson.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def _port(url: str) -> int:
    return int(url.rstrip("/").rsplit(":", 1)[1])


def answers(credentials: dict[str, Any]) -> bool:
    return all(
        procs.port_answers(_port(str(credentials[key]))) for key in ("login_url", "instance_url")
    )


def start(state_dir: Path, log: Path, timeout: float = STARTUP) -> dict[str, Any]:
    """Starts the server on free loopback ports; the stack.json entry (credentials, pid)."""
    state_dir.mkdir(parents=True, exist_ok=True)
    previous = credentials_file(state_dir)
    started_at = time.time()
    argv = [sys.executable, "-m", "q2c.localserver.salesforce", "--state-dir", str(state_dir)]
    proc = procs.spawn(argv, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DevStackError(
                f"the local Salesforce server exited with {proc.returncode}:\n{procs.tail(log)}"
            )
        fresh = previous.exists() and previous.stat().st_mtime >= started_at - 1
        credentials = read_credentials(state_dir) if fresh else None
        if credentials is not None and answers(credentials):
            entry = {key: credentials[key] for key in RECORDED if key in credentials}
            return {**entry, "pid": proc.pid, "log": str(log), "state_dir": str(state_dir)}
        time.sleep(0.2)
    procs.stop_process(proc, grace=5.0)
    raise DevStackError(f"the local Salesforce server did not start within {timeout:.0f}s")


def healthy(entry: dict[str, Any]) -> bool:
    return bool(entry.get("pid") and procs.pid_alive(int(entry["pid"])) and answers(entry))


def describe(entry: dict[str, Any]) -> Iterator[str]:
    yield (
        f"Salesforce (local)  login {entry['login_url']}  instance {entry['instance_url']}  "
        f"org {entry.get('org_id', '?')}  (log: {entry['log']})"
    )
    if entry.get("pubsub_address"):
        yield f"Pub/Sub API {entry['pubsub_address']}"
