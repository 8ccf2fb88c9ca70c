"""The local NetSuite server in the dev stack: `python -m q2c.localserver.netsuite` on a
free loopback port, its state (and credentials) kept in the stack's state directory.

The server writes ``credentials.json`` (mode 0600) when it starts: the account id, the
base URL, the TBA and M2M credentials and the account's defaults. The stack records them
in `.q2c/stack.json` (private to its owner); the connector's ``recorded`` settings read
them from there.
"""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from q2c.devstack import procs
from q2c.devstack.errors import DevStackError

MODULE = "q2c.localserver.netsuite"
START_TIMEOUT = 60.0


def credentials_file(state_dir: Path) -> Path:
    return state_dir / "credentials.json"


def _read(path: Path) -> dict[str, Any] | None:
    try:
        loaded = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return loaded if isinstance(loaded, dict) else None


def start_stack_entry(state_dir: Path, log_file: Path) -> dict[str, Any]:
    """Start the server; what `.q2c/stack.json` records under "netsuite"."""
    data_dir = state_dir / "netsuite"
    data_dir.mkdir(parents=True, exist_ok=True)
    port = procs.free_port()
    started = time.time()
    proc = procs.spawn(
        [sys.executable, "-m", MODULE, "--state-dir", str(data_dir), "--port", str(port)],
        log_file,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise DevStackError(
                f"the local NetSuite server exited ({proc.returncode}):\n{procs.tail(log_file)}"
            )
        path = credentials_file(data_dir)
        written = path.exists() and path.stat().st_mtime >= started - 1
        creds = _read(path) if written else None
        if creds and urlsplit(str(creds.get("base_url"))).port == port and procs.port_answers(port):
            return {
                **creds,
                "private_key_file": str(creds.get("private_key_file") or ""),
                "pid": proc.pid,
                "log": str(log_file),
                "data_dir": str(data_dir),
            }
        time.sleep(0.2)
    procs.stop_pid(proc.pid)
    raise DevStackError(
        f"the local NetSuite server did not start in {START_TIMEOUT:.0f}s:\n{procs.tail(log_file)}"
    )


def healthy(entry: Mapping[str, Any]) -> bool:
    port = urlsplit(str(entry.get("base_url"))).port
    return bool(
        entry.get("pid")
        and procs.pid_alive(int(entry["pid"]))
        and port
        and procs.port_answers(port)
    )


def describe(entry: Mapping[str, Any]) -> Iterator[str]:
    yield (
        f"NetSuite (local)  {entry['base_url']}  account {entry['account_id']}"
        f"  time zone {entry.get('time_zone', '?')}  (REST: {entry['base_url']}/services/rest)"
    )
    yield f"            (log: {entry['log']}; TBA and M2M credentials in stack.json)"
