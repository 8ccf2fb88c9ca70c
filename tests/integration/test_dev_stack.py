"""`q2c dev up` / `down`: the broker and a supervised worker start, stack.json says where
(and the worker's admin token), a second `up` reuses them, `down` leaves no process behind,
a killed worker is restarted and `q2c dev status` says so, and a taken port is a clear
error."""

from __future__ import annotations

import os
import signal
import socket
import stat
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pytest
from click.testing import CliRunner

from q2c.cli import cli
from q2c.core.settings import DevSettings, Settings, WorkerSettings
from q2c.devstack import DevStackError, procs, stack, supervised
from q2c.devstack.supervisor import read_state

T = TypeVar("T")

pytestmark = pytest.mark.integration


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:  # noqa: S310 - loopback
            return bool(reply.status == 200)
    except OSError:
        return False


def eventually(probe: Callable[[], T | None], what: str, within: float = 180.0) -> T:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        found = probe()
        if found is not None:
            return found
        time.sleep(0.3)
    raise AssertionError(f"never happened: {what}")


def test_up_is_idempotent_and_down_stops_everything(tmp_path: Path) -> None:
    settings = Settings(
        dev=DevSettings(state_dir=tmp_path / ".q2c"),
        worker=WorkerSettings(web_port=procs.free_port()),
    )
    files = stack.StackFiles(settings.dev.state_dir)
    components = [stack.KafkaComponent(), stack.WorkerComponent()]
    lines: list[str] = []
    stack.up(settings, lines.append, components)
    try:
        saved = orjson.loads(files.stack_json.read_bytes())
        bootstrap = saved["kafka"]["bootstrap"]
        worker_pid = read_state(files.supervisor_state)["programs"]["worker"]["pid"]
        pids = [saved["kafka"]["pid"], saved["supervisor"]["pid"], worker_pid]
        assert bootstrap.startswith("127.0.0.1:")
        assert saved["console_url"] == saved["worker"]["url"] + "/q2c/console/"
        assert saved["worker"]["url"] == f"http://127.0.0.1:{settings.worker.web_port}"
        health = saved["worker"]["url"] + "/q2c/health"
        with urllib.request.urlopen(health, timeout=5) as reply:  # noqa: S310 - loopback
            assert orjson.loads(reply.read()) == {"status": "ok"}
        for private in (files.stack_json, files.supervisor_state, files.programs):
            assert stat.S_IMODE(os.stat(private).st_mode) == 0o600

        # The admin token: recorded, made once, handed to the worker.
        token = saved["worker"]["admin_token"]
        assert len(token) >= 32
        assert files.admin_token.read_text() == token
        assert stat.S_IMODE(os.stat(files.admin_token).st_mode) == 0o600
        environ = Path(f"/proc/{worker_pid}/environ").read_bytes().split(b"\0")
        assert f"Q2C_WORKER__ADMIN_TOKEN={token}".encode() in environ
        assert token not in "\n".join(lines)

        again: list[str] = []
        stack.up(settings, again.append, components)
        assert "kafka: already running" in again
        assert "worker: already running (supervised)" in again
        assert orjson.loads(files.stack_json.read_bytes())["kafka"]["pid"] == pids[0]
        assert read_state(files.supervisor_state)["programs"]["worker"]["pid"] == worker_pid
    finally:
        stack.down(settings, lines.append)
    assert not files.stack_json.exists()
    assert not files.supervisor_state.exists()
    assert not any(procs.pid_alive(pid) for pid in pids)
    assert supervised.admin_token(files) == token  # the same after a restart


def test_a_killed_worker_is_restarted_and_status_says_so(tmp_path: Path) -> None:
    settings = Settings(
        dev=DevSettings(state_dir=tmp_path / ".q2c"),
        worker=WorkerSettings(web_port=procs.free_port()),
    )
    files = stack.StackFiles(settings.dev.state_dir)
    stack.up(settings, lambda _: None, [stack.KafkaComponent(), stack.WorkerComponent()])
    try:
        url = orjson.loads(files.stack_json.read_bytes())["worker"]["url"]
        first = read_state(files.supervisor_state)["programs"]["worker"]["pid"]
        os.kill(first, signal.SIGKILL)

        def restarted() -> dict[str, Any] | None:
            worker: dict[str, Any] = read_state(files.supervisor_state)["programs"]["worker"]
            ready = worker["restarts"] == 1 and worker["pid"] and answers(f"{url}/q2c/ready")
            return worker if ready else None

        worker = eventually(restarted, "the killed worker restarted and ready")
        assert worker["pid"] != first
        assert worker["last_exit"] == -signal.SIGKILL

        shown = CliRunner().invoke(
            cli, ["dev", "status"], env={"Q2C_DEV__STATE_DIR": str(files.state_dir)}
        )
        assert shown.exit_code == 0, shown.output
        worker_lines = shown.output.split("q2c worker", 1)[1]
        assert f"pid {worker['pid']}  restarts 1  last exit -9" in worker_lines
        assert "[  up] supervisor" in shown.output
    finally:
        stack.down(settings, lambda _: None)


def test_a_dead_broker_comes_back_on_its_port(tmp_path: Path) -> None:
    settings = Settings(dev=DevSettings(state_dir=tmp_path / ".q2c"))
    files = stack.StackFiles(settings.dev.state_dir)
    stack.up(settings, lambda _: None, [stack.KafkaComponent()])
    try:
        before = orjson.loads(files.stack_json.read_bytes())["kafka"]
        os.killpg(before["pid"], signal.SIGKILL)
        eventually(lambda: None if procs.pid_alive(before["pid"]) else True, "the broker dead")
        lines: list[str] = []
        stack.up(settings, lines.append, [stack.KafkaComponent()])
        after = orjson.loads(files.stack_json.read_bytes())["kafka"]
        assert "kafka: starting" in lines
        assert after["pid"] != before["pid"]
        assert after["bootstrap"] == before["bootstrap"]  # what running clients know
    finally:
        stack.down(settings, lambda _: None)


def test_a_taken_port_is_a_clear_error(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        settings = Settings(dev=DevSettings(state_dir=tmp_path / ".q2c", kafka_port=port))
        with pytest.raises(DevStackError, match=f"port {port} .* already in use"):
            stack.up(settings, lambda _: None, [stack.KafkaComponent()])


def test_every_command_explains_itself() -> None:
    runner = CliRunner()
    top = runner.invoke(cli, ["--help"])
    assert top.exit_code == 0
    for command in ("dev", "worker", "status"):
        assert command in top.output
    dev = runner.invoke(cli, ["dev", "--help"])
    assert dev.exit_code == 0
    for command in ("up", "down", "status"):
        assert command in dev.output


def test_up_says_how_to_watch_a_deal_sync() -> None:
    from q2c.cli.dev import watch_hint

    assert watch_hint({"kafka": {"bootstrap": "127.0.0.1:1"}}) == []
    hint = "\n".join(
        watch_hint(
            {"bottlecrm": {"url": "http://127.0.0.1:2"}, "tryton": {"url": "http://127.0.0.1:3"}}
        )
    )
    assert "http://127.0.0.1:2" in hint
    assert "CLOSED_WON" in hint
    assert "q2c reconcile" in hint
