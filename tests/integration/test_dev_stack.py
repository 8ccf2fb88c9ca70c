"""`q2c dev up` / `down`: the broker and a worker start, stack.json says where, a second
`up` reuses them, `down` leaves no process behind, and a taken port is a clear error."""

from __future__ import annotations

import socket
import urllib.request
from pathlib import Path

import orjson
import pytest
from click.testing import CliRunner

from q2c.cli import cli
from q2c.devstack import DevStackError, procs, stack
from q2c.settings import DevSettings, Settings, WorkerSettings

pytestmark = pytest.mark.integration


def test_up_is_idempotent_and_down_stops_everything(tmp_path: Path) -> None:
    settings = Settings(
        dev=DevSettings(state_dir=tmp_path / ".q2c"),
        worker=WorkerSettings(web_port=procs.free_port()),
    )
    components = [stack.KafkaComponent(), stack.WorkerComponent()]
    lines: list[str] = []
    stack.up(settings, lines.append, components)
    try:
        saved = orjson.loads((tmp_path / ".q2c" / "stack.json").read_bytes())
        bootstrap = saved["kafka"]["bootstrap"]
        pids = [saved["kafka"]["pid"], saved["worker"]["pid"]]
        assert bootstrap.startswith("127.0.0.1:")
        assert saved["console_url"] == saved["worker"]["url"] + "/q2c/console/"
        health = saved["worker"]["url"] + "/q2c/health"
        with urllib.request.urlopen(health, timeout=5) as reply:  # noqa: S310 - loopback
            assert orjson.loads(reply.read()) == {"status": "ok"}

        again: list[str] = []
        stack.up(settings, again.append, components)
        assert "kafka: already running" in again
        assert "worker: already running" in again
        assert (
            orjson.loads((tmp_path / ".q2c" / "stack.json").read_bytes())["kafka"]["pid"] == pids[0]
        )
    finally:
        stack.down(settings, lines.append)
    assert not (tmp_path / ".q2c" / "stack.json").exists()
    assert not any(procs.pid_alive(pid) for pid in pids)


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
